//go:build linux

package mmfile

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// freeSpace returns the bytes available to unprivileged users in dir's
// filesystem.
func freeSpace(dir string) (int64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}

// isMemoryFS reports whether f lives in memory (tmpfs, ramfs, memfd), where
// fsync has nothing to do.
func isMemoryFS(f *os.File) bool {
	var st unix.Statfs_t
	err := unix.Fstatfs(int(f.Fd()), &st)
	runtime.KeepAlive(f)
	return err == nil && (st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC)
}

// fallocate allocates [off, off+n) of f, extending its size.
func fallocate(f *os.File, off, n int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, off, n)
	runtime.KeepAlive(f)
	return err
}

// mapPopulate maps with MAP_POPULATE. ok is false if the caller should
// map another way.
func mapPopulate(f *os.File, off int64, length int, write bool) (m []byte, ok bool, err error) {
	prot := unix.PROT_READ
	if write {
		prot |= unix.PROT_WRITE
	}
	m, err = unix.Mmap(int(f.Fd()), off, length, prot, unix.MAP_SHARED|unix.MAP_POPULATE)
	runtime.KeepAlive(f)
	if err != nil {
		return nil, true, fmt.Errorf("mmap: %w", err)
	}
	return m, true, nil
}

// populateAdvise prefaults m with MADV_POPULATE_READ (Linux 5.14+).
func populateAdvise(m []byte) error {
	for {
		err := unix.Madvise(m, unix.MADV_POPULATE_READ)
		if err != unix.EINTR {
			return err
		}
	}
}

// ofdLock sets (typ F_RDLCK/F_WRLCK) or clears (F_UNLCK) an
// open-file-description lock on the file bytes [off, off+n).
func ofdLock(f *os.File, typ int16, off, n int64, wait bool) (bool, error) {
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: off, Len: n}
	cmd := unix.F_OFD_SETLK
	if wait {
		cmd = unix.F_OFD_SETLKW
	}
	for {
		err := unix.FcntlFlock(f.Fd(), cmd, &lk)
		runtime.KeepAlive(f)
		switch {
		case err == nil:
			return true, nil
		case err == unix.EINTR:
			continue
		case !wait && (err == unix.EAGAIN || err == unix.EACCES):
			return false, nil
		default:
			return false, fmt.Errorf("fcntl(F_OFD_SETLK): %w", err)
		}
	}
}

const (
	lockShared    = unix.F_RDLCK
	lockExclusive = unix.F_WRLCK
	lockNone      = unix.F_UNLCK
)

// liveOffset is the file offset of the byte a producer keeps locked while
// its temporary file is in use: far past any data, so it never meets a
// user's range lock.
const liveOffset = 1 << 62

// setLive marks a temporary file as in use by a live process: an OFD lock
// that the kernel drops when the process exits or closes the file.
func setLive(f *os.File) {
	ofdLock(f, unix.F_WRLCK, liveOffset, 1, false)
}

// clearLive drops the mark once the file is published.
func clearLive(f *os.File) {
	ofdLock(f, unix.F_UNLCK, liveOffset, 1, false)
}

// isLive reports whether a live process holds the in-use mark of the
// temporary file at path.
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

// populateChunk prefaults m with MADV_POPULATE_WRITE (write) or
// MADV_POPULATE_READ. Populating for writing maps the pages writable, so
// the producer's first stores do not fault either.
func populateChunk(m []byte, write bool) error {
	adv := unix.MADV_POPULATE_READ
	if write {
		adv = unix.MADV_POPULATE_WRITE
	}
	for {
		err := unix.Madvise(m, adv)
		if err != unix.EINTR {
			return err
		}
	}
}

// createLiveTemp creates the temporary file "."+base+".RANDOM"+tempSuffix
// in dir so that it is marked live before its name appears: the file is
// made unnamed (O_TMPFILE), given its permission and its in-use mark, and
// only then linked under its name. RemoveStale can therefore never find a
// running producer's temporary file unmarked. ok is false when the kernel,
// the filesystem or a missing /proc cannot do this; the caller then creates
// the file the portable way.
func createLiveTemp(dir, base string, perm fs.FileMode) (f *os.File, ok bool) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, uint32(perm))
	if err != nil {
		return nil, false
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: liveOffset, Len: 1}
	for {
		err = unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk)
		if err != unix.EINTR {
			break
		}
	}
	if err == nil {
		err = unix.Fchmod(fd, uint32(perm))
	}
	if err != nil {
		unix.Close(fd)
		return nil, false
	}
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	for range 1000 {
		name := filepath.Join(dir, "."+base+"."+strconv.FormatUint(uint64(rand.Uint32()), 10)+tempSuffix)
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

// closeBeforeRename is false: Linux renames and removes open files, so a
// temporary file keeps its in-use mark until it has its final name (or is
// gone).
const closeBeforeRename = false
