//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/npy"
)

// Environment of the re-executed test binary: envAsArr makes it the arr
// command (the arguments are arr's), with the umask envUmask (octal) if
// set, envArrLoop times if set; envFIFOSwap makes it the FIFO swapper of
// the folder it names.
const (
	envAsArr    = "ARR_TEST_AS_ARR"
	envUmask    = "ARR_TEST_UMASK"
	envFIFOSwap = "ARR_TEST_FIFO_SWAP"
	envArrLoop  = "ARR_TEST_LOOP"
)

func init() {
	if os.Getenv(envAsArr) != "" {
		if u := os.Getenv(envUmask); u != "" {
			m, err := strconv.ParseUint(u, 8, 32)
			if err != nil {
				os.Exit(99)
			}
			syscall.Umask(int(m))
		}
		if n, _ := strconv.Atoi(os.Getenv(envArrLoop)); n > 0 {
			// The command n times in this one process, for loops that
			// would otherwise pay a process start per run; stdout is
			// dropped, stderr kept, the status is the worst one.
			worst := 0
			for range n {
				worst = max(worst, run(os.Args[1:], io.Discard, os.Stderr))
			}
			os.Exit(worst)
		}
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	if dir := os.Getenv(envFIFOSwap); dir != "" {
		if err := fifoSwap(dir); err != nil {
			fmt.Fprintln(os.Stderr, "fifo swap:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// arrProc returns the arr command as a new process (this test binary),
// with extra environment variables.
func arrProc(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), envAsArr+"=1"), env...)
	return cmd
}

// swapNames are the names the FIFO swapper replaces, one of each kind
// arr ls and arr gc read: .npy, .npz, .npy.zst, a producer temporary.
var swapNames = []string{"a.npy", "b.npz", "c.npy.zst", ".d.npy.123.arrtmp"}

// fifoSwap is a hostile neighbour: in dir, it renames a FIFO onto each of
// swapNames, then a valid file of that kind, over and over, until killed.
// It prints "ready" once every name exists.
func fifoSwap(dir string) error {
	var raw, zst, zip bytes.Buffer
	if err := npy.Write(&raw, []float64{1, 2, 3}, 3); err != nil {
		return err
	}
	if _, err := npyzst.Compress(&zst, bytes.NewReader(raw.Bytes())); err != nil {
		return err
	}
	zw, err := npz.NewWriter(&zip)
	if err != nil {
		return err
	}
	m, err := zw.Create("x")
	if err != nil {
		return err
	}
	m.Write(raw.Bytes())
	if err := m.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	content := map[string][]byte{"a.npy": raw.Bytes(), "b.npz": zip.Bytes(), "c.npy.zst": zst.Bytes(), ".d.npy.123.arrtmp": raw.Bytes()}
	for i := 0; ; i++ {
		for _, name := range swapNames {
			fifo := filepath.Join(dir, "fifo.tmp")
			if err := unix.Mkfifo(fifo, 0o644); err != nil {
				return err
			}
			if err := os.Rename(fifo, filepath.Join(dir, name)); err != nil {
				return err
			}
			reg := filepath.Join(dir, "reg.tmp")
			if err := os.WriteFile(reg, content[name], 0o644); err != nil {
				return err
			}
			if err := os.Rename(reg, filepath.Join(dir, name)); err != nil {
				return err
			}
		}
		if i == 0 {
			fmt.Println("ready")
		}
	}
}

// TestHousekeepingFIFOSwap runs arr ls, arr ls --json and arr gc
// --older-than 0s, each as a process that runs the command 300 times,
// while another process renames FIFOs onto the names in the folder.
// Opening a FIFO for reading blocks until a writer comes: an open that
// trusts the listing hangs forever. A process still running after 2
// minutes (it needs a few seconds, even under the race detector) is
// killed and the test fails.
func TestHousekeepingFIFOSwap(t *testing.T) {
	dir := t.TempDir()
	swap := exec.Command(os.Args[0], "-test.run=^$")
	swap.Env = append(os.Environ(), envFIFOSwap+"="+dir)
	out, err := swap.StdoutPipe()
	require.NoError(t, err)
	var swapErr bytes.Buffer
	swap.Stderr = &swapErr
	require.NoError(t, swap.Start())
	defer func() { swap.Process.Kill(); swap.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		swap.Process.Kill()
		swap.Wait() // before reading what it wrote to stderr
		t.Fatalf("swapper: %q, %v: %s", line, err, swapErr.String())
	}

	for _, args := range [][]string{{"ls", dir}, {"ls", "--json", dir}, {"gc", "--older-than", "0s", dir}} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := arrProc(ctx, []string{envArrLoop + "=300"}, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		hung := ctx.Err() != nil
		cancel()
		require.False(t, hung, "arr %s hung: an open blocked on a FIFO renamed onto a name", strings.Join(args, " "))
		// gc may race with the swapper's renames of the temporary: a
		// clean error line is fine, a crash is not.
		for _, bad := range []string{"panic", "internal error", "goroutine"} {
			require.NotContains(t, stderr.String(), bad, "arr %s", args)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			require.NoError(t, err, "arr %s: %s", args, stderr.String())
		}
	}
}
