//go:build linux

package mmfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/npy"
)

// fifoNames are the names the FIFO swapper replaces: a published array and
// a producer temporary (which List and RemoveStale also check for the live
// mark).
var fifoNames = []string{"a.npy", ".b.npy.123.arrtmp"}

func init() {
	helpers["fifoSwap"] = fifoSwap
	helpers["listLoop"] = listLoop
}

// fifoSwap is a hostile neighbour: in dir, it renames a FIFO onto each of
// fifoNames, then a regular .npy file, over and over, until killed. It
// prints "ready" once every name exists.
func fifoSwap(args []string) error {
	dir := args[0]
	var npyBytes bytes.Buffer
	if err := npy.Write(&npyBytes, make([]float64, 4), 4); err != nil {
		return err
	}
	for i := 0; ; i++ {
		for _, name := range fifoNames {
			fifo := filepath.Join(dir, "fifo.tmp")
			if err := unix.Mkfifo(fifo, 0o644); err != nil {
				return err
			}
			if err := os.Rename(fifo, filepath.Join(dir, name)); err != nil {
				return err
			}
			reg := filepath.Join(dir, "reg.tmp")
			if err := os.WriteFile(reg, npyBytes.Bytes(), 0o644); err != nil {
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

// listLoop runs List and RemoveStale(dir, 0) args[1] times each and prints
// how many entries List returned in all.
func listLoop(args []string) error {
	dir := args[0]
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	seen := 0
	for range n {
		es, err := List(dir)
		if err != nil {
			return err
		}
		seen += len(es)
		if _, err := RemoveStale(dir, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	fmt.Println("listed", seen)
	return nil
}

// TestListFIFOSwap: another process renames FIFOs onto names in the folder
// while List and RemoveStale run in a loop in a third process. Opening a
// FIFO for reading blocks until a writer comes, so an open that trusts the
// directory listing (or an Lstat made before it) hangs forever; the open
// must not block and the opened descriptor must be checked. A hang fails
// the test after 30 s (the loop needs a few seconds at most).
func TestListFIFOSwap(t *testing.T) {
	dir := t.TempDir()
	swap := startHelper(t, "fifoSwap", dir)
	swap.Expect(t, "ready")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := helperCmd(t, "listLoop", dir, "3000")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "stderr: %s", stderr.String())
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		t.Fatalf("List/RemoveStale hung: an open blocked on a FIFO renamed onto a name (stderr: %s)", stderr.String())
	}
	require.True(t, strings.HasPrefix(stdout.String(), "listed "), stdout.String())
	swap.Cmd.Process.Kill()
	swap.Cmd.Wait()
	// The FIFO is never reported as an array; Remove refuses it without
	// blocking too.
	fifo := filepath.Join(dir, "p.npy")
	require.NoError(t, unix.Mkfifo(fifo, 0o644))
	es, err := List(dir)
	require.NoError(t, err)
	for _, e := range es {
		require.NotEqual(t, "p.npy", e.Name)
	}
	require.ErrorIs(t, Remove(fifo), ErrNotArray)
}
