//go:build !linux

package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// parseRights reports ancillary data as an error: arrbench passes
// descriptors only on Linux.
func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	return nil, errors.New("unexpected ancillary data")
}

func closeFDs([]int) {}

// peakRSS returns 0 (unknown) outside Linux.
func peakRSS() int64 { return 0 }

// resetPeakRSS reports that the peak cannot be reset outside Linux.
func resetPeakRSS() bool { return false }

// memAvailable returns 0 (unknown) outside Linux.
func memAvailable() int64 { return 0 }

// memTotal returns 0 (unknown) outside Linux.
func memTotal() int64 { return 0 }

// isTerminal guesses from the file mode: a character device.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func isolateChild(*exec.Cmd) {}

func killChild(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}

// socketAddr returns a socket file in the run's private folder.
func socketAddr(dir, tag string) string { return filepath.Join(dir, tag+".sock") }

// sharedMemoryDir is "" where POSIX shared memory objects are not files.
const sharedMemoryDir = ""

func fsType(string) string { return "unknown" }

func cpuModel() string { return "unknown" }

func kernelVersion() string { return runtime.GOOS }

func dropPageCache(string) error { return errors.ErrUnsupported }

// sendWithFD is not supported outside Linux.
func sendWithFD(*net.UnixConn, []byte, int) error { return errors.ErrUnsupported }
