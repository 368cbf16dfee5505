package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
	"github.com/arrfile/arrfile/remote"
)

// remoteOptions are the remote options from the command line.
func remoteOptions(o openOptions) []remote.Option {
	var opts []remote.Option
	if o.threads > 0 {
		opts = append(opts, remote.WithConcurrency(o.threads))
	}
	return opts
}

// splitRemoteMember splits "URL.npz:KEY" into the archive's URL and the
// key; key is "" for any other URL.
func splitRemoteMember(name string) (u, key string) {
	i := strings.LastIndex(name, ".npz:")
	if i < 0 || strings.Contains(name[i+5:], "/") || name[i+5:] == "" {
		return name, ""
	}
	return name[:i+4], name[i+5:]
}

// remoteKind opens the object at u and tells its kind from its first
// bytes (from the opening request).
func remoteKind(ctx context.Context, u string, o openOptions) (*remote.Object, int, error) {
	obj, err := remote.Open(ctx, u, remoteOptions(o)...)
	if err != nil {
		return nil, kindUnknown, err
	}
	var b [6]byte
	n, _ := obj.ReadAt(b[:], 0)
	switch p := b[:n]; {
	case bytes.HasPrefix(p, []byte(npy.Magic)):
		return obj, kindNpy, nil
	case bytes.HasPrefix(p, []byte{0x28, 0xb5, 0x2f, 0xfd}),
		len(p) >= 4 && p[0]&0xf0 == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18:
		return obj, kindZstd, nil
	case bytes.HasPrefix(p, []byte("PK\x03\x04")), bytes.HasPrefix(p, []byte("PK\x05\x06")):
		return obj, kindZip, nil
	}
	return obj, kindUnknown, nil
}

// openRemote opens an s3:// or http(s):// URL, or URL.npz:KEY, as
// openArrays opens a file: the same handles, read by range requests, and
// labelled with the URL (without credentials or query string).
func openRemote(name string, o openOptions) ([]*arrayHandle, error) {
	ctx := context.Background()
	u, key := splitRemoteMember(name)
	label := remote.Redact(u)
	obj, kind, err := remoteKind(ctx, u, o)
	if err != nil {
		return nil, err
	}
	switch {
	case key != "" || kind == kindZip:
		z, err := npz.NewReader(obj, obj.Size())
		if err != nil {
			obj.Close()
			return nil, about("open", label, err)
		}
		hs, err := npzHandles(z, obj, obj.Close, label, key)
		if key != "" {
			return hs, about("open", label+":"+key, err)
		}
		return hs, about("open", label, err)
	case kind == kindZstd:
		r, err := npyzst.NewReader(obj, obj.Size(), zstdseek.WithName(label), zstdseek.WithConcurrency(o.threads))
		if err != nil {
			obj.Close()
			return nil, about("open", label, err)
		}
		h := zstHandle(r, label, obj.Size())
		c := h.close
		h.close = onceCloser(func() error { err := c(); obj.Close(); return err })
		return []*arrayHandle{h}, nil
	}
	h, err := remoteNpy(obj, label, o)
	if err != nil {
		obj.Close()
		return nil, about("open", label, err)
	}
	return []*arrayHandle{h}, nil
}

// remoteNpy makes the handle of a remote .npy file: its header from the
// opening request, its data by range requests.
func remoteNpy(obj *remote.Object, label string, o openOptions) (*arrayHandle, error) {
	size := obj.Size()
	h, err := npy.ReadHeader(io.NewSectionReader(obj, 0, size))
	if err != nil {
		return nil, err
	}
	if err := h.CheckFileSize(size, o.strict); err != nil {
		return nil, err
	}
	data := io.NewSectionReader(obj, h.DataOffset, h.DataSize())
	a := &arrayHandle{
		label: label, format: "npy", header: h, fileSize: size,
		trailing: size - h.DataOffset - h.DataSize(),
		do: func(fn func(io.ReaderAt, []byte) error) error {
			return fn(data, nil)
		},
		verify: func() error { return copyRemote(io.Discard, data) },
		close:  onceCloser(obj.Close),
	}
	a.canonical = func(w io.Writer) error {
		if !h.FortranOrder || len(h.Shape) < 2 {
			cw := &canonicalWriter{w: w, dt: h.DType}
			if err := copyRemote(cw, data); err != nil {
				return err
			}
			return cw.finish()
		}
		// Fortran order: transposed from a temporary local copy.
		sa, cleanup, err := spillStream(func(w io.Writer) error {
			return copyRemote(w, io.NewSectionReader(obj, 0, h.DataOffset+h.DataSize()))
		})
		if err != nil {
			return err
		}
		defer cleanup()
		return sa.Do(func(d []byte) error { return npy.WriteCanonical(w, h, d) })
	}
	return a, nil
}

// copyChunk is how much copyRemote reads at once: several parts, fetched
// in parallel.
const copyChunk = 4 * remote.DefaultPartSize

// copyRemote copies r to w in large reads (each split into parallel range
// requests), not in io.Copy's small ones (a request each).
func copyRemote(w io.Writer, r *io.SectionReader) error {
	buf := make([]byte, min(r.Size(), copyChunk))
	for off := int64(0); off < r.Size(); {
		n := min(int64(len(buf)), r.Size()-off)
		if _, err := r.ReadAt(buf[:n], off); err != nil && !(err == io.EOF && n == r.Size()-off) {
			return err
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// verifyRemoteArchive verifies a whole remote .npz as verify does a local
// one; ok is false when u is not an archive (nothing was printed).
func (e *env) verifyRemoteArchive(u string) (ok bool, err error) {
	if _, key := splitRemoteMember(u); key != "" {
		return false, nil
	}
	obj, kind, err := remoteKind(context.Background(), u, openOptions{threads: e.threads})
	if err != nil {
		return true, err
	}
	defer obj.Close()
	if kind != kindZip {
		return false, nil
	}
	z, err := npz.NewReader(obj, obj.Size())
	if err == nil {
		err = z.Verify()
	}
	if err != nil {
		return true, about("verify", obj.URL(), err)
	}
	fmt.Fprintf(e.stdout, "%s: OK\n", obj.URL())
	return true, nil
}
