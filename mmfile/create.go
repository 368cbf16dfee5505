package mmfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/npy"
)

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
// ignored. name may be in any folder; DefaultDir is the shared default. A
// name of the form of a temporary file's (".NAME.RANDOM.arrtmp") is refused
// with ErrTempName, as RemoveStale would remove it. The file's permission is
// opt.Perm (0666 under the umask by default).
func Create(name string, h *npy.Header, opt *CreateOptions) (*Array, error) {
	o := createOptionsOf(opt)
	if err := checkName(name); err != nil {
		return nil, wrap("create", name, err)
	}
	hb, hdr, err := headerBytes(h)
	if err != nil {
		return nil, wrap("create", name, err)
	}
	total := hdr.DataOffset + hdr.DataSize()
	f, err := newTemp(name, hb, total, o.perm(), !o.Sparse)
	if err != nil {
		return nil, wrap("create", name, err)
	}
	a := &Array{path: name, tmp: true, f: f, hdr: hdr, mode: ReadWrite, noSync: o.NoSync}
	if err := a.mapNew(int(total), o.Populate, o.Advice); err != nil {
		atomicfile.Abandon(f)
		return nil, wrap("create", name, err)
	}
	return a, nil
}

// Write writes data to a new .npy file name and publishes it, in one call.
// h gives the dtype, order and shape (nil: a one-dimensional array of
// len(data) elements; a nil h.DType: T's dtype). T must be the dtype's Go
// type, as for Slice, or byte: then data is the raw data in the dtype's
// byte and memory order (any dtype npy supports). data must fill the shape.
//
// The bytes go from data to the file with positioned writes (split across
// cores for large arrays), without a mapping and without an intermediate
// copy; the file is created and published as by Create and Publish
// (temporary name, free-space check, fsync on disk-backed storage, atomic
// rename), so readers never see a partial file and a failure leaves no file
// behind and any existing file of that name untouched. Unlike Create, Write
// does not reserve the space first: a write into a full filesystem fails
// cleanly with ENOSPC (reported as a *SpaceError), and reserving would make
// the kernel zero every page before the data overwrites it.
func Write[T npy.Elem](name string, data []T, h *npy.Header, opt *CreateOptions) error {
	o := createOptionsOf(opt)
	if err := checkName(name); err != nil {
		return wrap("write", name, err)
	}
	hb, hdr, err := dataHeader(data, h)
	if err != nil {
		return wrap("write", name, err)
	}
	total := hdr.DataOffset + hdr.DataSize()
	dir := filepath.Dir(name)
	if free, ok := freeSpaceFn(dir); ok && free < total && !o.Sparse {
		return wrap("write", name, &SpaceError{Dir: dir, Need: total, Free: free})
	}
	f, err := newTemp(name, hb, total, o.perm(), false) // checked above; the writes allocate the blocks
	if err != nil {
		return wrap("write", name, err)
	}
	if writeHook != nil {
		writeHook()
	}
	if err := writeAtParallel(f, npy.Bytes(data), hdr.DataOffset); err != nil {
		atomicfile.Abandon(f)
		if errors.Is(err, syscall.ENOSPC) {
			free, ok := freeSpace(dir)
			if !ok {
				free = -1
			}
			err = &SpaceError{Dir: dir, Need: total, Free: free, Err: err}
		}
		return wrap("write", name, err)
	}
	return wrap("write", name, atomicfile.Publish(f, name, o.NoSync))
}

// checkName refuses a name of the form of a temporary file's, which
// housekeeping (RemoveStale, arr gc) would remove once published.
func checkName(name string) error {
	if _, ok := atomicfile.Target(filepath.Base(name)); ok {
		return ErrTempName
	}
	return nil
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
	if total := hdr.DataOffset + hdr.DataSize(); int64(int(total)) != total {
		return nil, nil, fmt.Errorf("%w: %d bytes do not fit in this machine's address space", npy.ErrBadShape, total)
	}
	return hb, hdr, nil
}

// dataHeader is headerBytes for the header of data described by h (see
// Write), checking that data is of h's dtype (or raw bytes) and fills it.
func dataHeader[T npy.Elem](data []T, h *npy.Header) ([]byte, *npy.Header, error) {
	var dh npy.Header
	if h != nil {
		dh = *h
	} else {
		dh.Shape = []int{len(data)}
	}
	if dh.DType == nil {
		dh.DType = npy.DTypeOf[T]()
	}
	hb, hdr, err := headerBytes(&dh)
	if err != nil {
		return nil, nil, err
	}
	raw := npy.Bytes(data)
	if _, isByte := any(*new(T)).(byte); !isByte {
		if _, err := npy.View[T](raw, hdr.DType); err != nil {
			return nil, nil, err
		}
	}
	if int64(len(raw)) != hdr.DataSize() {
		return nil, nil, fmt.Errorf("%w: %d data bytes for shape %v of %s (%d bytes)",
			npy.ErrSize, len(raw), hdr.Shape, hdr.DType, hdr.DataSize())
	}
	return hb, hdr, nil
}

// mapNew maps a freshly created file of total bytes read-write.
func (a *Array) mapNew(total int, pop PopulateMode, adv Advice) error {
	pop = resolvePopulate(pop, a.f, int64(total))
	m, err := mapFile(a.f, total, ReadWrite, pop)
	if err != nil {
		return err
	}
	a.m = m
	a.data = m[a.hdr.DataOffset:total:total]
	if adv != AdviceNormal {
		if err := madvise(a.m, adv); err != nil {
			unmap(m)
			return err
		}
	}
	if pop == PopulateAhead {
		a.startAhead(true)
	}
	return nil
}

// Hooks for fault-injection tests.
var (
	fallocateFn = fallocate
	syncFile    = (*os.File).Sync // Sync and Appender; atomicfile's hooks for publishing
	freeSpaceFn = freeSpace
	// reserveChunk is the largest fallocate call: long calls on tmpfs are
	// interrupted by signals (Go's preemption among them) and undone, so
	// very large reservations are made in pieces.
	reserveChunk int64 = 256 << 20
)

// minReserveChunk is the smallest piece reserve falls back to on ENOMEM or
// repeated EINTR.
const minReserveChunk = 1 << 20

// newTemp creates the temporary file for name with permission perm, sets
// its size to total bytes, reserves them (after checking the folder's free
// space) if asked to, and writes the header hb at offset 0. On error
// nothing is left on disk.
func newTemp(name string, hb []byte, total int64, perm os.FileMode, reserveSpace bool) (f *os.File, err error) {
	dir := filepath.Dir(name)
	if reserveSpace {
		if free, ok := freeSpaceFn(dir); ok && free < total {
			return nil, &SpaceError{Dir: dir, Need: total, Free: free}
		}
	}
	tmp, err := atomicfile.Create(name, perm)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			atomicfile.Abandon(tmp)
		}
	}()
	// The size is set before the space is reserved, so that a tmpfs mounted
	// with huge=within_size sees the final size and uses huge pages.
	err = tmp.Truncate(total)
	if err == nil && reserveSpace {
		err = reserve(tmp, 0, total)
	}
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			free, ok := freeSpace(dir)
			if !ok {
				free = -1
			}
			return nil, &SpaceError{Dir: dir, Need: total, Free: free, Err: err}
		}
		return nil, err
	}
	if _, err = tmp.WriteAt(hb, 0); err != nil {
		return nil, err
	}
	return tmp, nil
}

// reserve allocates the blocks of f in [off, end), extending the file to
// end. It uses fallocate in pieces of at most reserveChunk bytes, retries a
// piece interrupted by a signal (EINTR), halves the piece on ENOMEM or on
// repeated interruptions, and falls back to writing zeros where fallocate is
// not supported (EOPNOTSUPP, ENOSYS, or no fallocate on this system), so the
// blocks are really allocated either way.
func reserve(f *os.File, off, end int64) error {
	chunk := reserveChunk
	intr := 0
	for off < end {
		n := min(chunk, end-off)
		err := fallocateFn(f, off, n)
		switch {
		case err == nil:
			off += n
			intr = 0
		case errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN):
			intr++
			if intr >= 4 && chunk > minReserveChunk {
				chunk, intr = max(chunk/2, minReserveChunk), 0
			}
			if intr > 1000 {
				return fmt.Errorf("fallocate interrupted 1000 times in a row: %w", err)
			}
		case errors.Is(err, syscall.ENOMEM) && n > minReserveChunk:
			chunk = max(n/2, minReserveChunk)
		case errors.Is(err, errNoFallocate) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS):
			return writeZeros(f, off, end)
		default:
			return fmt.Errorf("fallocate: %w", err)
		}
	}
	return nil
}

// errNoFallocate is returned by fallocate on systems without it.
var errNoFallocate = errors.New("fallocate not available")

// writeZeros writes zero bytes to f in [off, end).
func writeZeros(f *os.File, off, end int64) error {
	buf := make([]byte, min(end-off, 1<<20))
	for off < end {
		n := min(int64(len(buf)), end-off)
		w, err := f.WriteAt(buf[:n], off)
		off += int64(w)
		if err != nil {
			return err
		}
	}
	return nil
}

// writeHook, when set, runs in Write once the temporary file exists with
// its header and before the data goes in (for the crash tests).
var writeHook func()

// parallelWriteMin is the size from which writeAtParallel splits the work:
// on tmpfs most of a write's time goes to allocating and filling new pages,
// which runs on every core when the writes are split.
const parallelWriteMin = 8 << 20

// writeAtParallel writes data at off in f, in GOMAXPROCS pieces at once
// for large data.
func writeAtParallel(f *os.File, data []byte, off int64) error {
	workers := min(runtime.GOMAXPROCS(0), len(data)/(parallelWriteMin/2))
	if workers < 2 {
		_, err := f.WriteAt(data, off)
		return err
	}
	step := (len(data) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*step, min((w+1)*step, len(data))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[w] = f.WriteAt(data[lo:hi], off+int64(lo))
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
