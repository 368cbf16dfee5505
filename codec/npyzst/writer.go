package npyzst

import (
	"bytes"
	"fmt"
	"io"

	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
)

// Writer writes a .npy.zst file: a seekable zstd file whose decompressed
// bytes are a complete .npy file. The .npy header is written alone in the
// first frame when the Writer is made; data written through Write goes
// into frames of whole rows when a row fits in a frame (see
// zstdseek.WithFrameSize), otherwise of whole elements. Close checks that
// exactly the header's data size was written and writes the seek table.
// Like zstdseek.Writer, it compresses frames in parallel with bounded
// memory and is not safe for concurrent use.
type Writer struct {
	// Header is the header that was written.
	Header *npy.Header
	w      *zstdseek.Writer
	remain int64
}

// NewWriter writes the header for h (as npy.AppendHeader writes it) to dst
// and returns a Writer for the raw data bytes, in the header's byte order
// and memory order.
func NewWriter(dst io.Writer, h *npy.Header, opts ...zstdseek.WriterOption) (*Writer, error) {
	hb, err := npy.AppendHeader(nil, h)
	if err != nil {
		return nil, err
	}
	hc := *h
	hc.DataOffset = int64(len(hb))
	return newWriter(dst, &hc, hb, opts)
}

func newWriter(dst io.Writer, h *npy.Header, headerBytes []byte, opts []zstdseek.WriterOption) (*Writer, error) {
	opts = append(opts[:len(opts):len(opts)], zstdseek.WithRecordSize(recordSizes(h)...))
	w, err := zstdseek.NewWriter(dst, opts...)
	if err != nil {
		return nil, err
	}
	if err := w.WriteFrame(headerBytes); err != nil {
		w.Close()
		return nil, err
	}
	return &Writer{Header: h, w: w, remain: h.DataSize()}, nil
}

// recordSizes returns the sizes data frames are made of, largest first:
// a row (the first axis of a C-order array of two or more dimensions, when
// it can fit in a frame at all) and an element.
func recordSizes(h *npy.Header) []int {
	item := int64(h.DType.Size)
	if item <= 0 {
		return nil
	}
	var sizes []int
	if !h.FortranOrder && len(h.Shape) > 1 {
		row := item
		for _, d := range h.Shape[1:] {
			if d == 0 || row > zstdseek.MaxFrameSize/int64(d) {
				row = 0
				break
			}
			row *= int64(d)
		}
		if row > 0 {
			sizes = append(sizes, int(row))
		}
	}
	return append(sizes, int(item))
}

// Write compresses raw data bytes. Writing more than the header's data
// size is an error wrapping npy.ErrSize; nothing beyond it is written.
func (w *Writer) Write(p []byte) (int, error) {
	if int64(len(p)) > w.remain {
		n, err := w.w.Write(p[:w.remain])
		w.remain -= int64(n)
		if err != nil {
			return n, err
		}
		return n, pathError("write", w.w.Name(), fmt.Errorf("%w: more data than the header's %d bytes", npy.ErrSize, w.Header.DataSize()))
	}
	n, err := w.w.Write(p)
	w.remain -= int64(n)
	return n, err
}

// ReadFrom compresses the data bytes read from r, up to the header's data
// size, reading straight into frame buffers. It returns an error wrapping
// npy.ErrTruncated if r ends early. Bytes after the data are not read. It
// implements io.ReaderFrom.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	n, err := w.w.ReadFrom(io.LimitReader(r, w.remain))
	w.remain -= n
	if err == nil && w.remain > 0 {
		err = pathError("write", w.w.Name(), fmt.Errorf("%w: %w: data: expected %d bytes, got %d", zstdseek.ErrTruncated, npy.ErrTruncated, w.Header.DataSize(), w.Header.DataSize()-w.remain))
	}
	return n, err
}

// Close writes the last frame and the seek table. It fails if fewer data
// bytes were written than the header promises (the output is then not a
// valid .npy.zst). It does not close the destination.
func (w *Writer) Close() error {
	if w.remain > 0 {
		w.w.Close()
		return pathError("write", w.w.Name(), fmt.Errorf("%w: %d of %d data bytes written", npy.ErrSize, w.Header.DataSize()-w.remain, w.Header.DataSize()))
	}
	return w.w.Close()
}

// Compress reads a .npy stream from src and writes it to dst as .npy.zst,
// keeping the header bytes exactly as they are in src (so that `zstd -d`
// restores the identical file). It streams: memory use is bounded by the
// frame pipeline, whatever the array size. Bytes after the data section
// are an error wrapping npy.ErrTrailingData (the output would not describe
// one array). It returns the header. Errors about the data name the file
// given by zstdseek.WithName, if any; errors in the header are returned as
// package npy reports them.
func Compress(dst io.Writer, src io.Reader, opts ...zstdseek.WriterOption) (*npy.Header, error) {
	var hb bytes.Buffer
	h, err := npy.ReadHeader(io.TeeReader(src, &hb))
	if err != nil {
		return nil, err
	}
	w, err := newWriter(dst, h, hb.Bytes(), opts)
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
		return nil, pathError("read", w.w.Name(), fmt.Errorf("%w: bytes follow the %d data bytes", npy.ErrTrailingData, h.DataSize()))
	}
	return h, w.Close()
}
