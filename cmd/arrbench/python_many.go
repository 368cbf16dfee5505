package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// pythonManyProgram is the Python half of the fanout, gather and update
// scenarios (arrbench_many.py): one run of the interpreter per row.
//
//go:embed arrbench_many.py
var pythonManyProgram []byte

// runPythonOnce writes program into dir, runs it with interpreter py,
// sends the JSON request and raw on its stdin and decodes its one-line
// answer into v (numbers as json.Number). A process that has not answered
// after timeout is killed with its workers (its process group).
func runPythonOnce(py *pythonInfo, dir string, program []byte, req map[string]any, raw []byte, timeout time.Duration, v any) error {
	script := filepath.Join(dir, "arrbench_many.py")
	if err := os.WriteFile(script, program, 0o600); err != nil {
		return fmt.Errorf("python: %w", err)
	}
	js, err := json.Marshal(req)
	if err != nil {
		return err
	}
	cmd := exec.Command(py.Path, script)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	cmd.Stdin = io.MultiReader(bytes.NewReader(append(js, '\n')), bytes.NewReader(raw))
	var stdout bytes.Buffer
	stderr := newTailBuffer(8 << 10)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	isolateChild(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("python: start %s: %w", py.Path, err)
	}
	registerChild(cmd)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(timeout):
		killChild(cmd)
		<-done
		err = fmt.Errorf("python did not answer within %v; killed", timeout)
	}
	killChild(cmd) // its workers, if any outlived it
	unregisterChild(cmd)
	tail := strings.TrimSpace(stderr.String())
	if err != nil {
		if tail != "" {
			err = fmt.Errorf("%w; stderr: %s", err, lastLines(tail, 5))
		}
		return fmt.Errorf("python: %w", err)
	}
	dec := json.NewDecoder(&stdout)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("python: bad answer: %v; stderr: %s", err, lastLines(tail, 5))
	}
	return nil
}
