package mmfile

import (
	"fmt"
	"io"
	"runtime/debug"
	"unsafe"
)

// Do runs fn on the array's data (as Bytes returns it) with the fault guard
// on: if an access to the mapping faults because the file was truncated by
// another process (or a sparse file's filesystem is full), fn is abandoned
// and Do returns an error wrapping ErrFileShrunk (or ErrFault) that names the
// file, instead of the program crashing with SIGBUS.
//
// The guard is runtime/debug.SetPanicOnFault, which works per goroutine: fn
// must touch data only from the goroutine that called Do (it may not hand
// data to other goroutines). A fault abandons fn midway, so deferred calls in
// fn run but its work is incomplete. The array is pinned while fn runs, so a
// concurrent Close does not unmap it. A panic in fn that is not a fault in
// this array's mapping is passed on unchanged.
func (a *Array) Do(fn func(data []byte) error) error {
	data, unpin, err := a.pin("access")
	if err != nil {
		return err
	}
	defer unpin()
	return a.guard(func() error { return fn(data) })
}

// ReadAt copies data bytes starting at byte off of the array's data section
// (not of the file) into p, under the fault guard (see Do). It implements
// io.ReaderAt: a read that reaches the end of the data returns io.EOF with
// the bytes it copied. Use it instead of raw slices for files that other
// processes may truncate.
func (a *Array) ReadAt(p []byte, off int64) (int, error) {
	data, unpin, err := a.pin("read")
	if err != nil {
		return 0, err
	}
	defer unpin()
	if off < 0 {
		return 0, wrap("read", a.path, fmt.Errorf("negative offset %d", off))
	}
	if off >= int64(len(data)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	var n int
	if err := a.guard(func() error { n = copy(p, data[off:]); return nil }); err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt copies p into the array's data section at byte off, under the
// fault guard (see Do). It fails with an error matching fs.ErrPermission for ReadOnly arrays, and
// writes nothing if p does not fit in the data section (the array never
// grows).
func (a *Array) WriteAt(p []byte, off int64) (int, error) {
	data, unpin, err := a.pin("write")
	if err != nil {
		return 0, err
	}
	defer unpin()
	if a.mode == ReadOnly {
		return 0, wrap("write", a.path, errReadOnly)
	}
	if off < 0 || off > int64(len(data)) || int64(len(p)) > int64(len(data))-off {
		return 0, wrap("write", a.path, fmt.Errorf("%d bytes at offset %d do not fit in the %d-byte array data", len(p), off, len(data)))
	}
	var n int
	if err := a.guard(func() error { n = copy(data[off:], p); return nil }); err != nil {
		return 0, err
	}
	return n, nil
}

// guard runs fn with SetPanicOnFault on the calling goroutine and turns a
// fault inside this array's mapping into an error. The mapping must be
// pinned by the caller.
func (a *Array) guard(fn func() error) (err error) {
	return guardMapping(a.mapping(), fn, a.faultError)
}

// guardMapping runs fn with SetPanicOnFault and turns a fault inside m
// into the error made by mkErr; other panics propagate.
func guardMapping(m []byte, fn func() error, mkErr func(addr uintptr, m []byte) error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		addr, ok := faultAddr(r)
		if !ok || !contains(addr, m) {
			panic(r)
		}
		err = mkErr(addr, m)
	}()
	return fn()
}

// mapping returns the whole mapping (stable while pinned).
func (a *Array) mapping() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m
}

// faultAddr extracts the faulting address from a recovered panic value
// raised because of SetPanicOnFault.
func faultAddr(r any) (uintptr, bool) {
	re, ok := r.(interface{ Addr() uintptr })
	if !ok {
		return 0, false
	}
	if _, isErr := r.(error); !isErr {
		return 0, false
	}
	return re.Addr(), true
}

// faultError describes a fault at addr inside mapping m.
func (a *Array) faultError(addr uintptr, m []byte) error {
	off := int64(addr-uintptr(unsafe.Pointer(unsafe.SliceData(m)))) - int64(a.skew) - a.hdr.DataOffset
	need := a.section + a.hdr.DataOffset + a.hdr.DataSize()
	size := int64(-1)
	if fi, err := a.f.Stat(); err == nil {
		size = fi.Size()
	}
	if size >= 0 && size < need {
		return wrap("access", a.path, fmt.Errorf("%w: access at data byte %d faulted; the file now has %d bytes, the array needs %d",
			ErrFileShrunk, off, size, need))
	}
	return wrap("access", a.path, fmt.Errorf("%w: access at data byte %d faulted (file size %d, array needs %d)",
		ErrFault, off, size, need))
}

// contains reports whether addr is inside mapping m.
func contains(addr uintptr, m []byte) bool {
	if len(m) == 0 {
		return false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	return addr >= base && addr-base < uintptr(len(m))
}
