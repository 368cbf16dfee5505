//go:build linux

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"

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
	// Never blocks and never follows a symbolic link: a FIFO renamed onto
	// the name opens at once (and holds no mark).
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
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
//
// perm 0 asks for 0666 under the umask. Linux before 6.0 ignores the umask
// for O_TMPFILE on filesystems without POSIX ACLs, so the mode the kernel
// gave is checked: an unmasked 0666 is masked here with the umask read from
// /proc/self/status (or, without it, ok is false).
func createLive(dir, base string, perm fs.FileMode) (f *os.File, ok bool) {
	mode := uint32(0o666)
	if perm != 0 {
		mode = uint32(perm)
	}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, mode)
	if err != nil {
		return nil, false
	}
	err = liveLock(uintptr(fd), unix.F_WRLCK)
	if err == nil {
		if perm != 0 {
			err = unix.Fchmod(fd, uint32(perm)) // exactly perm, whatever the umask
		} else {
			err = maskTmpfile(fd)
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, false
	}
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	for range 1000 {
		name := tempName(dir, base)
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

// maskTmpfile applies the umask to an O_TMPFILE file created with mode 0666
// if the kernel did not.
func maskTmpfile(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&0o777 != 0o666 {
		return nil // masked by the kernel (or a default ACL)
	}
	mask, err := umask()
	if err != nil || mask&0o666 == 0 {
		return err
	}
	return unix.Fchmod(fd, 0o666&^mask)
}

// umask returns the process's umask without changing it (umask(2) can only
// set it, which would race with other threads creating files).
func umask() (uint32, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return uint32(m), err
		}
	}
	return 0, errors.New("no Umask line in /proc/self/status")
}
