//go:build linux

package mmfile

import (
	"os/exec"
	"runtime/debug"
)

// helpers are the functions a re-executed test binary can run (see
// TestMain). Each gets the arguments the parent passed.
var helpers = map[string]func(args []string) error{}

// debugPanicOnFault reports whether the fault guard is on for this
// goroutine.
func debugPanicOnFault() bool {
	old := debug.SetPanicOnFault(false)
	debug.SetPanicOnFault(old)
	return old
}

type exitError = exec.ExitError
