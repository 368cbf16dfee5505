package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"
)

// workerClient is the producer's handle on a running consumer worker.
type workerClient struct {
	cmd      *exec.Cmd
	conn     *net.UnixConn
	stderr   *tailBuffer
	exited   chan struct{}
	rssReset bool // the worker can reset its peak RSS counter
}

// startWorker starts exe as a consumer worker and waits for it to connect
// to ln and say hello.
func startWorker(exe string, ln *net.UnixListener, addr string) (*workerClient, error) {
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), workerEnv+"="+addr)
	w := &workerClient{cmd: cmd, stderr: newTailBuffer(8 << 10), exited: make(chan struct{})}
	cmd.Stdout = w.stderr
	cmd.Stderr = w.stderr
	isolateChild(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", exe, err)
	}
	registerChild(cmd)
	go func() {
		cmd.Wait()
		unregisterChild(cmd)
		close(w.exited)
	}()

	type accepted struct {
		c   *net.UnixConn
		err error
	}
	ch := make(chan accepted, 1)
	ln.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		c, err := ln.AcceptUnix()
		ch <- accepted{c, err}
	}()
	var a accepted
	select {
	case a = <-ch:
	case <-w.exited:
		ln.SetDeadline(time.Now()) // unblock Accept
		if a = <-ch; a.err == nil {
			a.c.Close()
		}
		return nil, w.explain(errors.New("worker exited before connecting"))
	}
	if a.err != nil {
		w.kill()
		return nil, w.explain(fmt.Errorf("worker did not connect: %w", a.err))
	}
	w.conn = a.c
	var hello reply
	w.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := readFrame(w.conn, &hello); err != nil {
		w.kill()
		return nil, w.explain(fmt.Errorf("worker hello: %w", err))
	}
	if hello.PID != cmd.Process.Pid {
		w.kill()
		return nil, fmt.Errorf("a process other than the worker (pid %d, want %d) connected to %s", hello.PID, cmd.Process.Pid, addr)
	}
	w.rssReset = hello.RSSReset
	return w, nil
}

// exchange sends a request, then whatever send writes after it (payload
// bytes, a descriptor; nil for nothing), and waits up to timeout for the
// reply. A reply with an error becomes an error and leaves the worker
// usable; any other failure kills the worker and explains what happened
// (w must then be discarded: check w.dead).
func (w *workerClient) exchange(req request, send func(*net.UnixConn) error, timeout time.Duration) (reply, error) {
	w.conn.SetDeadline(time.Now().Add(timeout))
	var rep reply
	err := writeFrame(w.conn, req)
	if err == nil && send != nil {
		err = send(w.conn)
	}
	if err == nil {
		err = readFrame(w.conn, &rep)
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("worker did not answer %s within %v; killed", req.Op, timeout)
		}
		w.kill()
		return reply{}, w.explain(err)
	}
	if rep.Error != "" {
		return reply{}, fmt.Errorf("consumer: %s", rep.Error)
	}
	return rep, nil
}

// payload returns an exchange send function that writes b.
func payload(b []byte) func(*net.UnixConn) error {
	return func(c *net.UnixConn) error {
		_, err := c.Write(b)
		return err
	}
}

// explain adds the worker's exit status and the end of its stderr to err.
func (w *workerClient) explain(err error) error {
	select {
	case <-w.exited:
		err = fmt.Errorf("%w (worker %v)", err, w.cmd.ProcessState)
	case <-time.After(2 * time.Second):
	}
	if tail := strings.TrimSpace(w.stderr.String()); tail != "" {
		err = fmt.Errorf("%w; stderr: %s", err, lastLines(tail, 5))
	}
	return err
}

// kill stops the worker and waits (briefly) for it to exit.
func (w *workerClient) kill() {
	if w.conn != nil {
		w.conn.Close()
	}
	killChild(w.cmd)
	select {
	case <-w.exited:
	case <-time.After(10 * time.Second):
	}
}

// dead reports whether the worker has exited.
func (w *workerClient) dead() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

// close asks the worker to exit, then kills it if it does not.
func (w *workerClient) close() {
	if w.dead() {
		return
	}
	w.conn.SetDeadline(time.Now().Add(5 * time.Second))
	writeFrame(w.conn, request{Op: "exit"})
	w.conn.Close()
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		w.kill()
	}
}
