package main

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// pythonProgram is the Python half of the benchmark (arrbench.py): the
// same protocol with Python's own transports.
//
//go:embed arrbench.py
var pythonProgram []byte

// pythonInfo describes an interpreter that imports NumPy.
type pythonInfo struct {
	Path   string `json:"path"`
	Python string `json:"python"`
	NumPy  string `json:"numpy"`
}

// findPython returns the first interpreter that imports NumPy: the one
// given (flag --python), else /usr/bin/python3, else python3 and python on
// PATH. The error lists what was tried and why each failed.
func findPython(explicit string) (*pythonInfo, error) {
	var cands []string
	if explicit != "" {
		cands = []string{explicit}
	} else {
		cands = []string{"/usr/bin/python3"}
		for _, name := range []string{"python3", "python"} {
			if p, err := exec.LookPath(name); err == nil {
				cands = append(cands, p)
			}
		}
	}
	var tried []string
	seen := map[string]bool{}
	for _, c := range cands {
		if seen[c] {
			continue
		}
		seen[c] = true
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, c, "-c", "import sys, numpy; print(sys.version.split()[0], numpy.__version__)").Output()
		cancel()
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", c, errText(err)))
			continue
		}
		f := strings.Fields(string(out))
		if len(f) != 2 {
			tried = append(tried, fmt.Sprintf("%s: unexpected answer %q", c, out))
			continue
		}
		return &pythonInfo{Path: c, Python: f[0], NumPy: f[1]}, nil
	}
	return nil, fmt.Errorf("no Python interpreter imports numpy (tried %s)", strings.Join(tried, "; "))
}

// errText shortens an exec error: the last line of a failed command's
// stderr, or the error itself.
func errText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		lines := strings.Split(strings.TrimSpace(string(ee.Stderr)), "\n")
		return lines[len(lines)-1]
	}
	return err.Error()
}

// pyClient drives one running arrbench.py.
type pyClient struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte // stdout lines; closed at end of output
	stderr *tailBuffer
	exited chan struct{}
	loaded string // data set held by the Python producer
	hello  struct {
		PID         int `json:"pid"`
		ConsumerPID int `json:"consumer_pid"`
	}
}

// startPython writes the program into dir and starts it with the
// interpreter py.
func startPython(py *pythonInfo, dir string) (*pyClient, error) {
	script := filepath.Join(dir, "arrbench.py")
	if err := os.WriteFile(script, pythonProgram, 0o600); err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}
	cmd := exec.Command(py.Path, script)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	c := &pyClient{cmd: cmd, stderr: newTailBuffer(8 << 10), exited: make(chan struct{}), lines: make(chan []byte, 1)}
	cmd.Stderr = c.stderr
	isolateChild(cmd)
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("python: start %s: %w", py.Path, err)
	}
	registerChild(cmd)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), maxFrame)
		for sc.Scan() {
			c.lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(c.lines)
	}()
	go func() {
		cmd.Wait()
		unregisterChild(cmd)
		close(c.exited)
	}()
	if err := c.recv(60*time.Second, &c.hello); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// call sends one request and decodes the answer into v.
func (c *pyClient) call(req map[string]any, timeout time.Duration, v any) error {
	return c.callWith(req, nil, timeout, v)
}

// callWith sends one request followed by raw bytes and decodes the answer
// into v. A process that stops reading is killed after timeout.
func (c *pyClient) callWith(req map[string]any, raw []byte, timeout time.Duration, v any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	sent := make(chan error, 1)
	go func() {
		_, err := c.stdin.Write(append(b, '\n'))
		if err == nil && len(raw) > 0 {
			_, err = c.stdin.Write(raw)
		}
		sent <- err
	}()
	select {
	case err := <-sent:
		if err != nil {
			return c.fail(fmt.Errorf("python: sending request: %w", err))
		}
	case <-time.After(timeout):
		err := c.fail(fmt.Errorf("python did not read its request within %v; killed", timeout))
		<-sent // the kill closed the pipe
		return err
	}
	return c.recv(timeout, v)
}

// recv waits up to timeout for one line and decodes it into v. A line with
// an "error" field becomes an error (the process lives on); a dead or
// silent process is killed and its stderr quoted.
func (c *pyClient) recv(timeout time.Duration, v any) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-c.lines:
		if !ok {
			select {
			case <-c.exited:
				return c.fail(fmt.Errorf("python exited (%v)", c.cmd.ProcessState))
			case <-time.After(5 * time.Second):
				return c.fail(errors.New("python closed its output"))
			}
		}
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			return c.fail(fmt.Errorf("python: bad answer %q: %v", line, err))
		}
		if e.Error != "" {
			return errors.New(e.Error)
		}
		return json.Unmarshal(line, v)
	case <-t.C:
		return c.fail(fmt.Errorf("python did not answer within %v; killed", timeout))
	}
}

// fail kills the process and returns err with the end of its stderr.
func (c *pyClient) fail(err error) error {
	c.kill()
	if tail := strings.TrimSpace(c.stderr.String()); tail != "" {
		return fmt.Errorf("%w; stderr: %s", err, lastLines(tail, 5))
	}
	return err
}

// kill stops the Python producer and its consumer.
func (c *pyClient) kill() {
	killChild(c.cmd)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
	}
}

// dead reports whether the process has exited.
func (c *pyClient) dead() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// close asks the program to exit and waits a little, then kills it.
func (c *pyClient) close() {
	if c.dead() {
		return
	}
	c.stdin.Write([]byte(`{"op":"exit"}` + "\n"))
	c.stdin.Close()
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		c.kill()
	}
}

// pyRun is the answer to a run request.
type pyRun struct {
	ProducerNS  int64  `json:"producer_ns"`
	FillNS      int64  `json:"fill_ns"`
	OpenNS      int64  `json:"open_ns"`
	ReadNS      int64  `json:"read_ns"`
	TotalNS     int64  `json:"total_ns"`
	Checksum    uint64 `json:"checksum"`
	RSSPeak     int64  `json:"rss_peak"`
	StoredBytes int64  `json:"stored_bytes"`
}

// lastLines returns the last n lines of s, joined by " | ".
func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}
