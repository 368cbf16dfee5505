package npyzst

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
)

// Reader reads a .npy.zst file: its .npy header, random access to elements
// and rows (decompressing only the frames that hold them), and parallel
// decompression back to .npy. A .npy.zst made by stock `zstd` (without
// seek table) is read sequentially only; Data, ReadElements and ReadRows
// then return an error wrapping zstdseek.ErrNotSeekable.
//
// Opening reads the seek table and the first frame only (the header frame
// of files a Writer makes, a few hundred bytes). For a seekable file the
// seek table's total decompressed size is checked against the header before
// any data is decompressed. Methods are safe for concurrent use.
type Reader struct {
	// Header is the .npy header.
	Header *npy.Header
	z      *zstdseek.Reader
}

// Open opens the named .npy.zst file (see NewReader). Errors name the file.
func Open(name string, opts ...zstdseek.ReaderOption) (*Reader, error) {
	z, err := zstdseek.Open(name, opts...)
	if err != nil {
		return nil, err
	}
	return newReader(z)
}

// NewReader returns a Reader over the size bytes of ra.
func NewReader(ra io.ReaderAt, size int64, opts ...zstdseek.ReaderOption) (*Reader, error) {
	z, err := zstdseek.NewReader(ra, size, opts...)
	if err != nil {
		return nil, err
	}
	return newReader(z)
}

// newReader reads the .npy header from z; on error it closes z.
func newReader(z *zstdseek.Reader) (*Reader, error) {
	h, err := readHeader(z)
	if err != nil {
		z.Close()
		return nil, pathError("open", z.Name(), err)
	}
	return &Reader{Header: h, z: z}, nil
}

func readHeader(z *zstdseek.Reader) (*npy.Header, error) {
	s, err := z.Stream()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	h, err := npy.ReadHeader(s)
	if err != nil {
		return nil, err
	}
	if z.SeekTable() != nil {
		want := h.DataOffset + h.DataSize()
		switch got := z.Size(); {
		case got < want:
			return nil, fmt.Errorf("%w: %w: frames hold %d bytes, the .npy header (%s) needs %d", zstdseek.ErrBadSeekTable, npy.ErrTruncated, got, h, want)
		case got > want:
			return nil, fmt.Errorf("%w: %w: frames hold %d bytes, the .npy header (%s) needs only %d", zstdseek.ErrBadSeekTable, npy.ErrTrailingData, got, h, want)
		}
	}
	return h, nil
}

// pathError wraps err in an *fs.PathError for op and name, unless name is
// empty, err is nil or err already holds an *fs.PathError.
func pathError(op, name string, err error) error {
	if err == nil || name == "" {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// Zstd returns the underlying seekable zstd reader: the file's name, seek
// table and frames, and ReadAt over the whole decompressed .npy file.
func (r *Reader) Zstd() *zstdseek.Reader { return r.z }

// Close releases the reader and the file opened by Open.
func (r *Reader) Close() error { return r.z.Close() }

// Data returns random access to the data section: offset 0 is the first
// data byte, the bytes are as stored (the file's byte order and memory
// order). Its ReadAt decompresses only the frames a read needs, frames that
// lie wholly inside the buffer in parallel and straight into it, verifying
// every checksum, so the buffer may be the final destination (a
// memory-mapped array, for example).
func (r *Reader) Data() (*io.SectionReader, error) {
	if r.z.SeekTable() == nil {
		return nil, pathError("read", r.z.Name(), fmt.Errorf("%w: random access needs a seek table; decompress the file sequentially", zstdseek.ErrNotSeekable))
	}
	return io.NewSectionReader(r.z, r.Header.DataOffset, r.Header.DataSize()), nil
}

// ReadElements returns elements [i, j) of the array in storage order (C
// order, or Fortran order when Header.FortranOrder is set), converted to
// the machine's byte order, decompressing only the frames that hold them.
// T must match the dtype's kind and size (npy.ErrTypeMismatch otherwise).
func ReadElements[T npy.Elem](r *Reader, i, j int64) ([]T, error) {
	want := npy.DTypeOf[T]()
	dt := r.Header.DType
	if dt.Structured() || !dt.WithOrder('=').Equal(want) {
		return nil, pathError("read", r.z.Name(), fmt.Errorf("%w: array is %s, asked for %s", npy.ErrTypeMismatch, dt, want))
	}
	n := r.Header.NumElements()
	if i < 0 || j < i || j > n {
		return nil, fmt.Errorf("npyzst: elements [%d, %d) outside the array's %d elements", i, j, n)
	}
	d, err := r.Data()
	if err != nil {
		return nil, err
	}
	out := make([]T, j-i)
	b := npy.Bytes(out)
	if m, err := d.ReadAt(b, i*int64(dt.Size)); m < len(b) {
		return nil, err
	}
	if !dt.Native() {
		dt.SwapBytes(b)
	}
	return out, nil
}

// ReadRows returns rows [i, j) (along the first axis) of a C-order array,
// converted to the machine's byte order, as a flat slice of (j-i) times
// the product of Header.Shape[1:] elements. Rows of a Fortran-order array
// are not contiguous; use ReadElements there.
func ReadRows[T npy.Elem](r *Reader, i, j int) ([]T, error) {
	h := r.Header
	if len(h.Shape) == 0 {
		return nil, errors.New("npyzst: a 0-d array has no rows")
	}
	if h.FortranOrder && len(h.Shape) > 1 {
		return nil, errors.New("npyzst: rows of a Fortran-order array are not contiguous; read elements instead")
	}
	if i < 0 || j < i || j > h.Shape[0] {
		return nil, fmt.Errorf("npyzst: rows [%d, %d) outside the array's %d rows", i, j, h.Shape[0])
	}
	row := int64(1)
	for _, d := range h.Shape[1:] {
		row *= int64(d)
	}
	return ReadElements[T](r, int64(i)*row, int64(j)*row)
}

// WriteTo decompresses the whole .npy file (header and data, exactly the
// bytes `zstd -d` gives) to w; in parallel for a seekable file. For a file
// without seek table the decompressed size is checked against the header
// as it streams (at most one byte beyond it is decompressed). It implements
// io.WriterTo.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	return r.writeFrom(w, 0)
}

// WriteDataTo decompresses the data section only (no header) to w, as
// WriteTo does.
func (r *Reader) WriteDataTo(w io.Writer) (int64, error) {
	return r.writeFrom(w, r.Header.DataOffset)
}

// Verify decompresses everything, checking every checksum and the size
// against the header, and discards the output: WriteTo(io.Discard).
func (r *Reader) Verify() error {
	_, err := r.WriteTo(io.Discard)
	return err
}

// writeFrom writes the decompressed bytes from offset start to the end.
func (r *Reader) writeFrom(w io.Writer, start int64) (int64, error) {
	z := r.z
	if z.SeekTable() != nil {
		sw := &skipWriter{w: w, skip: start}
		_, err := z.WriteTo(sw)
		return sw.n, err
	}
	s, err := z.Stream()
	if err != nil {
		return 0, err
	}
	defer s.Close()
	size := r.Header.DataOffset + r.Header.DataSize()
	if _, err := io.CopyN(io.Discard, s, start); err != nil {
		return 0, r.sizeErr(err, 0)
	}
	n, err := io.CopyN(w, s, size-start)
	if err != nil {
		return n, r.sizeErr(err, start+n)
	}
	var one [1]byte
	if m, _ := io.ReadFull(s, one[:]); m > 0 {
		return n, pathError("read", z.Name(), fmt.Errorf("%w: %w: decompresses to more than the %d bytes the .npy header (%s) needs", zstdseek.ErrCorrupt, npy.ErrTrailingData, size, r.Header))
	}
	return n, nil
}

func (r *Reader) sizeErr(err error, got int64) error {
	if err == io.EOF {
		return pathError("read", r.z.Name(), fmt.Errorf("%w: %w: decompresses to %d bytes, the .npy header (%s) needs %d", zstdseek.ErrTruncated, npy.ErrTruncated, got, r.Header, r.Header.DataOffset+r.Header.DataSize()))
	}
	return err
}

// skipWriter drops the first skip bytes and counts what it passes on.
type skipWriter struct {
	w    io.Writer
	skip int64
	n    int64
}

func (s *skipWriter) Write(p []byte) (int, error) {
	all := len(p)
	if s.skip > 0 {
		k := int(min(int64(len(p)), s.skip))
		s.skip -= int64(k)
		p = p[k:]
	}
	if len(p) == 0 {
		return all, nil
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	if err != nil {
		return all - len(p) + n, err
	}
	return all, nil
}
