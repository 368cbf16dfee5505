// Package python_test runs the Python module arrfile.py (in this folder)
// against the Go side with real processes: a Go producer republishing a
// name while Python loads it, a Python producer while `arr gc` runs in a
// loop, locks held on one side and tested on the other, and memfd arrays
// sent by Go and received by Python. It also runs the module's own unit
// tests (test_arrfile.py), so `go test ./...` covers them. The tests are
// Linux-only (open-file-description locks, memfd); this file keeps the
// package non-empty elsewhere.
package python_test
