// Package pytest finds a Python interpreter with NumPy for tests that
// check interoperability with real NumPy.
package pytest

import (
	"os"
	"os/exec"
	"sync"
	"testing"
)

var (
	once   sync.Once
	interp string
)

// candidates lists the interpreters tried, in order. Debian's python3-numpy
// installs into /usr/bin/python3, which may not be the python3 first on
// PATH.
var candidates = []string{"/usr/bin/python3", "python3", "/usr/local/bin/python3", "python"}

// Python returns the path of an interpreter that can import numpy, or ""
// when there is none. $ARRFILE_PYTHON, when set, is the only one tried.
func Python() string {
	once.Do(func() {
		list := candidates
		if p := os.Getenv("ARRFILE_PYTHON"); p != "" {
			list = []string{p}
		}
		for _, c := range list {
			p, err := exec.LookPath(c)
			if err != nil {
				continue
			}
			if exec.Command(p, "-c", "import numpy").Run() == nil {
				interp = p
				return
			}
		}
	})
	return interp
}

// Require returns an interpreter with NumPy. Without one, the test fails
// when $CI is set (CI installs python3-numpy, so the test must run there)
// and is skipped with a message on a developer's machine.
func Require(t testing.TB) string {
	t.Helper()
	p := Python()
	if p == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no python3 with numpy found, but CI must run the NumPy tests (apt-get install python3-numpy)")
		}
		t.Skip("skipping: no python3 with numpy on this machine (apt-get install python3-numpy to run it)")
	}
	return p
}

// Run runs a Python script with the interpreter from Require and returns
// its standard output; the test fails with the script's stderr on error.
func Run(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	py := Require(t)
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	var stderr bytesBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	return out
}

type bytesBuffer struct{ b []byte }

func (b *bytesBuffer) Write(p []byte) (int, error) { b.b = append(b.b, p...); return len(p), nil }
func (b *bytesBuffer) String() string              { return string(b.b) }
