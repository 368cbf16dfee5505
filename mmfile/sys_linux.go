//go:build linux

package mmfile

import (
	"fmt"
	"os"
	"runtime"

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

// fallocate allocates [off, off+n) of f, extending its size.
func fallocate(f *os.File, off, n int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, off, n)
	runtime.KeepAlive(f)
	return err
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

// mapPopulateFlag is MAP_POPULATE: mmap fills the page tables before it
// returns.
const mapPopulateFlag = unix.MAP_POPULATE
