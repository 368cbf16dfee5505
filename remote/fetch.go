package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// FetchResult describes what Fetch did.
type FetchResult struct {
	// Header is the array's header.
	Header *npy.Header
	// Format is "npy" or "npy.zst", the remote object's format.
	Format string
	// Cached reports that dest already held this version of the object
	// (same URL and ETag), so nothing was downloaded.
	Cached bool
	// Requests is the number of requests sent (retries included).
	Requests int64
}

// Fetch downloads the remote .npy or .npy.zst at rawURL into dest as a
// published mmfile array (mmfile.Create, then Publish): readers of dest
// never see a partial array, and every local process can then map it.
//
// An .npy's data is fetched in parallel parts written straight into the
// new file's mapping; an .npy.zst is decompressed frame by frame, in
// parallel, straight into it. dest gets the array's dtype, order and shape;
// its header is written as NumPy writes it.
//
// Where the filesystem keeps extended attributes, dest records the URL and
// ETag it came from (attribute user.arrfile.source): a later Fetch of the
// same URL whose object has the same ETag returns at once with Cached set,
// after its one opening request. A dest replaced by another file loses the
// attribute with its old inode.
func Fetch(ctx context.Context, rawURL, dest string, opts ...Option) (*FetchResult, error) {
	o, err := Open(ctx, rawURL, opts...)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	key := ""
	if o.ETag() != "" {
		key = o.URL() + "\n" + o.ETag()
	}
	res, err := o.fetchInto(ctx, dest, key)
	if err != nil {
		return nil, pathError("fetch", o.label, err)
	}
	res.Requests = o.Requests()
	return res, nil
}

func (o *Object) fetchInto(ctx context.Context, dest, key string) (*FetchResult, error) {
	head := o.head
	switch {
	case bytes.HasPrefix(head, []byte(npy.Magic)):
		h, err := npy.ReadHeader(io.NewSectionReader(o, 0, o.size))
		if err != nil {
			return nil, err
		}
		res := &FetchResult{Header: h, Format: "npy"}
		if need := h.DataOffset + h.DataSize(); need > o.size {
			return nil, fmt.Errorf("%w: the header (%s) needs %d bytes, the object has %d", npy.ErrTruncated, h, need, o.size)
		}
		if cachedCopy(dest, key, h) {
			res.Cached = true
			return res, nil
		}
		return res, create(dest, h, key, func(data []byte) error {
			_, err := o.ReadAtContext(ctx, data, h.DataOffset)
			return err
		})
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}) || (len(head) >= 4 && head[0]&0xf0 == 0x50 && head[1] == 0x2a && head[2] == 0x4d && head[3] == 0x18):
		r, err := npyzst.NewReader(o, o.size, zstdseek.WithName(o.label), zstdseek.WithConcurrency(o.cfg.concurrency))
		if err != nil {
			return nil, err
		}
		defer r.Close()
		h := r.Header
		res := &FetchResult{Header: h, Format: "npy.zst"}
		if cachedCopy(dest, key, h) {
			res.Cached = true
			return res, nil
		}
		return res, create(dest, h, key, func(data []byte) error {
			if r.Zstd().SeekTable() == nil {
				// Made by plain zstd: decompress front to back.
				_, err := r.WriteDataTo(&sliceWriter{b: data})
				return err
			}
			d, err := r.Data()
			if err != nil {
				return err
			}
			_, err = d.ReadAt(data, 0)
			return err
		})
	}
	return nil, fmt.Errorf("%w: neither an .npy nor an .npy.zst file", npy.ErrBadMagic)
}

// create makes dest with header h, fills its data with fill, records key
// and publishes it; on error nothing is published.
func create(dest string, h *npy.Header, key string, fill func(data []byte) error) error {
	a, err := mmfile.Create(dest, h, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	data, err := a.Bytes()
	if err != nil {
		return err
	}
	if err := fill(data); err != nil {
		return err
	}
	if key != "" {
		if f, err := a.File(); err == nil {
			setSource(f, key)
		}
	}
	if err := a.Publish(); err != nil {
		return err
	}
	return a.Close()
}

// cachedCopy reports whether dest is a copy of the object version key with
// header h.
func cachedCopy(dest, key string, h *npy.Header) bool {
	if key == "" || getSource(dest) != key {
		return false
	}
	a, err := mmfile.Open(dest, mmfile.ReadOnly, nil)
	if err != nil {
		return false
	}
	defer a.Close()
	got := a.Header()
	return got.DType.String() == h.DType.String() && got.FortranOrder == h.FortranOrder && fmt.Sprint(got.Shape) == fmt.Sprint(h.Shape)
}

// sliceWriter writes into a fixed slice.
type sliceWriter struct {
	b []byte
	n int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	if len(p) > len(w.b)-w.n {
		return 0, fmt.Errorf("%w: more data than the header says", npy.ErrSize)
	}
	w.n += copy(w.b[w.n:], p)
	return len(p), nil
}
