//go:build linux

package mmfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

// Cross-process tests re-execute the test binary: with MMFILE_HELPER set,
// TestMain runs the named helper (see helpers_test.go) instead of the tests
// and exits with its status.
const (
	envHelper = "MMFILE_HELPER"
	envArgs   = "MMFILE_HELPER_ARGS"
)

func TestMain(m *testing.M) {
	if name := os.Getenv(envHelper); name != "" {
		var args []string
		if s := os.Getenv(envArgs); s != "" {
			args = strings.Split(s, "\x1f")
		}
		fn, ok := helpers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
			os.Exit(3)
		}
		if err := fn(args); err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: %v\n", name, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperCmd returns a command that runs helper name with args in a new
// process.
func helperCmd(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+name, envArgs+"="+strings.Join(args, "\x1f"),
		// The race detector sleeps a second at exit by default.
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return cmd
}

// runHelper runs helper name to completion and returns its stdout; a
// non-zero exit fails the test with the helper's stderr.
func runHelper(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := helperCmd(t, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "helper %s failed: %s", name, stderr.String())
	return stdout.String()
}

// child is a helper process the test talks to line by line.
type child struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startHelper starts helper name and returns a handle to exchange lines
// with it. The process is killed at the end of the test if still running.
func startHelper(t testing.TB, name string, args ...string) *child {
	t.Helper()
	return startCmd(t, helperCmd(t, name, args...))
}

func startCmd(t testing.TB, cmd *exec.Cmd) *child {
	t.Helper()
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	c := &child{cmd: cmd, in: in, out: bufio.NewReader(out), stderr: &syncBuffer{}}
	cmd.Stderr = c.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return c
}

// expect reads one line from the child and checks it equals want.
func (c *child) expect(t testing.TB, want string) {
	t.Helper()
	line, err := c.readLine()
	require.NoError(t, err, "reading from child; stderr: %s", c.stderr.String())
	require.Equal(t, want, line, "child stderr: %s", c.stderr.String())
}

// readLine reads one line, failing after 30 s.
func (c *child) readLine() (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := c.out.ReadString('\n')
		ch <- res{strings.TrimRight(s, "\n"), err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("timeout waiting for a line from the child")
	}
}

// send writes one line to the child.
func (c *child) send(t testing.TB, line string) {
	t.Helper()
	_, err := io.WriteString(c.in, line+"\n")
	require.NoError(t, err)
}

// wait waits for the child to exit successfully.
func (c *child) wait(t testing.TB) {
	t.Helper()
	c.in.Close()
	require.NoError(t, c.cmd.Wait(), "child stderr: %s", c.stderr.String())
}

// stdinLine reads one line from stdin in a helper process.
var stdinReader = sync.OnceValue(func() *bufio.Reader { return bufio.NewReader(os.Stdin) })

func readStdinLine() (string, error) {
	s, err := stdinReader().ReadString('\n')
	return strings.TrimRight(s, "\n"), err
}

// shmDir returns a fresh folder on tmpfs (/dev/shm) for the test, or the
// test's temporary folder where /dev/shm is missing.
func shmDir(t testing.TB) string {
	t.Helper()
	if !dirWritable("/dev/shm") {
		return t.TempDir()
	}
	d, err := os.MkdirTemp("/dev/shm", "mmfile-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
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
