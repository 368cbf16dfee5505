package mmfile

import (
	"fmt"
	"io/fs"
	"os"
)

// Lock takes an advisory lock on the whole file, shared (several holders)
// or exclusive (one holder). With wait it blocks until the lock is granted;
// without, it reports false at once if another holder has a conflicting
// lock. ok is true when the lock is held. It is a BSD flock
// lock: it binds the open file, so it excludes other processes and other
// Arrays of the same file in this process (each Open is a separate open
// file), and it is released by Unlock, by Close, or when the process dies.
// Advisory means it only excludes others that also lock; NumPy does not.
//
// Locking twice through the same Array without Unlock returns ErrLocked
// (a second flock would silently convert the lock). A Close while Lock
// waits returns at once; the waiting Lock then returns fs.ErrClosed once the
// lock is granted, and the file is closed (releasing the lock) after it.
// Not available on Windows (errors.ErrUnsupported).
func (a *Array) Lock(exclusive, wait bool) (ok bool, err error) {
	f, done, err := a.beginLock()
	if err != nil {
		return false, err
	}
	ok, err = flock(f, exclusive, wait)
	if !done(ok && err == nil) && err == nil {
		return false, wrap("lock", a.path, fs.ErrClosed)
	}
	return ok, wrap("lock", a.path, err)
}

// beginLock marks the flock as being taken and pins the file. The returned
// function records the outcome and reports whether the array is still open.
func (a *Array) beginLock() (*os.File, func(bool) bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, nil, wrap("lock", a.path, fs.ErrClosed)
	}
	if a.flocked {
		return nil, nil, wrap("lock", a.path, ErrLocked)
	}
	a.flocked = true
	a.pins++
	f := a.f
	return f, func(held bool) bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.flocked = held && !a.closed
		a.pins--
		if a.pins == 0 && a.closed {
			a.release()
		}
		return !a.closed
	}, nil
}

// Unlock releases the lock taken with Lock. Without one it does nothing,
// as UnlockRange does for a range not held.
func (a *Array) Unlock() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return wrap("unlock", a.path, fs.ErrClosed)
	}
	if !a.flocked {
		return nil
	}
	a.flocked = false
	return wrap("unlock", a.path, funlock(a.f))
}

// LockRange takes an advisory lock on the n data bytes starting at data
// byte off (offsets into the data section, as for ReadAt), shared or
// exclusive, waiting for it or not as Lock does. Writers that partition an
// array (for example by rows) lock their own ranges.
//
// These are Linux open-file-description (OFD) locks: like Lock, they bind
// the open file, so they exclude other processes and other Arrays of the
// same file in this process, but never ranges locked through this same
// Array (those merge, as POSIX locks of one owner do). Exclusive range
// locks need a file open for writing (ReadWrite or Create). They are
// independent of Lock's whole-file lock. Other systems return an error
// matching errors.ErrUnsupported.
func (a *Array) LockRange(off, n int64, exclusive, wait bool) (ok bool, err error) {
	f, unpin, err := a.rangeFile("lock", off, n)
	if err != nil {
		return false, err
	}
	defer unpin()
	typ := int16(lockShared)
	if exclusive {
		if a.mode != ReadWrite {
			return false, wrap("lock", a.path, fmt.Errorf("%w: exclusive range locks need a file open for writing", fs.ErrPermission))
		}
		typ = lockExclusive
	}
	ok, err = ofdLock(f, typ, a.section+a.hdr.DataOffset+off, n, wait)
	return ok, wrap("lock", a.path, err)
}

// UnlockRange releases the range locks this Array holds on the n data
// bytes at off.
func (a *Array) UnlockRange(off, n int64) error {
	f, unpin, err := a.rangeFile("unlock", off, n)
	if err != nil {
		return err
	}
	defer unpin()
	_, err = ofdLock(f, lockNone, a.section+a.hdr.DataOffset+off, n, false)
	return wrap("unlock", a.path, err)
}

// rangeFile checks a data range and pins the file.
func (a *Array) rangeFile(op string, off, n int64) (*os.File, func(), error) {
	if off < 0 || n <= 0 || off > a.hdr.DataSize()-n {
		return nil, nil, wrap(op, a.path, fmt.Errorf("range [%d, %d+%d) is not inside the %d-byte array data", off, off, n, a.hdr.DataSize()))
	}
	_, unpin, err := a.pin(op)
	if err != nil {
		return nil, nil, err
	}
	return a.f, unpin, nil
}
