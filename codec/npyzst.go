package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// dataFrameSize returns the decompressed size of the data frames for an
// array with header h, given the requested frame size: a whole number of
// rows (the first axis of a C-order array) when a row fits in a frame,
// otherwise a whole number of elements. The result is at least one element
// (or the requested size when one element exceeds MaxFrameSize).
func dataFrameSize(h *npy.Header, frameSize int) int {
	item := int64(h.DType.Size)
	if item <= 0 {
		return frameSize
	}
	if !h.FortranOrder && len(h.Shape) > 1 {
		row := item
		for _, d := range h.Shape[1:] {
			if d == 0 || row > int64(frameSize)/int64(d) {
				row = 0
				break
			}
			row *= int64(d)
		}
		if row > 0 && row <= int64(frameSize) {
			return int(int64(frameSize) / row * row)
		}
	}
	if item <= int64(frameSize) {
		return int(int64(frameSize) / item * item)
	}
	if item <= MaxFrameSize {
		return int(item)
	}
	return frameSize
}

// NpyWriter writes a .npy.zst file: a seekable zstd file whose decompressed
// bytes are a complete .npy file. The .npy header is written alone in the
// first frame when the NpyWriter is made; data written through Write goes
// into frames of whole rows (or whole elements), see WithFrameSize. Close
// checks that exactly the header's data size was written and writes the
// seek table. Like Writer, it compresses frames in parallel with bounded
// memory and is not safe for concurrent use.
type NpyWriter struct {
	// Header is the header that was written.
	Header *npy.Header
	w      *Writer
	remain int64
	name   string
}

// NewNpyWriter writes the header for h (as npy.AppendHeader writes it) to
// dst and returns an NpyWriter for the raw data bytes, in the header's byte
// order and memory order. Options as for NewWriter.
func NewNpyWriter(dst io.Writer, h *npy.Header, opts ...Option) (*NpyWriter, error) {
	hb, err := npy.AppendHeader(nil, h)
	if err != nil {
		return nil, err
	}
	hc := *h
	hc.DataOffset = int64(len(hb))
	return newNpyWriter(dst, &hc, hb, opts)
}

func newNpyWriter(dst io.Writer, h *npy.Header, headerBytes []byte, opts []Option) (*NpyWriter, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	fs := dataFrameSize(h, cfg.frameSize)
	w, err := NewWriter(dst, append(opts, WithFrameSize(fs))...)
	if err != nil {
		return nil, err
	}
	nw := &NpyWriter{Header: h, w: w, remain: h.DataSize(), name: cfg.name}
	if err := w.writeWholeFrame(headerBytes); err != nil {
		w.Close()
		return nil, err
	}
	return nw, nil
}

// Write compresses raw data bytes. Writing more than the header's data
// size is an error wrapping npy.ErrSize; nothing beyond it is written.
func (w *NpyWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > w.remain {
		n, err := w.w.Write(p[:w.remain])
		w.remain -= int64(n)
		if err != nil {
			return n, err
		}
		return n, nameErr(w.name, fmt.Errorf("%w: more data than the header's %d bytes", npy.ErrSize, w.Header.DataSize()))
	}
	n, err := w.w.Write(p)
	w.remain -= int64(n)
	return n, err
}

// ReadFrom compresses the data bytes read from r, up to the header's data
// size, reading straight into frame buffers. It returns an error wrapping
// npy.ErrTruncated if r ends early. Bytes after the data are not read.
func (w *NpyWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := w.w.ReadFrom(io.LimitReader(r, w.remain))
	w.remain -= n
	if err == nil && w.remain > 0 {
		err = nameErr(w.name, fmt.Errorf("%w: %w: data: expected %d bytes, got %d", ErrTruncated, npy.ErrTruncated, w.Header.DataSize(), w.Header.DataSize()-w.remain))
	}
	return n, err
}

// Close writes the last frame and the seek table. It fails (without
// writing the table) if fewer data bytes were written than the header
// promises. It does not close the destination.
func (w *NpyWriter) Close() error {
	if w.remain > 0 {
		w.w.Close()
		return nameErr(w.name, fmt.Errorf("%w: %d of %d data bytes written", npy.ErrSize, w.Header.DataSize()-w.remain, w.Header.DataSize()))
	}
	return w.w.Close()
}

// Zstd returns the underlying seekable writer (for its seek table and
// sizes).
func (w *NpyWriter) Zstd() *Writer { return w.w }

// CompressNpy reads a .npy stream from src and writes it to dst as
// .npy.zst, keeping the header bytes exactly as they are in src (so that
// `zstd -d` restores the identical file). It streams: memory use is bounded
// by the frame pipeline, whatever the array size. Bytes after the data
// section are an error wrapping npy.ErrTrailingData (the output would not
// describe one array). It returns the header.
func CompressNpy(dst io.Writer, src io.Reader, opts ...Option) (*npy.Header, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	var hb bytes.Buffer
	h, err := npy.ReadHeader(io.TeeReader(src, &hb))
	if err != nil {
		return nil, nameErr(cfg.name, err)
	}
	w, err := newNpyWriter(dst, h, hb.Bytes(), opts)
	if err != nil {
		return nil, err
	}
	if _, err := w.ReadFrom(src); err != nil {
		w.w.Close()
		return nil, err
	}
	var one [1]byte
	if n, _ := io.ReadFull(src, one[:]); n > 0 {
		w.w.Close()
		return nil, nameErr(cfg.name, fmt.Errorf("%w: bytes follow the %d data bytes", npy.ErrTrailingData, h.DataSize()))
	}
	return h, w.Close()
}

// NpyReader reads a .npy.zst file: its .npy header, random access to
// elements and rows (decompressing only the frames that hold them), and
// parallel decompression back to .npy. A .npy.zst made by stock `zstd`
// (without seek table) is read sequentially only; its random-access methods
// return ErrNotSeekable.
//
// Opening reads the seek table and the first frame only (the header frame
// of files we write, a few hundred bytes). For a seekable file the seek
// table's total decompressed size is checked against the header before any
// data is decompressed. Methods are safe for concurrent use.
type NpyReader struct {
	// Header is the .npy header.
	Header *npy.Header
	z      *Reader
}

// OpenNpy opens the named .npy.zst file (see NewNpyReader).
func OpenNpy(name string, opts ...Option) (*NpyReader, error) {
	z, err := Open(name, opts...)
	if err != nil {
		return nil, err
	}
	r, err := newNpyReader(z)
	if err != nil {
		z.Close()
		return nil, err
	}
	return r, nil
}

// NewNpyReader returns an NpyReader over the size bytes of ra. Options as
// for NewReader.
func NewNpyReader(ra io.ReaderAt, size int64, opts ...Option) (*NpyReader, error) {
	z, err := NewReader(ra, size, opts...)
	if err != nil {
		return nil, err
	}
	r, err := newNpyReader(z)
	if err != nil {
		z.Close()
		return nil, err
	}
	return r, nil
}

func newNpyReader(z *Reader) (*NpyReader, error) {
	var src io.Reader
	if z.Seekable() {
		src = io.NewSectionReader(z, 0, z.Size())
	} else {
		s, err := z.Stream()
		if err != nil {
			return nil, err
		}
		defer s.Close()
		src = s
	}
	h, err := npy.ReadHeader(src)
	if err != nil {
		return nil, z.wrap(err)
	}
	if z.Seekable() {
		want := h.DataOffset + h.DataSize()
		switch got := z.Size(); {
		case got < want:
			return nil, z.errorf(ErrBadSeekTable, "%w: frames hold %d bytes, the .npy header (%s) needs %d", npy.ErrTruncated, got, h, want)
		case got > want:
			return nil, z.errorf(ErrBadSeekTable, "%w: frames hold %d bytes, the .npy header (%s) needs only %d", npy.ErrTrailingData, got, h, want)
		}
	}
	return &NpyReader{Header: h, z: z}, nil
}

// Zstd returns the underlying zstd reader (frames, ReadAt over the whole
// decompressed .npy bytes).
func (r *NpyReader) Zstd() *Reader { return r.z }

// Close releases the reader and the file opened by OpenNpy.
func (r *NpyReader) Close() error { return r.z.Close() }

// Name returns the file name given by OpenNpy or WithName.
func (r *NpyReader) Name() string { return r.z.Name() }

// Seekable reports whether the file has a seek table (random access).
func (r *NpyReader) Seekable() bool { return r.z.Seekable() }

// NumFrames returns the number of zstd frames (0 without seek table).
func (r *NpyReader) NumFrames() int { return r.z.NumFrames() }

// CompressedSize returns the size of the .npy.zst file.
func (r *NpyReader) CompressedSize() int64 { return r.z.CompressedSize() }

// Size returns the size of the decompressed .npy file.
func (r *NpyReader) Size() int64 { return r.Header.DataOffset + r.Header.DataSize() }

// Data returns random access to the data section: offset 0 is the first
// data byte. Reads decompress only the frames they need.
func (r *NpyReader) Data() (*io.SectionReader, error) {
	if !r.z.Seekable() {
		return nil, r.z.errorf(ErrNotSeekable, "random access needs a seek table; decompress the file sequentially")
	}
	return io.NewSectionReader(r.z, r.Header.DataOffset, r.Header.DataSize()), nil
}

// ReadDataAt fills p with the data bytes starting at data offset off (the
// raw bytes as stored, in the file's byte order and memory order).
func (r *NpyReader) ReadDataAt(p []byte, off int64) error {
	d, err := r.Data()
	if err != nil {
		return err
	}
	if off < 0 || off > d.Size() || int64(len(p)) > d.Size()-off {
		return r.z.wrap(fmt.Errorf("codec: data bytes [%d, %d) outside the %d-byte data section", off, off+int64(len(p)), d.Size()))
	}
	_, err = r.z.ReadAt(p, r.Header.DataOffset+off)
	return err
}

// ReadElementsRaw returns the raw bytes of elements [i, j) in storage order
// (C order, or Fortran order when Header.FortranOrder is set), decompressing
// only the frames that hold them.
func (r *NpyReader) ReadElementsRaw(i, j int64) ([]byte, error) {
	n := r.Header.NumElements()
	if i < 0 || j < i || j > n {
		return nil, r.z.wrap(fmt.Errorf("codec: elements [%d, %d) outside the array's %d elements", i, j, n))
	}
	item := int64(r.Header.DType.Size)
	if (j - i) > math.MaxInt/max(item, 1) {
		return nil, r.z.wrap(fmt.Errorf("codec: %d elements do not fit in memory", j-i))
	}
	p := make([]byte, (j-i)*item)
	if err := r.ReadDataAt(p, i*item); err != nil {
		return nil, err
	}
	return p, nil
}

// RowElements returns the number of elements in one row (the product of
// the shape after the first axis; 1 for 1-d and 0-d arrays).
func (r *NpyReader) RowElements() int64 {
	n := int64(1)
	for _, d := range r.Header.Shape[min(1, len(r.Header.Shape)):] {
		n *= int64(d)
	}
	return n
}

// ReadElements returns elements [i, j) of the array in storage order,
// converted to the machine's byte order. T must match the dtype's kind and
// size (npy.ErrTypeMismatch otherwise).
func ReadElements[T npy.Elem](r *NpyReader, i, j int64) ([]T, error) {
	want := npy.DTypeOf[T]()
	dt := r.Header.DType
	if dt.Structured() || !dt.WithOrder('=').Equal(want) {
		return nil, r.z.wrap(fmt.Errorf("%w: array is %s, asked for %s", npy.ErrTypeMismatch, dt, want))
	}
	n := r.Header.NumElements()
	if i < 0 || j < i || j > n {
		return nil, r.z.wrap(fmt.Errorf("codec: elements [%d, %d) outside the array's %d elements", i, j, n))
	}
	out := make([]T, j-i)
	b := npy.Bytes(out)
	if err := r.ReadDataAt(b, i*int64(dt.Size)); err != nil {
		return nil, err
	}
	if !dt.Native() {
		dt.SwapBytes(b)
	}
	return out, nil
}

// ReadRows returns rows [i, j) (along the first axis) of a C-order array,
// converted to the machine's byte order, as a flat slice of
// (j-i)*RowElements() elements. Rows of a Fortran-order array are not
// contiguous; use ReadElements there.
func ReadRows[T npy.Elem](r *NpyReader, i, j int) ([]T, error) {
	h := r.Header
	if len(h.Shape) == 0 {
		return nil, r.z.wrap(errors.New("codec: a 0-d array has no rows"))
	}
	if h.FortranOrder && len(h.Shape) > 1 {
		return nil, r.z.wrap(errors.New("codec: rows of a Fortran-order array are not contiguous; read elements instead"))
	}
	if i < 0 || j < i || j > h.Shape[0] {
		return nil, r.z.wrap(fmt.Errorf("codec: rows [%d, %d) outside the array's %d rows", i, j, h.Shape[0]))
	}
	re := r.RowElements()
	return ReadElements[T](r, int64(i)*re, int64(j)*re)
}

// WriteTo decompresses the whole .npy file (header and data, exactly the
// bytes `zstd -d` gives) to w; in parallel for a seekable file. For a file
// without seek table the decompressed size is checked against the header
// as it streams (at most one byte beyond it is decompressed).
func (r *NpyReader) WriteTo(w io.Writer) (int64, error) {
	return r.writeFrom(w, 0)
}

// WriteDataTo decompresses the data section only (no header) to w.
func (r *NpyReader) WriteDataTo(w io.Writer) (int64, error) {
	return r.writeFrom(w, r.Header.DataOffset)
}

// Verify decompresses everything, checking every checksum and the size
// against the header, and discards the output.
func (r *NpyReader) Verify() error {
	_, err := r.WriteTo(io.Discard)
	return err
}

// writeFrom writes the decompressed bytes from offset start to the end.
func (r *NpyReader) writeFrom(w io.Writer, start int64) (int64, error) {
	z := r.z
	if z.closed.Load() {
		return 0, ErrClosed
	}
	if z.Seekable() {
		if start >= z.Size() {
			return 0, nil
		}
		k := z.FrameAt(start)
		sw := &skipWriter{w: w, skip: start - z.dOff[k]}
		_, err := z.writeFrames(sw, k, z.NumFrames())
		return sw.n, err
	}
	s, err := z.Stream()
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if _, err := io.CopyN(io.Discard, s, start); err != nil {
		return 0, r.sizeErr(err, 0)
	}
	want := r.Size() - start
	n, err := io.CopyN(w, s, want)
	if err != nil {
		return n, r.sizeErr(err, start+n)
	}
	var one [1]byte
	if m, _ := io.ReadFull(s, one[:]); m > 0 {
		return n, z.errorf(ErrCorrupt, "%w: decompresses to more than the %d bytes the .npy header (%s) needs", npy.ErrTrailingData, r.Size(), r.Header)
	}
	return n, nil
}

func (r *NpyReader) sizeErr(err error, got int64) error {
	if err == io.EOF {
		return r.z.errorf(ErrTruncated, "%w: decompresses to %d bytes, the .npy header (%s) needs %d", npy.ErrTruncated, got, r.Header, r.Size())
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

// CompressFile compresses the .npy file src to the .npy.zst file dst (see
// CompressNpy). dst is written under a temporary name in its folder (an
// mmfile temporary file, see mmfile.CreateTemp, which mmfile.RemoveStale
// cleans up if the process dies) and renamed into place when complete, so
// readers never see a partial file; on error dst is left untouched. On
// disk-backed storage the file and folder are fsynced before and after
// the rename, as mmfile.PublishTemp does.
func CompressFile(dst, src string, opts ...Option) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeAtomic(dst, func(f *os.File) error {
		_, err := CompressNpy(f, in, append([]Option{WithName(src)}, opts...)...)
		return err
	})
}

// DecompressFile decompresses the .npy.zst file src to the .npy file dst,
// in parallel, verifying every checksum, with the same temporary-name and
// rename publication as CompressFile.
func DecompressFile(dst, src string, opts ...Option) error {
	r, err := OpenNpy(src, opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	return writeAtomic(dst, func(f *os.File) error {
		_, err := r.WriteTo(f)
		return err
	})
}

// writeAtomic writes name through a temporary file in the same folder and
// renames it into place if fill succeeds. The temporary file is mmfile's
// (mmfile.CreateTemp): a hidden ".NAME.RANDOM.arrtmp" file, marked live
// while this process runs, so that mmfile.List and RemoveStale (arr ls, arr
// gc) find and clean up what a crashed process left behind. Publication
// fsyncs on disk-backed storage, as mmfile.PublishTemp does.
func writeAtomic(name string, fill func(*os.File) error) error {
	f, err := mmfile.CreateTemp(name, 0o644)
	if err != nil {
		return err
	}
	return finishAtomic(f, name, fill(f))
}

// finishAtomic publishes the temporary file f as name if err is nil, and
// abandons it otherwise, returning the first error.
func finishAtomic(f *os.File, name string, err error) error {
	if err != nil {
		mmfile.AbandonTemp(f)
		return err
	}
	return mmfile.PublishTemp(f, name, nil)
}
