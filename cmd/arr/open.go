package main

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
	"github.com/arrfile/arrfile/remote"
)

// arrayHandle is one array that a command works on: a .npy file mapped
// through mmfile, a .npy.zst file read through codec, or an array read from
// standard input.
type arrayHandle struct {
	label    string // how errors and output name it
	format   string // "npy", "npy.zst" or "npz"
	header   *npy.Header
	fileSize int64 // -1 when unknown
	trailing int64 // bytes after the data section (.npy)
	zst      *zstInfo
	member   *npz.Member // .npz members
	// do runs fn with random access to the data section through r and, when
	// the data is in memory or mapped, the whole section as data (else nil).
	// Faults in a mapping (the file truncated by another process) come back
	// as errors.
	do func(fn func(r io.ReaderAt, data []byte) error) error
	// canonical writes the array's canonical bytes (see arr checksum) to w
	// with bounded memory.
	canonical func(w io.Writer) error
	// verify reads everything and checks every checksum the format has.
	verify func() error
	close  func() error
	// cleanup releases temporary copies (archive members).
	cleanup func()
}

// zstInfo describes the compressed file behind a .npy.zst handle.
type zstInfo struct {
	compressedSize int64
	frames         int
	seekable       bool
}

// splitMember splits "ARCHIVE.npz:KEY" into the archive and the key when
// name itself is not an existing file.
func splitMember(name string) (archive, key string, ok bool) {
	if _, err := os.Lstat(name); err == nil {
		return "", "", false
	}
	i := strings.LastIndex(name, ".npz:")
	if i < 0 {
		return "", "", false
	}
	return name[:i+4], name[i+5:], true
}

// openOptions tune how files are opened.
type openOptions struct {
	threads int  // decompression concurrency (0: all cores)
	strict  bool // refuse bytes after an .npy's data (verify)
}

// Kinds of file, told apart by their first bytes.
const (
	kindUnknown = iota
	kindNpy
	kindZstd
	kindZip
)

// sniff returns the kind of the file name from its first bytes.
func sniff(name string) (int, error) {
	f, err := os.Open(name)
	if err != nil {
		return kindUnknown, err
	}
	defer f.Close()
	return sniffFile(f)
}

// sniffFile is sniff for an open file, read from its start.
func sniffFile(f io.ReaderAt) (int, error) {
	b := make([]byte, 6)
	n, _ := f.ReadAt(b, 0)
	b = b[:n]
	switch {
	case bytes.HasPrefix(b, []byte(npy.Magic)):
		return kindNpy, nil
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return kindZstd, nil
	case len(b) >= 4 && b[0]&0xf0 == 0x50 && b[1] == 0x2a && b[2] == 0x4d && b[3] == 0x18:
		return kindZstd, nil // a skippable frame first
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")):
		return kindZip, nil
	}
	return kindUnknown, nil
}

// openArrays opens FILE as the commands accept it: an .npy file, an
// .npy.zst file, or "-" for an .npy stream on standard input.
func openArrays(name string, o openOptions) ([]*arrayHandle, error) {
	if name == "-" {
		return openStdin()
	}
	if remote.IsURL(name) {
		return openRemote(name, o)
	}
	if archive, key, ok := splitMember(name); ok {
		hs, err := openNpz(archive, key, o)
		return hs, about("open", name, err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	kind, err := sniff(name)
	if err != nil {
		return nil, err
	}
	switch kind {
	case kindZstd:
		h, err := openZst(name, o)
		if err != nil {
			return nil, err
		}
		return []*arrayHandle{h}, nil
	case kindZip:
		return openNpz(name, "", o)
	}
	h, err := openNpy(name, o)
	if err != nil {
		return nil, err
	}
	return []*arrayHandle{h}, nil
}

func openStdin() ([]*arrayHandle, error) {
	data, h, err := npy.ReadAll(stdin)
	if err != nil {
		return nil, err
	}
	return []*arrayHandle{{
		label: "-", format: "npy", header: h, fileSize: -1,
		do: func(fn func(io.ReaderAt, []byte) error) error {
			return fn(bytes.NewReader(data), data)
		},
		canonical: func(w io.Writer) error { return npy.WriteCanonical(w, h, data) },
		verify:    func() error { return nil },
		close:     func() error { return nil },
	}}, nil
}

// openNpy maps an .npy file read-only through mmfile; every access to the
// mapping goes through mmfile's fault guard.
func openNpy(name string, o openOptions) (*arrayHandle, error) {
	a, err := mmfile.Open(name, mmfile.ReadOnly, &mmfile.Options{Strict: o.strict})
	if err != nil {
		return nil, err
	}
	h := a.Header()
	f, err := a.File()
	var fi os.FileInfo
	if err == nil {
		fi, err = f.Stat()
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	do := func(fn func(io.ReaderAt, []byte) error) error {
		return a.Do(func(data []byte) error {
			return fn(bytes.NewReader(data), data)
		})
	}
	return &arrayHandle{
		label: name, format: "npy", header: h,
		fileSize: fi.Size(),
		trailing: fi.Size() - h.DataOffset - h.DataSize(),
		do:       do,
		canonical: func(w io.Writer) error {
			return do(func(_ io.ReaderAt, data []byte) error { return npy.WriteCanonical(w, h, data) })
		},
		verify: func() error {
			// Read every byte, so that unreadable or missing pages show.
			return do(func(_ io.ReaderAt, data []byte) error {
				crc32.ChecksumIEEE(data)
				return nil
			})
		},
		close: onceCloser(a.Close),
	}, nil
}

// openZst opens an .npy.zst file. Random access decompresses only the
// frames it needs; a file without seek table (made by plain zstd) is read
// front to back. The canonical bytes of a Fortran-order array (which must
// be transposed) come from a temporary decompressed copy in $TMPDIR.
func openZst(name string, o openOptions) (*arrayHandle, error) {
	r, err := npyzst.Open(name, zstdseek.WithConcurrency(o.threads))
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(name)
	if err != nil {
		r.Close()
		return nil, err
	}
	return zstHandle(r, name, fi.Size()), nil
}

// zstHandle makes the handle of an open .npy.zst reader of size bytes
// (a local file or a remote object), labelled name.
func zstHandle(r *npyzst.Reader, name string, size int64) *arrayHandle {
	frames, seekable := 0, r.Zstd().SeekTable() != nil
	if seekable {
		frames = len(r.Zstd().SeekTable().Frames)
	}
	h := r.Header
	var spilled *mmfile.Array
	var cleanup func()
	spill := func() (*mmfile.Array, error) {
		if spilled == nil {
			a, c, err := spillToTemp(r)
			if err != nil {
				return nil, about("read", name, err)
			}
			spilled, cleanup = a, c
		}
		return spilled, nil
	}
	do := func(fn func(io.ReaderAt, []byte) error) error {
		if seekable {
			d, err := r.Data()
			if err != nil {
				return err
			}
			return fn(d, nil)
		}
		// No seek table: read the data front to back.
		s, err := r.Zstd().Stream()
		if err != nil {
			return err
		}
		defer s.Close()
		if _, err := io.CopyN(io.Discard, s, h.DataOffset); err != nil {
			return err
		}
		return fn(&forwardReaderAt{r: s}, nil)
	}
	return &arrayHandle{
		label: name, format: "npy.zst", header: h, fileSize: size,
		zst: &zstInfo{compressedSize: size, frames: frames, seekable: seekable},
		do:  do,
		canonical: func(w io.Writer) error {
			if !h.FortranOrder || len(h.Shape) < 2 {
				// Storage order is C order: convert as it streams.
				cw := &canonicalWriter{w: w, dt: h.DType}
				if _, err := r.WriteDataTo(cw); err != nil {
					return err
				}
				return cw.finish()
			}
			a, err := spill()
			if err != nil {
				return err
			}
			return about("read", name, a.Do(func(data []byte) error { return npy.WriteCanonical(w, h, data) }))
		},
		verify: r.Verify,
		close: onceCloser(func() error {
			if cleanup != nil {
				cleanup()
			}
			return r.Close()
		}),
	}
}

// openNpz opens the array members of an .npz archive (only key, if given),
// labelled ARCHIVE:KEY. Stored members are read in place with random
// access; deflated ones front to back, except for the canonical bytes of a
// Fortran-order array, which come from a temporary decompressed copy.
func openNpz(archive, key string, o openOptions) ([]*arrayHandle, error) {
	z, err := npz.OpenReader(archive)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(archive)
	if err != nil {
		z.Close()
		return nil, err
	}
	return npzHandles(z, f, f.Close, archive, key)
}

// npzHandles makes the handles of the array members of the archive read by
// z from ra (only key, if given); closeRA releases ra with the last one.
func npzHandles(z *npz.Reader, ra io.ReaderAt, closeRA func() error, archive, key string) ([]*arrayHandle, error) {
	f := ra
	var members []npz.Member
	if key != "" {
		m, err := z.Member(key)
		if err != nil {
			z.Close()
			closeRA()
			return nil, err
		}
		if !m.IsNpy() {
			z.Close()
			closeRA()
			return nil, about("open", archive+":"+key, fmt.Errorf("%w: %q", npz.ErrNotNpy, m.Name))
		}
		members = []npz.Member{m}
	} else {
		for _, m := range z.Members() {
			if m.IsNpy() {
				members = append(members, m)
			}
		}
	}
	// The archive stays open until the last member's handle is closed.
	open := len(members)
	release := func() error {
		open--
		if open > 0 {
			return nil
		}
		closeRA()
		return z.Close()
	}
	if open == 0 {
		release = func() error { closeRA(); return z.Close() }
		defer release()
		return nil, errors.New("the archive holds no .npy arrays")
	}
	var hs []*arrayHandle
	fail := func(err error) ([]*arrayHandle, error) {
		for _, h := range hs {
			h.close()
		}
		for range members[len(hs):] {
			release()
		}
		return nil, err
	}
	for _, m := range members {
		h, err := npzMember(z, f, archive, m, key != "")
		if err != nil {
			return fail(about("open", archive+":"+m.Key, err))
		}
		h.close = onceCloser(func(c func()) func() error {
			return func() error { c(); return release() }
		}(h.cleanup))
		hs = append(hs, h)
	}
	return hs, nil
}

// npzMember makes the handle of one array member. Its close releases only
// the member's temporary copy; openNpz adds the archive's release. named
// says the command line named the member (ARCHIVE.npz:KEY), which its
// errors then name too.
func npzMember(z *npz.Reader, f io.ReaderAt, archive string, m npz.Member, named bool) (*arrayHandle, error) {
	errLabel := archive // what the command line named
	if named {
		errLabel = archive + ":" + m.Key
	}
	r, err := z.Open(m.Key)
	if err != nil {
		return nil, err
	}
	h := r.Header
	if need := h.DataOffset + h.DataSize(); need != m.Size {
		return nil, fmt.Errorf("%w: member %q is %d bytes, its .npy header (%s) needs %d", npz.ErrBadZip, m.Name, m.Size, h, need)
	}
	mm := m
	a := &arrayHandle{label: archive + ":" + m.Key, format: "npz", header: h, fileSize: m.CompressedSize, member: &mm}
	var spilled *mmfile.Array
	spill := func() (*mmfile.Array, error) {
		if spilled == nil {
			sa, cleanup, err := spillStream(func(w io.Writer) error {
				raw, err := z.OpenRaw(m.Key)
				if err != nil {
					return err
				}
				_, err = io.Copy(w, raw)
				return err
			})
			if err != nil {
				return nil, about("read", errLabel, err)
			}
			spilled, a.cleanup = sa, cleanup
		}
		return spilled, nil
	}
	a.cleanup = func() {}
	a.do = func(fn func(io.ReaderAt, []byte) error) error {
		if !m.Deflated {
			off, err := z.DataOffset(m.Key)
			if err != nil {
				return err
			}
			return fn(io.NewSectionReader(f, off+h.DataOffset, h.DataSize()), nil)
		}
		// Deflated: read the data front to back.
		r, err := z.Open(m.Key)
		if err != nil {
			return err
		}
		return fn(&forwardReaderAt{r: r}, nil)
	}
	a.canonical = func(w io.Writer) error {
		if !h.FortranOrder || len(h.Shape) < 2 {
			r, err := z.Open(m.Key)
			if err != nil {
				return err
			}
			cw := &canonicalWriter{w: w, dt: h.DType}
			// io.Copy reports the member's size and CRC-32 checks, which
			// come at its end instead of io.EOF.
			if _, err := io.Copy(cw, r); err != nil {
				return err
			}
			return cw.finish()
		}
		sa, err := spill()
		if err != nil {
			return err
		}
		return sa.Do(func(data []byte) error { return npy.WriteCanonical(w, h, data) })
	}
	a.verify = func() error {
		raw, err := z.OpenRaw(m.Key)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, raw)
		return err
	}
	if named {
		// Errors of the member's data name the member the command line
		// named, not the archive.
		do, canonical, verify := a.do, a.canonical, a.verify
		a.do = func(fn func(io.ReaderAt, []byte) error) error { return about("read", errLabel, do(fn)) }
		a.canonical = func(w io.Writer) error { return about("read", errLabel, canonical(w)) }
		a.verify = func() error { return about("read", errLabel, verify()) }
	}
	return a, nil
}

// spillToTemp decompresses r into a temporary .npy file and maps it.
// cleanup unmaps and removes it.
func spillToTemp(r *npyzst.Reader) (*mmfile.Array, func(), error) {
	return spillStream(func(w io.Writer) error {
		_, err := r.WriteTo(w)
		return err
	})
}

// spillLimit caps the size of temporary decompressed copies (negative:
// no cap); the fuzz tests set it.
var spillLimit int64 = -1

// spillStream writes an .npy stream into a temporary file in $TMPDIR and
// maps it. cleanup unmaps and removes it.
func spillStream(write func(io.Writer) error) (*mmfile.Array, func(), error) {
	f, err := os.CreateTemp("", "arr-*.npy")
	if err != nil {
		return nil, nil, fmt.Errorf("temporary copy for a file without random access: %w", err)
	}
	tmp := f.Name()
	var w io.Writer = f
	if spillLimit >= 0 {
		w = &limitWriter{w: f, left: spillLimit}
	}
	err = write(w)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return nil, nil, err
	}
	a, err := mmfile.Open(tmp, mmfile.ReadOnly, nil)
	if err != nil {
		os.Remove(tmp)
		return nil, nil, err
	}
	os.Remove(tmp) // the mapping stays valid (where the OS allows removing an open file)
	return a, func() { a.Close(); os.Remove(tmp) }, nil
}

// limitWriter fails once more than left bytes are written.
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, fmt.Errorf("temporary copy larger than %d bytes", spillLimit)
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

// canonicalWriter converts a C-order data stream to canonical bytes
// (npy.WriteCanonical), a whole number of elements at a time.
type canonicalWriter struct {
	w    io.Writer
	dt   *npy.DType
	part []byte // an incomplete element carried to the next Write
}

func (c *canonicalWriter) Write(p []byte) (int, error) {
	n := len(p)
	size := c.dt.Size
	if size == 0 {
		return n, nil
	}
	if len(c.part) > 0 {
		k := min(size-len(c.part), len(p))
		c.part = append(c.part, p[:k]...)
		p = p[k:]
		if len(c.part) < size {
			return n, nil
		}
		if err := c.flush(c.part); err != nil {
			return 0, err
		}
		c.part = c.part[:0]
	}
	whole := len(p) / size * size
	if whole > 0 {
		if err := c.flush(p[:whole]); err != nil {
			return 0, err
		}
	}
	c.part = append(c.part, p[whole:]...)
	return n, nil
}

func (c *canonicalWriter) flush(b []byte) error {
	h := &npy.Header{DType: c.dt, Shape: []int{len(b) / c.dt.Size}}
	return npy.WriteCanonical(c.w, h, b)
}

// finish reports a stream that ended inside an element.
func (c *canonicalWriter) finish() error {
	if len(c.part) > 0 {
		return fmt.Errorf("%w: data ends inside an element", npy.ErrTruncated)
	}
	return nil
}

// onceCloser makes a close function safe to call more than once; later
// calls return nil.
func onceCloser(f func() error) func() error {
	done := false
	return func() error {
		if done {
			return nil
		}
		done = true
		return f()
	}
}

// openHeader opens FILE for info. For standard input it reads only the
// header and leaves the data unread.
func openHeader(name string) ([]*arrayHandle, error) {
	if name != "-" {
		return openArrays(name, openOptions{})
	}
	h, err := npy.ReadHeader(stdin)
	if err != nil {
		return nil, err
	}
	unread := func() error { return fmt.Errorf("standard input: data not read") }
	return []*arrayHandle{{
		label: "-", format: "npy", header: h, fileSize: -1,
		do:        func(func(io.ReaderAt, []byte) error) error { return unread() },
		canonical: func(io.Writer) error { return unread() },
		verify:    unread,
		close:     func() error { return nil },
	}}, nil
}

// closeAll closes handles, returning the first error.
func closeAll(hs []*arrayHandle) error {
	var first error
	for _, h := range hs {
		if err := h.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// forwardReaderAt serves ReadAt calls at non-decreasing offsets from a
// stream, skipping what lies between: random access for printing from
// data that can only be read front to back.
type forwardReaderAt struct {
	r   io.Reader
	pos int64
}

func (f *forwardReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.pos {
		return 0, fmt.Errorf("internal error: backward read at %d after %d in a sequential stream", off, f.pos)
	}
	if off > f.pos {
		n, err := io.CopyN(io.Discard, f.r, off-f.pos)
		f.pos += n
		if err != nil {
			return 0, err
		}
	}
	n, err := io.ReadFull(f.r, p)
	f.pos += int64(n)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}
