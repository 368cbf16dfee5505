package codec

import (
	"fmt"
	"io"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// DecompressToArray decompresses the .npy.zst r into a new memory-mapped
// array file name (see mmfile.Create; use mmfile.Path(name) for the shared
// tmpfs folder) and publishes it, so that one process pays for the
// decompression and every other process maps the raw result.
//
// The array is created under a temporary name with its space reserved
// (a full tmpfs is an error here, not a SIGBUS later); the frames of a
// seekable file are then decompressed in parallel straight into the
// mapping, with no intermediate copy, every checksum verified, and the
// array is published by rename only when all of it is in place. A plain
// (non-seekable) file is decompressed sequentially into the mapping. On any
// error the temporary file is removed and name is untouched. The returned
// array stays mapped read-write; the caller closes it.
func DecompressToArray(r *NpyReader, name string, opt *mmfile.Options) (*mmfile.Array, error) {
	h := *r.Header
	h.Version = npy.Version{} // mmfile writes the header as NumPy would
	a, err := mmfile.Create(name, &h, opt)
	if err != nil {
		return nil, err
	}
	if err := fillArray(r, a); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.Publish(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// fillArray decompresses r's data section into a's mapping. The file is
// our unpublished temporary with its space reserved, so no other process
// can truncate it and writes through the mapping cannot fault; the pin
// keeps the mapping alive for the worker goroutines.
func fillArray(r *NpyReader, a *mmfile.Array) error {
	unpin, err := a.Pin()
	if err != nil {
		return err
	}
	defer unpin()
	data, err := a.Bytes()
	if err != nil {
		return err
	}
	if int64(len(data)) != r.Header.DataSize() {
		return fmt.Errorf("codec: %s: mapped data is %d bytes, header needs %d", r.Name(), len(data), r.Header.DataSize())
	}
	if r.Seekable() {
		if len(data) == 0 {
			return r.z.Verify()
		}
		if _, err := r.z.ReadAt(data, r.Header.DataOffset); err != nil && err != io.EOF {
			return err
		}
		// ReadAt decompresses only the frames holding data: check the
		// rest (the header frame and any empty frames) too.
		for i := 0; i < r.z.NumFrames(); i++ {
			f := r.z.Frame(i)
			if f.DecompressedOffset+f.DecompressedSize <= r.Header.DataOffset || f.DecompressedSize == 0 {
				buf := make([]byte, f.DecompressedSize)
				if err := r.z.decodeFrame(i, buf); err != nil {
					return err
				}
			}
		}
		return nil
	}
	_, err = r.WriteDataTo(&sliceWriter{b: data})
	return err
}

// sliceWriter fills a fixed slice in order.
type sliceWriter struct {
	b []byte
	n int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	if len(p) > len(w.b)-w.n {
		return 0, fmt.Errorf("codec: %w: more data than the array holds", ErrCorrupt)
	}
	copy(w.b[w.n:], p)
	w.n += len(p)
	return len(p), nil
}
