//go:build linux

package atomicfile

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// liveOffset is the file offset of the byte a producer keeps locked while
// its temporary file is in use: far past any data, so it never meets a
// user's range lock.
const liveOffset = 1 << 62

// liveLock sets (F_WRLCK) or clears (F_UNLCK) the live mark on fd.
func liveLock(fd uintptr, typ int16) error {
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: liveOffset, Len: 1}
	for {
		err := unix.FcntlFlock(fd, unix.F_OFD_SETLK, &lk)
		if err != unix.EINTR {
			return err
		}
	}
}

// setLive marks a temporary file as in use by a live process: an OFD lock
// that the kernel drops when the process exits or closes the file.
func setLive(f *os.File) {
	liveLock(f.Fd(), unix.F_WRLCK)
	runtime.KeepAlive(f)
}

// clearLive drops the mark once the file is published.
func clearLive(f *os.File) {
	liveLock(f.Fd(), unix.F_UNLCK)
	runtime.KeepAlive(f)
}

// isLive reports whether a live process holds the mark of the file at
// path.
func isLive(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: liveOffset, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return false
	}
	return lk.Type != unix.F_UNLCK
}

// inMemory reports whether f lives in tmpfs or ramfs (memfd files are on
// tmpfs).
func inMemory(f *os.File) bool {
	var st unix.Statfs_t
	err := unix.Fstatfs(int(f.Fd()), &st)
	runtime.KeepAlive(f)
	return err == nil && (st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC)
}

// createLive creates the temporary file "."+base+".RANDOM"+suffix in dir so
// that it is marked live before its name appears: the file is made unnamed
// (O_TMPFILE), given its permission and its live mark, and only then linked
// under its name, so Live never finds a running producer's temporary file
// unmarked. ok is false when the kernel, the filesystem or a missing /proc
// cannot do this; the caller then creates the file the portable way.
func createLive(dir, base string, perm fs.FileMode) (f *os.File, ok bool) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, uint32(perm))
	if err != nil {
		return nil, false
	}
	err = liveLock(uintptr(fd), unix.F_WRLCK)
	if err == nil {
		err = unix.Fchmod(fd, uint32(perm))
	}
	if err != nil {
		unix.Close(fd)
		return nil, false
	}
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	for range 1000 {
		name := filepath.Join(dir, "."+base+"."+strconv.FormatUint(uint64(rand.Uint32()), 10)+suffix)
		err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
		if err == nil {
			return os.NewFile(uintptr(fd), name), true
		}
		if err != unix.EEXIST {
			break
		}
	}
	unix.Close(fd)
	return nil, false
}
