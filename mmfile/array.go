package mmfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"sync"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/npy"
)

// Array is an .npy array mapped into memory.
//
// An Array comes from Create (a new array the producer fills in place and
// then publishes), Open, OpenSection or OpenFile (an existing .npy,
// read-only, read-write or copy-on-write), CreateAnon or WriteAnon (an
// anonymous in-memory array, Linux) or Receive (one passed over a Unix
// socket).
//
// # Lifetime
//
// The memory returned by Bytes and Slice belongs to the mapping: it is valid
// until Close, and using it after Close crashes the program (the pages are
// unmapped). Code that may run concurrently with Close brackets its use with
// Pin, which defers the unmapping until the last pin is released. The
// guarded accessors (Do, ReadAt, WriteAt) pin for themselves and return
// fs.ErrClosed after Close. Every method returns an error wrapping fs.ErrClosed
// after Close; closing twice is an error, not a crash.
//
// # Concurrency
//
// All methods may be called from several goroutines at once. The array's
// memory itself has no locking: goroutines (and processes) that write the
// same elements must coordinate, with the file locks (Lock, LockRange),
// sync/atomic on aligned words, or their own protocol. See docs/sharing.md
// for the memory model across processes.
//
// # Faults
//
// A mapped file that another process truncates, or a sparse file on a full
// filesystem, makes an access to the missing pages raise SIGBUS, which
// kills a Go program. Only the guarded accessors (Do, ReadAt, WriteAt) turn
// such a fault into an error (ErrFileShrunk, ErrFault); raw slices from Bytes
// and Slice are not protected. Create reserves the file's space so that an
// array it made never faults for lack of space, and anonymous arrays are
// sealed against shrinking by other processes.
type Array struct {
	mu       sync.Mutex
	path     string // final name (Create), name given to Open, "memfd:NAME"
	tmp      bool   // a temporary file not published yet (Create)
	remove   bool   // the temporary file goes when the mapping is released (abandoned)
	f        *os.File
	m        []byte // the whole mapping: header and data
	data     []byte // m[skew+DataOffset:]
	hdr      *npy.Header
	mode     Mode
	anon     bool  // no file name: CreateAnon, WriteAnon, OpenFile, Receive
	noSync   bool  // CreateOptions.NoSync, for Publish
	section  int64 // file offset of the .npy in the file (OpenSection); 0 otherwise
	skew     int   // position of the .npy's first byte in m (section minus the mapping offset)
	pins     int
	closed   bool
	released bool
	ahead    aheadState
	flocked  bool
}

// Publish makes a created array visible under its name: on a disk-backed
// filesystem it flushes the mapping and fsyncs the file (unless
// CreateOptions.NoSync), renames the temporary file to the name (replacing
// any file of that name: processes that have the old file mapped keep
// seeing the old data), and fsyncs the folder. On tmpfs there is nothing to
// sync. An array that is published already, opened or anonymous has
// nothing to publish (ErrPublished).
//
// After Publish the array stays mapped: the producer may keep writing, and
// processes that open the name see those writes (see docs/sharing.md for
// what they may observe meanwhile). If the rename fails, the array stays
// unpublished and Close still removes the temporary file (on Windows,
// which cannot rename an open file, the array is closed and the temporary
// file removed instead). If only the final folder fsync fails, the file is
// published but the error is returned.
func (a *Array) Publish() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return wrap("publish", a.path, fs.ErrClosed)
	}
	if !a.tmp {
		return wrap("publish", a.path, ErrPublished)
	}
	if !a.noSync && !atomicfile.InMemory(a.f) {
		if err := msync(a.m); err != nil {
			return wrap("publish", a.path, err)
		}
	}
	renamed, err := a.renameMapped()
	if renamed {
		a.tmp = false
	}
	return wrap("publish", a.path, err)
}

// Close unmaps the array and closes its file. A created array that was not
// published is abandoned: its temporary file is removed. Close does not
// flush a disk-backed read-write array; call Sync first if the data must
// reach the disk before Close returns (it reaches it eventually anyway).
//
// If pins are outstanding (see Pin), Close returns at once and the
// unmapping happens when the last pin is released; meanwhile every method
// reports fs.ErrClosed. Calling Close again returns an error wrapping fs.ErrClosed.
func (a *Array) Close() error {
	a.ahead.halt()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return wrap("close", a.path, fs.ErrClosed)
	}
	a.closed = true
	a.remove, a.tmp = a.tmp, false
	if a.pins > 0 {
		return nil
	}
	return wrap("close", a.path, a.release())
}

// release unmaps and closes; a.mu is held.
func (a *Array) release() error {
	if a.released {
		return nil
	}
	a.released = true
	err := unmap(a.m)
	a.m, a.data = nil, nil
	if !a.remove {
		if e := a.f.Close(); err == nil {
			err = e
		}
		return err
	}
	// Abandoned: the temporary file goes before its live mark does.
	if e := atomicfile.Abandon(a.f); err == nil {
		err = e
	}
	return err
}

// Pin keeps the mapping alive until the returned unpin function is called,
// even if Close is called meanwhile (the unmapping is deferred until the last
// pin is released). Goroutines that use slices from Bytes or Slice while
// another goroutine may Close the array pin first. unpin may be called more
// than once; only the first call counts. After Close, Pin returns fs.ErrClosed.
func (a *Array) Pin() (unpin func(), err error) {
	_, unpin, err = a.pin("pin")
	return unpin, err
}

func (a *Array) pin(op string) ([]byte, func(), error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, func() {}, wrap(op, a.path, fs.ErrClosed)
	}
	a.pins++
	data := a.data
	var once sync.Once
	return data, func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.pins--
			if a.pins == 0 && a.closed {
				a.release()
			}
		})
	}, nil
}

// Sync flushes a read-write array's changes to its file and the file to
// disk (msync and fsync). It is needed only for disk-backed files that must
// survive a crash of the machine; other processes see writes through a
// shared mapping at once without it. For read-only and copy-on-write arrays
// Sync does nothing.
func (a *Array) Sync() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return wrap("sync", a.path, fs.ErrClosed)
	}
	if a.mode != ReadWrite {
		return nil
	}
	if err := msync(a.m); err != nil {
		return wrap("sync", a.path, err)
	}
	return wrap("sync", a.path, syncFile(a.f))
}

// Bytes returns the array's data section as stored (the file's byte order
// and memory order), without copying. The slice is valid until Close (see
// Pin); writing to it for a ReadOnly array crashes the program.
func (a *Array) Bytes() ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, wrap("bytes", a.path, fs.ErrClosed)
	}
	return a.data, nil
}

// Slice returns the array's data as a []T without copying. T must match
// the dtype's kind and size (npy.ErrTypeMismatch otherwise), the data must be
// in the machine's byte order (npy.ErrByteOrder) and aligned for T
// (npy.ErrAlignment; files from NumPy and this package are 64-byte aligned).
// Elements are in the array's memory order: Header().Strides() gives the
// step of each axis. The slice is valid until Close (see Pin); for a
// ReadOnly array, writing to it crashes the program.
func Slice[T npy.Elem](a *Array) ([]T, error) {
	data, err := a.Bytes()
	if err != nil {
		return nil, err
	}
	s, err := npy.View[T](data, a.hdr.DType)
	if err != nil {
		if errors.Is(err, npy.ErrAlignment) {
			hint := ""
			if a.section > 0 {
				hint = "; an .npz archive written with npz.WithAlignment(64) aligns every stored member's data"
			}
			err = fmt.Errorf("%w: the data starts at byte %d of the file, not a multiple of %d (Bytes still gives the raw data%s)",
				err, a.section+a.hdr.DataOffset, reflect.TypeFor[T]().Align(), hint)
		}
		return nil, wrap("view", a.path, err)
	}
	return s, nil
}

// Header returns a copy of the array's header: dtype, memory order, shape
// (and, from its methods, strides, element count and data size).
func (a *Array) Header() *npy.Header {
	h := *a.hdr
	h.Shape = slices.Clone(a.hdr.Shape)
	return &h
}

// File returns the array's open file, for example to pass an anonymous
// array to a child process in exec.Cmd.ExtraFiles. It stays owned by the
// Array: do not close it, and do not use it after Close.
func (a *Array) File() (*os.File, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, wrap("file", a.path, fs.ErrClosed)
	}
	return a.f, nil
}
