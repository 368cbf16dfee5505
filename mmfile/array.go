package mmfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
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
// then publishes), Open (an existing .npy, read-only, read-write or
// copy-on-write), OpenFile (an open file, such as an inherited descriptor)
// or CreateAnon (an anonymous in-memory array, Linux).
//
// # Lifetime
//
// The memory returned by Bytes and Slice belongs to the mapping: it is valid
// until Close, and using it after Close crashes the program (the pages are
// unmapped). Code that may run concurrently with Close brackets its use with
// Pin, which defers the unmapping until the last pin is released. The
// guarded accessors (Do, ReadAt, WriteAt) pin for themselves and return
// ErrClosed after Close. Every method returns an error wrapping ErrClosed
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
// array it made never faults for lack of space.
type Array struct {
	mu       sync.Mutex
	path     string // final name (Create), name given to Open, "memfd:NAME"
	tmp      string // temporary name until Publish ("" when published/opened)
	remove   string // file to unlink when the mapping is released (abandon)
	f        *os.File
	m        []byte // the whole mapping: header and data
	data     []byte // m[DataOffset:]
	hdr      *npy.Header
	mode     Mode
	anon     bool // no file name: CreateAnon, OpenFile
	opt      Options
	trailing int64
	section  int64 // file offset of the .npy in the file (OpenSection); 0 otherwise
	skew     int   // position of the .npy's first byte in m (section minus the mapping offset)
	pins     int
	closed   bool
	released bool
	ahead    aheadState
	flocked  bool
}

// Create makes a new array file for name with the dtype, order and shape of
// h, and maps it read-write (shared), so the caller fills it in place.
//
// The file is created under a temporary name in name's folder (a hidden
// ".NAME.RANDOM.arrtmp" file) and appears under name only when Publish is
// called: readers can never open a half-written array. Closing without
// Publish removes the temporary file.
//
// Unless opt.Sparse is set, Create checks the folder's free space first and
// then reserves the file's blocks (fallocate on Linux, retried on EINTR and
// done in chunks; elsewhere, or on filesystems without fallocate, by writing
// zeros), so a full /dev/shm or disk is an error here (a *SpaceError naming
// the folder, the free space and $ARRFILE_DIR) rather than a SIGBUS later.
// The data starts zeroed.
//
// h.Version zero picks the header version as NumPy does; h.DataOffset is
// ignored. name may be in any folder; see DefaultDir and Path for the
// shared default.
func Create(name string, h *npy.Header, opt *Options) (*Array, error) {
	o := optionsOf(opt)
	hb, hdr, err := headerBytes(h)
	if err != nil {
		return nil, wrap("create", name, err)
	}
	total := hdr.DataOffset + hdr.DataSize()
	if int64(int(total)) != total {
		return nil, wrap("create", name, fmt.Errorf("%w: %d bytes do not fit in this machine's address space", npy.ErrBadShape, total))
	}
	f, err := newTemp(name, hb, total, &o)
	if err != nil {
		return nil, wrap("create", name, err)
	}
	a := &Array{path: name, tmp: f.Name(), f: f, hdr: hdr, mode: ReadWrite, opt: o}
	if err := a.mapNew(int(total)); err != nil {
		atomicfile.Abandon(f)
		return nil, wrap("create", name, err)
	}
	return a, nil
}

// CreateFor is Create for an array of Go element type T in C order with
// the given shape.
func CreateFor[T npy.Elem](name string, shape []int, opt *Options) (*Array, error) {
	return Create(name, &npy.Header{DType: npy.DTypeOf[T](), Shape: shape}, opt)
}

// headerBytes validates h and returns its header bytes and a parsed copy
// with DataOffset and Version filled in.
func headerBytes(h *npy.Header) ([]byte, *npy.Header, error) {
	if h == nil || h.DType == nil {
		return nil, nil, fmt.Errorf("%w: header without a dtype", npy.ErrBadDType)
	}
	hb, err := npy.AppendHeader(nil, h)
	if err != nil {
		return nil, nil, err
	}
	hdr, err := npy.ReadHeader(bytes.NewReader(hb))
	if err != nil {
		return nil, nil, err
	}
	return hb, hdr, nil
}

// mapNew maps a freshly created file of total bytes read-write.
func (a *Array) mapNew(total int) error {
	a.opt.Populate = resolvePopulate(a.opt.Populate, a.f, int64(total))
	m, err := mapFile(a.f, total, ReadWrite, a.opt.Populate)
	if err != nil {
		return err
	}
	a.m = m
	a.data = m[a.hdr.DataOffset:total:total]
	if a.opt.Advice != AdviceNormal {
		if err := madvise(a.m, a.opt.Advice); err != nil {
			unmap(m)
			return err
		}
	}
	if a.opt.Populate == PopulateAhead {
		a.startAhead(true)
	}
	return nil
}

// Open maps an existing .npy file (written by this package, by NumPy or by
// anything else that follows the format) in the given mode.
//
// Open reads and validates the header (bounded by opt.MaxHeaderSize) and
// checks with fstat, before mapping, that the file holds all the data the
// header declares; a short file is an error wrapping npy.ErrTruncated and is
// never extended. Only the header and the data are mapped; trailing bytes are
// reported by Trailing (or refused with opt.Strict). Without opt.Populate the
// cost of Open does not depend on the array's size.
func Open(name string, mode Mode, opt *Options) (*Array, error) {
	return openPath(name, 0, mode, opt)
}

// openPath opens the regular file name in mode and maps the .npy that
// starts at off (0 for Open, the section's offset for OpenSection).
func openPath(name string, off int64, mode Mode, opt *Options) (*Array, error) {
	o := optionsOf(opt)
	flag := os.O_RDONLY
	switch mode {
	case ReadOnly, CopyOnWrite:
	case ReadWrite:
		flag = os.O_RDWR
	default:
		return nil, wrap("open", name, fmt.Errorf("invalid mode %d", mode))
	}
	if off < 0 {
		return nil, wrap("open", name, fmt.Errorf("negative section offset %d", off))
	}
	// Refuse FIFOs and devices before opening: opening a FIFO blocks.
	if fi, err := os.Stat(name); err != nil {
		return nil, wrap("open", name, err)
	} else if !fi.Mode().IsRegular() {
		return nil, wrap("open", name, fmt.Errorf("not a regular file (%s)", fi.Mode().Type()))
	}
	f, err := os.OpenFile(name, flag, 0)
	if err != nil {
		return nil, wrap("open", name, err)
	}
	a, err := openMapped(f, name, off, mode, &o, false)
	if err != nil {
		f.Close()
		return nil, wrap("open", name, err)
	}
	return a, nil
}

// OpenSection maps the .npy array that starts at byte off of the file name
// rather than at its start: an array embedded in a container, such as a
// stored (uncompressed) member of an .npz archive (its offset from
// npz.Reader.DataOffset), read in place without copying.
//
// The mapping starts at the page boundary at or below off (the 64 KiB
// allocation granularity on Windows) and covers the header and the data;
// the Array behaves as one from Open (Bytes, Slice, the guarded accessors,
// locks, hints, populating). The header is read and validated at off
// (bounded by opt.MaxHeaderSize), and the data it declares must lie within
// the file (npy.ErrTruncated otherwise). Bytes after the array are the rest
// of the container: Trailing counts them and opt.Strict is ignored.
//
// The data's address is the mapping's page-aligned base plus its offset
// within the page, so its alignment is that of its file offset: Slice
// refuses element types the data is not aligned for (npy.ErrAlignment,
// naming the offset), while Bytes always works. Writers of containers can
// pad so that the data starts at a multiple of 64.
//
// ReadOnly and CopyOnWrite leave the file untouched. ReadWrite writes into
// the file's bytes in place, which changes the container (an archive's
// checksums then no longer match).
func OpenSection(name string, off int64, mode Mode, opt *Options) (*Array, error) {
	return openPath(name, off, mode, opt)
}

// OpenFile maps the .npy array in the open file f (for example a
// descriptor inherited from a parent process, os.NewFile(3, "array"), or
// one received with Receive), with the same checks as Open. f must be open
// for reading, and for writing if mode is ReadWrite. The Array takes
// ownership of f: Close closes it, also when OpenFile fails.
func OpenFile(f *os.File, mode Mode, opt *Options) (*Array, error) {
	o := optionsOf(opt)
	if mode < ReadOnly || mode > CopyOnWrite {
		f.Close()
		return nil, wrap("open", f.Name(), fmt.Errorf("invalid mode %d", mode))
	}
	a, err := openMapped(f, f.Name(), 0, mode, &o, true)
	if err != nil {
		f.Close()
		return nil, wrap("open", f.Name(), err)
	}
	return a, nil
}

// openMapped maps the .npy that starts at byte off of f (0 for a whole
// file; a section otherwise, see OpenSection).
func openMapped(f *os.File, name string, off int64, mode Mode, o *Options, anon bool) (*Array, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	size := fi.Size()
	if off > size {
		return nil, fmt.Errorf("%w: section offset %d is beyond the end of the %d-byte file", npy.ErrTruncated, off, size)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, off, size-off), 4096)
	hdr, err := npy.ReadHeader(br, npy.WithMaxHeaderSize(o.maxHeader()))
	if err != nil {
		if off > 0 {
			err = fmt.Errorf("array at byte %d: %w", off, err)
		}
		return nil, err
	}
	if err := hdr.CheckFileSize(size-off, o.Strict && off == 0); err != nil {
		if off > 0 {
			err = fmt.Errorf("array at byte %d of the %d-byte file: %w", off, size, err)
		}
		return nil, err
	}
	need := hdr.DataOffset + hdr.DataSize()
	mapOff := off / mapAlignment() * mapAlignment()
	skew := off - mapOff
	if int64(int(skew+need)) != skew+need {
		return nil, fmt.Errorf("%w: %d bytes do not fit in this machine's address space", npy.ErrBadShape, need)
	}
	a := &Array{path: name, f: f, hdr: hdr, mode: mode, opt: *o, trailing: size - off - need, anon: anon, section: off, skew: int(skew)}
	pop := resolvePopulate(o.Populate, f, need)
	m, err := mapFileAt(f, mapOff, int(skew+need), mode, pop)
	if err != nil {
		return nil, err
	}
	a.m = m
	end := int(skew + need)
	a.data = m[int(skew+hdr.DataOffset):end:end]
	if o.Advice != AdviceNormal {
		if err := madvise(m, o.Advice); err != nil {
			unmap(m)
			return nil, err
		}
	}
	if pop == PopulateAhead {
		a.startAhead(false)
	}
	return a, nil
}

// Publish makes a created array visible under its name: on a disk-backed
// filesystem it flushes the mapping and fsyncs the file (unless
// Options.NoSync), renames the temporary file to the name (replacing any
// file of that name: processes that have the old file mapped keep seeing
// the old data), and fsyncs the folder. On tmpfs there is nothing to sync.
//
// After Publish the array stays mapped: the producer may keep writing, and
// processes that open the name see those writes (see docs/sharing.md for
// what they may observe meanwhile). If the rename fails, the array stays
// unpublished and Close still removes the temporary file. If only the final
// folder fsync fails, the file is published but the error is returned.
func (a *Array) Publish() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return wrap("publish", a.path, ErrClosed)
	}
	if a.anon {
		return wrap("publish", a.path, ErrAnonymous)
	}
	if a.tmp == "" {
		return wrap("publish", a.path, ErrPublished)
	}
	if !a.opt.NoSync && !atomicfile.InMemory(a.f) {
		if err := msync(a.m); err != nil {
			return wrap("publish", a.path, err)
		}
	}
	renamed, err := a.renameMapped()
	if renamed {
		a.tmp = ""
	}
	return wrap("publish", a.path, err)
}

// Published reports whether the array is visible under its name: true
// after Publish, and for arrays from Open; false for an unpublished Create
// and for anonymous arrays.
func (a *Array) Published() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tmp == "" && !a.anon
}

// Close unmaps the array and closes its file. A created array that was not
// published is abandoned: its temporary file is removed. Close does not
// flush a disk-backed read-write array; call Sync first if the data must
// reach the disk before Close returns (it reaches it eventually anyway).
//
// If pins are outstanding (see Pin), Close returns at once and the
// unmapping happens when the last pin is released; meanwhile every method
// reports ErrClosed. Calling Close again returns an error wrapping ErrClosed.
func (a *Array) Close() error {
	a.ahead.halt()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return wrap("close", a.path, ErrClosed)
	}
	a.closed = true
	if a.tmp != "" {
		a.remove = a.tmp
		a.tmp = ""
	}
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
	if a.remove == "" {
		if e := a.f.Close(); err == nil {
			err = e
		}
		return err
	}
	// Abandoned: the temporary file goes before its in-use mark does.
	if e := atomicfile.Abandon(a.f); err == nil {
		err = e
	}
	return err
}

// Pin keeps the mapping alive until the returned unpin function is called,
// even if Close is called meanwhile (the unmapping is deferred until the last
// pin is released). Goroutines that use slices from Bytes or Slice while
// another goroutine may Close the array pin first. unpin may be called more
// than once; only the first call counts. After Close, Pin returns ErrClosed.
func (a *Array) Pin() (unpin func(), err error) {
	_, unpin, err = a.pin("pin")
	return unpin, err
}

func (a *Array) pin(op string) ([]byte, func(), error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, func() {}, wrap(op, a.path, ErrClosed)
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

// Remove deletes the array's file name (its temporary name if it is not
// published yet, after which Publish fails). The mapping stays valid until
// Close, and processes that have the file open or mapped keep working; new
// Opens of the name fail with fs.ErrNotExist. On Windows a file cannot be
// removed while it is open; close it and use the package-level Remove.
func (a *Array) Remove() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return wrap("remove", a.path, ErrClosed)
	}
	if a.anon {
		return wrap("remove", a.path, ErrAnonymous)
	}
	name := a.path
	if a.tmp != "" {
		name = a.tmp
	}
	return wrap("remove", a.path, os.Remove(name))
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
		return wrap("sync", a.path, ErrClosed)
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
		return nil, wrap("bytes", a.path, ErrClosed)
	}
	return a.data, nil
}

// Slice returns the array's data as a []T without copying. T must match
// the dtype's kind and size (npy.ErrTypeMismatch otherwise), the data must be
// in the machine's byte order (npy.ErrByteOrder) and aligned for T
// (npy.ErrAlignment; files from NumPy and this package are 64-byte aligned).
// Elements are in the array's memory order: see Index for the position of
// an N-d index. The slice is valid until Close (see Pin); for a ReadOnly
// array, writing to it crashes the program.
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

// Header returns a copy of the array's header.
func (a *Array) Header() *npy.Header {
	h := *a.hdr
	h.Shape = slices.Clone(a.hdr.Shape)
	return &h
}

// DType returns the array's element type. It must not be modified.
func (a *Array) DType() *npy.DType { return a.hdr.DType }

// Shape returns a copy of the array's shape.
func (a *Array) Shape() []int { return slices.Clone(a.hdr.Shape) }

// Strides returns the byte step between consecutive elements along each
// axis, as NumPy's ndarray.strides.
func (a *Array) Strides() []int { return a.hdr.Strides() }

// FortranOrder reports whether the data is in column-major order.
func (a *Array) FortranOrder() bool { return a.hdr.FortranOrder }

// Len returns the number of elements.
func (a *Array) Len() int64 { return a.hdr.NumElements() }

// Name returns the array's file name: the name given to Create or Open,
// the file's name for OpenFile, "memfd:NAME" for anonymous arrays.
func (a *Array) Name() string { return a.path }

// Mode returns how the array is mapped (ReadWrite for Create and CreateAnon).
func (a *Array) Mode() Mode { return a.mode }

// Trailing returns the number of bytes in the file after the array data
// (0 for well-formed files; for OpenSection, the rest of the container);
// they are not mapped.
func (a *Array) Trailing() int64 { return a.trailing }

// File returns the array's open file, for example to pass an anonymous
// array to a child process in exec.Cmd.ExtraFiles. It stays owned by the
// Array: do not close it, and do not use it after Close.
func (a *Array) File() (*os.File, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, wrap("file", a.path, ErrClosed)
	}
	return a.f, nil
}

// Index returns the position in the data (as returned by Slice) of the
// element at the N-d index idx, taking the memory order into account. It
// fails unless len(idx) equals the number of dimensions and every index is
// in range.
func (a *Array) Index(idx ...int) (int, error) {
	return index(a.hdr.Shape, a.hdr.FortranOrder, idx)
}

func index(shape []int, fortran bool, idx []int) (int, error) {
	if len(idx) != len(shape) {
		return 0, fmt.Errorf("mmfile: index has %d dimensions, array has %d", len(idx), len(shape))
	}
	pos, step := 0, 1
	for k := range shape {
		i := len(shape) - 1 - k
		if fortran {
			i = k
		}
		if idx[i] < 0 || idx[i] >= shape[i] {
			return 0, fmt.Errorf("mmfile: index %d out of range for axis %d of size %d", idx[i], i, shape[i])
		}
		pos += idx[i] * step
		step *= shape[i]
	}
	return pos, nil
}
