package npy

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// Reader reads an .npy stream: the header first (when the Reader is made),
// then the raw data bytes through Read.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	// Header is the parsed header.
	Header *Header

	r         io.Reader
	remaining int64
	read      int64
}

// NewReader reads the header from r (see [ReadHeader]) and returns a
// Reader positioned at the first data byte. Header errors wrap the
// package's sentinel errors.
func NewReader(r io.Reader, opts ...ReadOption) (*Reader, error) {
	h, err := ReadHeader(r, opts...)
	if err != nil {
		return nil, err
	}
	return &Reader{Header: h, r: r, remaining: h.DataSize()}, nil
}

// Read reads raw data bytes (in the file's byte order and memory order).
// It returns io.EOF after exactly Header.DataSize() bytes, and an error
// wrapping [ErrTruncated] if the input ends before that. Bytes after the
// data section are not read.
func (r *Reader) Read(p []byte) (int, error) {
	if r.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	n, err := r.r.Read(p)
	r.remaining -= int64(n)
	r.read += int64(n)
	if err == io.EOF {
		if r.remaining > 0 {
			return n, r.truncated()
		}
		err = nil
	}
	return n, err
}

func (r *Reader) truncated() error {
	return fmt.Errorf("%w: data: expected %d bytes, got %d", ErrTruncated, r.Header.DataSize(), r.read)
}

// readFull fills p from the data section.
func (r *Reader) readFull(p []byte) error {
	_, err := io.ReadFull(r, p)
	if err == io.ErrUnexpectedEOF || (err == io.EOF && len(p) > 0) {
		return r.truncated()
	}
	return err
}

// Writer writes an .npy stream: the header when the Writer is made, then
// the raw data bytes through Write. Close checks that exactly the number
// of bytes the header promises was written.
//
// A Writer is not safe for concurrent use. It does not buffer: give it a
// buffered writer when writing in many small pieces.
type Writer struct {
	// Header is the header that was written.
	Header *Header

	w         io.Writer
	remaining int64
}

// NewWriter writes the header for h to w and returns a Writer for the data.
func NewWriter(w io.Writer, h *Header) (*Writer, error) {
	b, err := AppendHeader(make([]byte, 0, 128), h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	hc := *h
	hc.DataOffset = int64(len(b))
	return &Writer{Header: &hc, w: w, remaining: h.DataSize()}, nil
}

// Write writes raw data bytes, in the header's byte order and memory
// order. Writing more than the header's data size is an error (ErrSize),
// and nothing beyond it is written.
func (w *Writer) Write(p []byte) (int, error) {
	if int64(len(p)) > w.remaining {
		n, err := w.w.Write(p[:w.remaining])
		w.remaining -= int64(n)
		if err == nil {
			err = fmt.Errorf("%w: more data written than the shape holds", ErrSize)
		}
		return n, err
	}
	n, err := w.w.Write(p)
	w.remaining -= int64(n)
	return n, err
}

// Close reports an error if fewer data bytes were written than the header
// promises. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.remaining != 0 {
		return fmt.Errorf("%w: %d data bytes missing", ErrSize, w.remaining)
	}
	return nil
}

// shapeFor returns the shape to write for n elements.
func shapeFor(n int, shape []int) ([]int, error) {
	if shape == nil {
		return []int{n}, nil
	}
	c := int64(1)
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("%w: negative dimension %d", ErrBadShape, d)
		}
		c *= int64(d)
	}
	if c != int64(n) {
		return nil, fmt.Errorf("%w: shape %s holds %d elements, data has %d", ErrSize, pyIntTuple(shape), c, n)
	}
	return append([]int{}, shape...), nil
}

// Write writes data as an .npy stream in C order with the given shape
// (default: one dimension of len(data)). The data is written in the
// machine's byte order with a single Write call, without copying.
func Write[T Elem](w io.Writer, data []T, shape ...int) error {
	h, err := headerFor(data, shape)
	if err != nil {
		return err
	}
	hdr, err := AppendHeader(make([]byte, 0, 128), h)
	if err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err = w.Write(Bytes(data))
	return err
}

func headerFor[T Elem](data []T, shape []int) (*Header, error) {
	sh, err := shapeFor(len(data), shape)
	if err != nil {
		return nil, err
	}
	return &Header{DType: DTypeOf[T](), Shape: sh}, nil
}

// Read reads an .npy stream whose dtype matches T and returns its elements
// in the stored memory order (C order, or Fortran order when
// Header.FortranOrder is set; see [WriteCanonical] for C order), with the
// header. Data in the other byte order is converted to the machine's
// order as it is read (the returned header still describes the stored
// bytes); a dtype of another kind or size is [ErrTypeMismatch].
//
// Memory is allocated as the data arrives, not from the shape alone, so a
// header that promises more than the input holds costs no more than the
// input (reads from files and other sources that know their size are
// checked up front and read in one call).
func Read[T Elem](r io.Reader, opts ...ReadOption) ([]T, *Header, error) {
	nr, err := NewReader(r, opts...)
	if err != nil {
		return nil, nil, err
	}
	h := nr.Header
	if err := checkType[T](h.DType); err != nil {
		return nil, h, err
	}
	n := h.NumElements()
	var z T
	size := int64(unsafe.Sizeof(z))
	if n > int64(math.MaxInt/int(size)) {
		return nil, h, fmt.Errorf("%w: %d elements do not fit in memory", ErrBadShape, n)
	}
	var out []T
	if avail, ok := remainingSize(r); ok {
		if avail < h.DataSize() {
			return nil, h, fmt.Errorf("%w: data: expected %d bytes, got %d", ErrTruncated, h.DataSize(), avail)
		}
		out = make([]T, n)
		if err := nr.readKnown(Bytes(out)); err != nil {
			return nil, h, err
		}
	} else {
		// Unknown size: start small and double as bytes arrive, so memory
		// follows the input, not the header's promise.
		out = make([]T, 0, min(n, 4096))
		for int64(len(out)) < n {
			if len(out) == cap(out) {
				grown := make([]T, len(out), min(n, 2*int64(cap(out))))
				copy(grown, out)
				out = grown
			}
			k := min(n-int64(len(out)), int64(cap(out)-len(out)))
			seg := out[len(out) : int64(len(out))+k]
			if err := nr.readFull(Bytes(seg)); err != nil {
				return nil, h, err
			}
			out = out[:int64(len(out))+k]
		}
	}
	if !h.DType.Native() {
		h.DType.toNative(Bytes(out))
	}
	return out, h, nil
}

// parallelMin is the data size from which files are read with parallel
// positioned reads: the kernel's copy to user memory then runs on every
// core (see docs/benchmarks.md).
const parallelMin = 8 << 20

// readKnown fills p from the data section of an input whose size is known
// to hold it. Large reads from files are split across cores.
func (r *Reader) readKnown(p []byte) error {
	f, ok := r.r.(*os.File)
	workers := min(runtime.GOMAXPROCS(0), len(p)/(parallelMin/2))
	if !ok || len(p) < parallelMin || workers < 2 {
		return r.readFull(p)
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return r.readFull(p)
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	step := (len(p) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*step, min((w+1)*step, len(p))
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := f.ReadAt(p[lo:hi], pos+int64(lo))
			if err == io.EOF && n < hi-lo {
				err = fmt.Errorf("%w: data: expected %d bytes, got %d", ErrTruncated, r.Header.DataSize(), int64(lo+n))
			} else if err == io.EOF {
				err = nil
			}
			errs[w] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	r.remaining -= int64(len(p))
	r.read += int64(len(p))
	_, err = f.Seek(pos+int64(len(p)), io.SeekStart)
	return err
}

// remainingSize reports how many bytes r still holds, when r knows.
func remainingSize(r io.Reader) (int64, bool) {
	switch v := r.(type) {
	case interface{ Len() int }: // bytes.Reader, strings.Reader, bytes.Buffer
		return int64(v.Len()), true
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		pos, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, false
		}
		return fi.Size() - pos, true
	}
	return 0, false
}

// ReadFile reads the named .npy file (see [Read]). Its errors are
// *fs.PathError values naming the file.
func ReadFile[T Elem](name string, opts ...ReadOption) ([]T, *Header, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, h, err := Read[T](f, opts...)
	return data, h, pathError("read", name, err)
}

// ReadAll reads the whole data section of an .npy stream of any dtype
// into memory as raw bytes, as stored (byte order and memory order
// unchanged), with the header. Like [Read], it allocates as the data
// arrives.
func ReadAll(r io.Reader, opts ...ReadOption) ([]byte, *Header, error) {
	nr, err := NewReader(r, opts...)
	if err != nil {
		return nil, nil, err
	}
	size := nr.Header.DataSize()
	if size > int64(math.MaxInt) {
		return nil, nr.Header, fmt.Errorf("%w: %d bytes do not fit in memory", ErrBadShape, size)
	}
	if avail, ok := remainingSize(r); ok {
		if avail < size {
			return nil, nr.Header, fmt.Errorf("%w: data: expected %d bytes, got %d", ErrTruncated, size, avail)
		}
		buf := make([]byte, size)
		return buf, nr.Header, nr.readKnown(buf)
	}
	buf, err := io.ReadAll(nr)
	if err != nil {
		return nil, nr.Header, err
	}
	return buf, nr.Header, nil
}
