package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Everything arrbench creates on disk lives in two private folders made at
// start-up (one in --shm-dir, one in --disk-dir) plus, on Linux, Python's
// SharedMemory segments in /dev/shm named arrbench-shm-PID-*. The cleaner
// removes them and kills every child process: on return from run, on
// SIGINT/SIGTERM, and on panic. A worker that dies leaves nothing behind,
// because the producer creates and removes every file.

// children are the running worker and Python processes.
var children = struct {
	sync.Mutex
	m map[*exec.Cmd]bool
}{m: map[*exec.Cmd]bool{}}

func registerChild(cmd *exec.Cmd) {
	children.Lock()
	children.m[cmd] = true
	children.Unlock()
}

func unregisterChild(cmd *exec.Cmd) {
	children.Lock()
	delete(children.m, cmd)
	children.Unlock()
}

func killChildren() {
	children.Lock()
	defer children.Unlock()
	for cmd := range children.m {
		killChild(cmd)
	}
}

// cleaner removes the run's folders and shared memory segments once.
type cleaner struct {
	mu    sync.Mutex
	dirs  []string
	globs []string
	done  bool
	// interrupted is set when a signal arrived: the signal handler then
	// cleans up and exits with status 130, and the main goroutine must not
	// exit first with its own status (see waitIfInterrupted).
	interrupted atomic.Bool
}

// waitIfInterrupted blocks forever once a signal has arrived, leaving the
// exit to the signal handler.
func (c *cleaner) waitIfInterrupted() {
	if c.interrupted.Load() {
		time.Sleep(math.MaxInt64)
	}
}

// addDir registers a folder to remove with everything in it.
func (c *cleaner) addDir(dir string) {
	c.mu.Lock()
	c.dirs = append(c.dirs, dir)
	c.mu.Unlock()
}

// addGlob registers a file name pattern whose matches are removed.
func (c *cleaner) addGlob(pattern string) {
	c.mu.Lock()
	c.globs = append(c.globs, pattern)
	c.mu.Unlock()
}

// clean kills the child processes and removes every registered file; it
// returns the first removal error. Calls after the first do nothing.
func (c *cleaner) clean() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	c.done = true
	killChildren()
	var first error
	for _, g := range c.globs {
		m, _ := filepath.Glob(g)
		for _, f := range m {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) && first == nil {
				first = err
			}
		}
	}
	for _, d := range c.dirs {
		if err := os.RemoveAll(d); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// onSignal cleans up and exits with status 130 when the process receives
// SIGINT or SIGTERM. The returned function stops listening.
func onSignal(c *cleaner, stderr io.Writer) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			c.interrupted.Store(true)
			err := c.clean()
			if err != nil {
				fmt.Fprintf(stderr, "\narrbench: interrupted (%v); cleanup: %v\n", s, err)
			} else {
				fmt.Fprintf(stderr, "\narrbench: interrupted (%v); removed every file it made\n", s)
			}
			os.Exit(130)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// tailBuffer keeps the last bytes written to it (a child's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
