//go:build !linux

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

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

// procStatusBytes returns 0 (unknown) outside Linux.
func procStatusBytes(string) int64 { return 0 }

// freeSpace returns 0 (unknown) outside Linux.
func freeSpace(string) int64 { return 0 }

// populateWrite does nothing here: the writes fault their pages in.
func populateWrite([]byte) {}
