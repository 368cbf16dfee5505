// Package childtest runs cross-process tests: the test binary re-executes
// itself as a named helper process, and the test talks to it line by line
// over its standard input and output. It is shared by the packages whose
// tests need real processes (mmfile, store, queue).
package childtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// argsSuffix names the variable that carries a helper's arguments, after
// the package's own helper variable.
const argsSuffix = "_ARGS"

// Main is TestMain for a package with helpers: with the environment
// variable env set to a helper's name it runs that helper with its
// arguments and exits (status 0, 1 on error, 3 for an unknown name);
// otherwise it runs the tests.
func Main(m *testing.M, env string, helpers map[string]func(args []string) error) {
	if name := os.Getenv(env); name != "" {
		var args []string
		if s := os.Getenv(env + argsSuffix); s != "" {
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

// Command returns the command that runs the test binary as helper name
// with args (Main's env names the helper).
func Command(t testing.TB, env, name string, args ...string) *osexec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := osexec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+name, env+argsSuffix+"="+strings.Join(args, "\x1f"),
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return cmd
}

// Run runs the test binary as helper name with args to completion and
// returns its standard output; a failed helper fails the test with its
// standard error.
func Run(t testing.TB, env, name string, args ...string) string {
	t.Helper()
	cmd := Command(t, env, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "helper %s failed: %s", name, stderr.String())
	return stdout.String()
}

// Child is a started helper process the test talks to line by line.
type Child struct {
	Cmd    *osexec.Cmd
	In     io.WriteCloser // the child's standard input
	Stderr *Buffer        // what the child wrote to standard error
	out    *bufio.Reader
}

// Buffer is a bytes.Buffer safe for a writing process and a reading test.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Start starts cmd with pipes to its standard input and output; the test's
// cleanup kills it if it is still running.
func Start(t testing.TB, cmd *osexec.Cmd) *Child {
	t.Helper()
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	c := &Child{Cmd: cmd, In: in, out: bufio.NewReader(out), Stderr: &Buffer{}}
	cmd.Stderr = c.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return c
}

// Expect reads one line from the child and requires it to be want.
func (c *Child) Expect(t testing.TB, want string) {
	t.Helper()
	line, err := c.ReadLine()
	require.NoError(t, err, "reading from child; stderr: %s", c.Stderr.String())
	require.Equal(t, want, line, "child stderr: %s", c.Stderr.String())
}

// ReadLine reads one line from the child, without its newline, waiting at
// most a minute.
func (c *Child) ReadLine() (string, error) {
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
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("timeout waiting for a line from the child")
	}
}

// Send writes one line to the child's standard input.
func (c *Child) Send(t testing.TB, line string) {
	t.Helper()
	_, err := io.WriteString(c.In, line+"\n")
	require.NoError(t, err, "writing to child; stderr: %s", c.Stderr.String())
}

// Wait closes the child's standard input and requires it to exit with
// status 0.
func (c *Child) Wait(t testing.TB) {
	t.Helper()
	c.In.Close()
	require.NoError(t, c.Cmd.Wait(), "child stderr: %s", c.Stderr.String())
}

// Kill kills the child with SIGKILL and waits for it.
func (c *Child) Kill(t testing.TB) {
	t.Helper()
	require.NoError(t, c.Cmd.Process.Kill())
	c.Cmd.Wait()
}

var stdinReader = sync.OnceValue(func() *bufio.Reader { return bufio.NewReader(os.Stdin) })

// ReadStdinLine reads one line, without its newline, in a helper process.
func ReadStdinLine() (string, error) {
	s, err := stdinReader().ReadString('\n')
	return strings.TrimRight(s, "\n"), err
}

// ShmDir returns a fresh folder on /dev/shm, removed at the test's end (or
// the test's temporary folder where there is no /dev/shm).
func ShmDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		return t.TempDir()
	}
	d, err := os.MkdirTemp("/dev/shm", "arrfile-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
