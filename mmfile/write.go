package mmfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/npy"
)

// Write writes data to a new .npy file name in C order with the given shape
// (nil means one dimension of len(data)) and publishes it, in one call.
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
func Write[T npy.Elem](name string, data []T, shape []int, opt *Options) error {
	if shape == nil {
		shape = []int{len(data)}
	}
	return WriteBytes(name, &npy.Header{DType: npy.DTypeOf[T](), Shape: shape}, npy.Bytes(data), opt)
}

// WriteBytes is Write for raw data bytes described by h (dtype, order and
// shape; any dtype npy supports). len(data) must be h's data size.
func WriteBytes(name string, h *npy.Header, data []byte, opt *Options) error {
	o := optionsOf(opt)
	hb, hdr, err := headerBytes(h)
	if err != nil {
		return wrap("write", name, err)
	}
	if int64(len(data)) != hdr.DataSize() {
		return wrap("write", name, fmt.Errorf("%w: %d data bytes for shape %v of %s (%d bytes)",
			npy.ErrSize, len(data), hdr.Shape, hdr.DType, hdr.DataSize()))
	}
	total := hdr.DataOffset + hdr.DataSize()
	dir := filepath.Dir(name)
	if free, ok := freeSpaceFn(dir); ok && free < total && !o.Sparse {
		return wrap("write", name, &SpaceError{Dir: dir, Need: total, Free: free})
	}
	nr := o
	nr.Sparse = true // checked above; the writes allocate the blocks
	f, err := newTemp(name, hb, total, &nr)
	if err != nil {
		return wrap("write", name, err)
	}
	if writeHook != nil {
		writeHook()
	}
	if err := writeAtParallel(f, data, hdr.DataOffset); err != nil {
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

// WriteFrom reads an .npy stream from r (any npy source: a file, a pipe, a
// network connection, npy.Writer output) and publishes it as name. The data
// is read straight into the new file's mapping. If r fails or ends early,
// nothing is published (npy.ErrTruncated for a short stream). Bytes after
// the array data in r are not read.
func WriteFrom(name string, r io.Reader, opt *Options) error {
	rd, err := npy.NewReader(r)
	if err != nil {
		return wrap("write", name, err)
	}
	h := *rd.Header
	h.Version = npy.Version{}
	a, err := Create(name, &h, opt)
	if err != nil {
		return err
	}
	err = a.Do(func(data []byte) error {
		_, err := io.ReadFull(rd, data)
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%w: stream ended before the %d data bytes", npy.ErrTruncated, len(data))
		}
		return err
	})
	if err == nil {
		err = a.Publish()
	}
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	return wrap("write", name, err)
}
