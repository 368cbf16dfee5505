//go:build linux

package mmfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/childtest"
	"github.com/arrfile/arrfile/npy"
)

// Cross-process tests re-execute the test binary: with MMFILE_HELPER set,
// TestMain runs the named helper (see helpers_test.go) instead of the tests
// and exits with its status (internal/childtest).
const envHelper = "MMFILE_HELPER"

func TestMain(m *testing.M) { childtest.Main(m, envHelper, helpers) }

// helperCmd returns a command that runs helper name with args in a new
// process.
func helperCmd(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	return childtest.Command(t, envHelper, name, args...)
}

// runHelper runs helper name to completion and returns its stdout; a
// non-zero exit fails the test with the helper's stderr.
func runHelper(t testing.TB, name string, args ...string) string {
	t.Helper()
	return childtest.Run(t, envHelper, name, args...)
}

// child is a helper process the test talks to line by line.
type child = childtest.Child

// startHelper starts helper name and returns a handle to exchange lines
// with it. The process is killed at the end of the test if still running.
func startHelper(t testing.TB, name string, args ...string) *child {
	t.Helper()
	return childtest.Start(t, helperCmd(t, name, args...))
}

func startCmd(t testing.TB, cmd *exec.Cmd) *child {
	t.Helper()
	return childtest.Start(t, cmd)
}

// readStdinLine reads one line from stdin in a helper process.
func readStdinLine() (string, error) { return childtest.ReadStdinLine() }

// shmDir returns a fresh folder on tmpfs (/dev/shm) for the test, or the
// test's temporary folder where /dev/shm is missing.
func shmDir(t testing.TB) string {
	t.Helper()
	return childtest.ShmDir(t)
}

// f8 is the header of a C-order float64 array of the given shape.
func f8(shape ...int) *npy.Header {
	return &npy.Header{DType: npy.DTypeOf[float64](), Shape: shape}
}

// makeArray creates, fills with fill(i) and publishes a float64 array.
func makeArray(t testing.TB, path string, n int, fill func(i int) float64) {
	t.Helper()
	a, err := Create(path, f8(n), nil)
	require.NoError(t, err)
	s, err := Slice[float64](a)
	require.NoError(t, err)
	for i := range s {
		s[i] = fill(i)
	}
	require.NoError(t, a.Publish())
	require.NoError(t, a.Close())
}

// numpyPython returns an interpreter that imports numpy: /usr/bin/python3
// first, then python3 and python on PATH. It skips the test, saying so,
// only if none has numpy.
func numpyPython(t testing.TB) string {
	t.Helper()
	cands := []string{"/usr/bin/python3"}
	for _, n := range []string{"python3", "python"} {
		if p, err := exec.LookPath(n); err == nil {
			cands = append(cands, p)
		}
	}
	for _, p := range cands {
		if err := exec.Command(p, "-c", "import numpy").Run(); err == nil {
			return p
		}
	}
	t.Skipf("no Python interpreter with numpy found (tried %s); install python3-numpy to run this test", strings.Join(cands, ", "))
	return ""
}

// fdCount returns the number of open file descriptors of this process.
func fdCount(t testing.TB) int {
	t.Helper()
	// The runtime's network poller opens its descriptors (epoll, eventfd)
	// on first use, for example by os/exec's pipes; start it first so it
	// is not counted as a leak.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(des)
}

// mappedCount counts the mappings of files whose path contains s.
func mappedCount(t testing.TB, s string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps")
	}
	return strings.Count(string(b), s)
}

func tempPath(t testing.TB, name string) string {
	return filepath.Join(shmDir(t), name)
}
