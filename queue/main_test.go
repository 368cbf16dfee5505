package queue

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

// Cross-process tests re-execute the test binary: with QUEUE_HELPER set,
// TestMain runs the named helper instead of the tests.
const (
	envHelper = "QUEUE_HELPER"
	envArgs   = "QUEUE_HELPER_ARGS"
)

var helpers = map[string]func(args []string) error{}

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

func helperCmd(t testing.TB, name string, args ...string) *osexec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := osexec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+name, envArgs+"="+strings.Join(args, "\x1f"),
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return cmd
}

// child is a helper process the test talks to line by line.
type child struct {
	cmd    *osexec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *syncBuffer
}

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

func startHelper(t testing.TB, name string, args ...string) *child {
	t.Helper()
	return startCmd(t, helperCmd(t, name, args...))
}

func startCmd(t testing.TB, cmd *osexec.Cmd) *child {
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

func (c *child) expect(t testing.TB, want string) {
	t.Helper()
	line, err := c.readLine()
	require.NoError(t, err, "reading from child; stderr: %s", c.stderr.String())
	require.Equal(t, want, line, "child stderr: %s", c.stderr.String())
}

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
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("timeout waiting for a line from the child")
	}
}

// kill kills the child with SIGKILL and waits for it.
func (c *child) kill(t testing.TB) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Kill())
	c.cmd.Wait()
}

var stdinReader = sync.OnceValue(func() *bufio.Reader { return bufio.NewReader(os.Stdin) })

func readStdinLine() (string, error) {
	s, err := stdinReader().ReadString('\n')
	return strings.TrimRight(s, "\n"), err
}

// shmDir returns a fresh folder on /dev/shm (or the test's temporary
// folder where there is none).
func shmDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		return t.TempDir()
	}
	d, err := os.MkdirTemp("/dev/shm", "store-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
