//go:build linux

package npyzst

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// envConvertChild makes the test binary run CompressFile(dst, src) for
// "src\x1fdst" instead of the tests.
const envConvertChild = "NPYZST_TEST_CONVERT_CHILD"

// TestCrashedConvertTempRemovedByRemoveStale: a process that dies in the
// middle of CompressFile (here killed while it waits for more input from a
// FIFO) leaves its temporary file behind; mmfile.List shows it as the
// temporary of the destination, live while the process runs and stale after,
// and mmfile.RemoveStale (arr gc) removes it only once the process is gone.
func TestCrashedConvertTempRemovedByRemoveStale(t *testing.T) {
	if args := os.Getenv(envConvertChild); args != "" {
		src, dst, _ := strings.Cut(args, "\x1f")
		err := CompressFile(dst, src)
		fmt.Fprintln(os.Stderr, "CompressFile returned:", err)
		os.Exit(2)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "in.npy")
	dst := filepath.Join(dir, "out.npy.zst")
	require.NoError(t, unix.Mkfifo(fifo, 0o600))

	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestCrashedConvertTempRemovedByRemoveStale$")
	cmd.Env = append(os.Environ(), envConvertChild+"="+fifo+"\x1f"+dst, "GORACE=atexit_sleep_ms=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			<-exited
		}
	}()

	// Open the FIFO's write end once the child has opened its read end.
	var w *os.File
	deadline := time.Now().Add(20 * time.Second)
	for w == nil {
		f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		switch {
		case err == nil:
			w = f
		case errors.Is(err, syscall.ENXIO) && time.Now().Before(deadline):
			select {
			case err := <-exited:
				killed = true
				t.Fatalf("child exited early: %v: %s", err, stderr.String())
			case <-time.After(5 * time.Millisecond):
			}
		default:
			t.Fatalf("opening the FIFO: %v", err)
		}
	}
	defer w.Close()
	// The header and part of the data: the child compresses what it has and
	// waits for the rest.
	h := &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{100_000}}
	hb, err := npy.AppendHeader(nil, h)
	require.NoError(t, err)
	_, err = w.Write(append(hb, make([]byte, 8192)...))
	require.NoError(t, err)

	// The temporary file appears, live.
	var tmp mmfile.Entry
	for tmp.Path == "" {
		entries, err := mmfile.List(dir)
		require.NoError(t, err)
		for _, e := range entries {
			if e.Temp {
				tmp = e
			}
		}
		if tmp.Path == "" {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-exited
				killed = true
				t.Fatalf("no temporary file appeared; child: %s", stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	assert.Equal(t, "out.npy.zst", tmp.Target)
	assert.True(t, strings.HasPrefix(tmp.Name, ".out.npy.zst.") && strings.HasSuffix(tmp.Name, ".arrtmp"), tmp.Name)
	assert.True(t, tmp.Live, "a running producer's temporary is live")
	removed, err := mmfile.RemoveStale(dir, 0)
	require.NoError(t, err)
	assert.Empty(t, removed, "a running producer's temporary is never removed")
	assert.FileExists(t, tmp.Path)

	// The producer crashes.
	require.NoError(t, cmd.Process.Kill())
	<-exited
	killed = true
	entries, err := mmfile.List(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "%+v", entries)
	assert.True(t, entries[0].Temp)
	assert.False(t, entries[0].Live, "the producer is gone")
	removed, err = mmfile.RemoveStale(dir, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{tmp.Path}, removed)
	assert.NoFileExists(t, tmp.Path)
	assert.NoFileExists(t, dst, "nothing published")
}
