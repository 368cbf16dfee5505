//go:build linux

package queue

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

const haveLocks = true

// lockFile takes an exclusive open-file-description lock on the whole of
// f without waiting; false if another holder has it.
func lockFile(f *os.File) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	for {
		err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		runtime.KeepAlive(f)
		switch {
		case err == nil:
			return true, nil
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN || err == unix.EACCES:
			return false, nil
		}
		return false, err
	}
}

func isCrossDevice(err error) bool { return errors.Is(err, syscall.EXDEV) }

type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{uint64(st.Dev), st.Ino}
	}
	return fileID{}
}

// openers returns the processes that have files under dir open.
func openers(dir string) map[fileID][]int {
	out := map[fileID][]int{}
	if abs, err := filepath.Abs(dir); err == nil {
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			dir = r
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, pe := range procs {
		pid, err := strconv.Atoi(pe.Name())
		if err != nil {
			continue
		}
		fdDir := "/proc/" + pe.Name() + "/fd"
		fds, _ := os.ReadDir(fdDir)
		for _, fd := range fds {
			link := filepath.Join(fdDir, fd.Name())
			t, err := os.Readlink(link)
			if err != nil || !strings.HasPrefix(t, dir+"/") {
				continue
			}
			if fi, err := os.Stat(link); err == nil {
				id := idOf(fi)
				out[id] = append(out[id], pid)
			}
		}
	}
	return out
}
