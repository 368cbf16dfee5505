package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/store"
)

func TestPushWork(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	dir := t.TempDir()
	q := filepath.Join(dir, "q")
	var files []string
	for _, n := range []string{"a.npy", "b.npy", "c.npy"} {
		p := filepath.Join(dir, n)
		require.NoError(t, writeNpyFile(p, []float32{1, 2, 3}, 3))
		files = append(files, p)
	}
	out, stderr, code := runArr(t, append([]string{"push", q}, files...)...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, filepath.Join(q, "a.npy")+"\n"+filepath.Join(q, "b.npy")+"\n"+filepath.Join(q, "c.npy")+"\n", out)
	assert.NoFileExists(t, files[0])
	out, _, code = runArr(t, "ls", q)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "pending  a.npy")
	assert.Contains(t, out, "3 pending, 0 claimed, 0 failed")

	// --copy keeps the original; a name already queued is an error.
	p := filepath.Join(dir, "a.npy")
	require.NoError(t, writeNpyFile(p, []float32{4}, 1))
	_, stderr, code = runArr(t, "push", "--copy", q, p)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "already in the queue")

	log := filepath.Join(dir, "log")
	_, stderr, code = runArr(t, "work", "--exit-when-empty", "--jobs", "2", q, "--", "sh", "-c", "basename {} >> "+log)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"a.npy", "b.npy", "c.npy"}, strings.Fields(string(b)))
	out, _, _ = runArr(t, "ls", q)
	assert.Contains(t, out, "0 pending, 0 claimed, 0 failed")

	// A failing command: retried, then moved aside.
	_, _, code = runArr(t, "push", "--copy", q, p)
	require.Equal(t, 0, code)
	_, stderr, code = runArr(t, "work", "--exit-when-empty", "--retries", "2", q, "--", "false")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "a.npy: false failed (exit status 1) 3 times; moved to .failed")
	out, _, _ = runArr(t, "ls", "--json", q)
	assert.Contains(t, out, `"failed": [`)
	assert.Contains(t, out, `"a.npy"`)
	assert.FileExists(t, filepath.Join(q, ".failed", "a.npy"))

	_, _, code = runArr(t, "work", q)
	assert.Equal(t, 2, code, "no command")
}

// TestWorkKilled kills arr work with SIGKILL while its command runs: the
// command dies with it (Linux) and the claimed file goes back to the queue
// for the next worker.
func TestWorkKilled(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("builds the binary; Linux")
	}
	bin := buildArr(t)
	dir := t.TempDir()
	q := filepath.Join(dir, "q")
	p := filepath.Join(dir, "f.npy")
	require.NoError(t, writeNpyFile(p, []float32{1}, 1))
	_, stderr, code := runArr(t, "push", q, p)
	require.Equal(t, 0, code, stderr)

	pidFile := filepath.Join(dir, "child.pid")
	cmd := exec.Command(bin, "work", q, "--", "sh", "-c", "echo $$ > "+pidFile+"; echo started; exec sleep 60")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "started\n", line)
	out, _, _ := runArr(t, "ls", q)
	assert.Contains(t, out, "claimed")
	assert.Contains(t, out, "0 pending, 1 claimed")

	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	childPid := strings.TrimSpace(string(b))
	for i := 0; i < 200; i++ { // the command gets SIGKILL from the kernel when its parent dies
		if _, err := os.Stat("/proc/" + childPid); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err = os.Stat("/proc/" + childPid)
	assert.Error(t, err, "the command outlived its killed worker")

	log := filepath.Join(dir, "log")
	_, stderr, code = runArr(t, "work", "--exit-when-empty", q, "--", "sh", "-c", "basename {} > "+log)
	require.Equal(t, 0, code, stderr)
	b, err = os.ReadFile(log)
	require.NoError(t, err)
	assert.Equal(t, "f.npy\n", string(b), "the killed worker's file came back")
}

func TestLsStore(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir, &store.Options{Capacity: 1 << 20})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, store.Put(s, "frame", []float64{1, 2}, nil))
	r, err := s.Get("frame")
	require.NoError(t, err)
	defer r.Release()
	out, stderr, code := runArr(t, "ls", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "KEY")
	assert.Contains(t, out, "frame")
	if runtime.GOOS == "linux" {
		assert.Contains(t, out, "yes")
	}
	assert.Contains(t, out, "1 arrays, 0 spilled; 4096 of 1048576 bytes used")
}
