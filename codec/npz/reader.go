package npz

import (
	"archive/zip"
	"cmp"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/arrfile/arrfile/npy"
	"github.com/klauspost/compress/flate"
)

// Member describes one member of an archive.
type Member struct {
	// Key is the name NumPy uses for the member: the file name without
	// its ".npy" suffix (np.load(f)[key]).
	Key string
	// Name is the member's file name in the archive.
	Name string
	// Deflated reports whether the member is deflate-compressed
	// (np.savez_compressed); otherwise it is stored (np.savez).
	Deflated bool
	// CompressedSize and Size are the member's sizes in the archive and
	// decompressed (the size of the .npy file).
	CompressedSize, Size int64
	// CRC32 is the member's CRC-32 from the central directory.
	CRC32 uint32

	f *zip.File
}

// IsNpy reports whether the member is an .npy array (its name ends in
// ".npy").
func (m *Member) IsNpy() bool { return strings.HasSuffix(m.Name, ".npy") }

// Reader reads an .npz archive (a zip file of .npy members, as np.savez
// and np.savez_compressed write) member by member, streaming. It parses
// the archive with archive/zip and adds the checks untrusted input needs.
//
// Opening reads the central directory, after checking its member count
// against its size and WithMaxMembers, and the members' local headers:
// member names and keys must be unique (ErrDuplicateMember), members may
// not overlap each other or the directory, and their declared sizes must
// be possible (ErrBadZip). Member data is read on demand, capped at the
// declared size, its CRC-32 checked when its last byte is read.
//
// The methods of a Reader are safe for concurrent use, and so are the
// readers they return (each by one goroutine at a time). Readers returned
// by Open and OpenRaw fail once the Reader is closed.
type Reader struct {
	name    string // the path given to OpenReader
	ra      io.ReaderAt
	closer  io.Closer
	members []Member
	byKey   map[string]int
	cdStart int64
}

// OpenReader opens the named .npz archive. Its errors, and those of the
// Reader's methods and of the readers they return, are *fs.PathError
// values naming the archive.
func OpenReader(name string, opts ...ReaderOption) (*Reader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	z, err := newReader(f, st.Size(), name, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	z.closer = f
	return z, nil
}

// NewReader reads the directory of the .npz archive held in the size
// bytes of ra.
func NewReader(ra io.ReaderAt, size int64, opts ...ReaderOption) (*Reader, error) {
	return newReader(ra, size, "", opts)
}

func newReader(ra io.ReaderAt, size int64, name string, opts []ReaderOption) (*Reader, error) {
	cfg, err := newReaderConfig(opts)
	if err != nil {
		return nil, err
	}
	z := &Reader{name: name, ra: ra, byKey: map[string]int{}}
	if err := z.readDirectory(size, cfg.maxMembers); err != nil {
		return nil, z.pathErr("open", err)
	}
	return z, nil
}

// pathErr names the archive in err (once), if the Reader has a name.
func (z *Reader) pathErr(op string, err error) error {
	return pathErr(op, z.name, err)
}

func pathErr(op, name string, err error) error {
	var pe *fs.PathError
	if err == nil || name == "" || errors.As(err, &pe) {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// readDirectory reads the directory with archive/zip and checks it.
func (z *Reader) readDirectory(size int64, maxMembers int) error {
	end, err := readEnd(z.ra, size, maxMembers)
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(z.ra, size)
	if err != nil && err != zip.ErrInsecurePath { // names are never used as paths
		return dirErr(err, end.count)
	}
	zr.RegisterDecompressor(zip.Deflate, flate.NewReader)
	if uint64(len(zr.File)) != end.count {
		return zipErr("the central directory holds %d members, its end record says %d", len(zr.File), end.count)
	}
	var dirSize int64
	for _, f := range zr.File {
		dirSize += zipCentralLen + int64(len(f.Name)+len(f.Extra)+len(f.Comment))
	}
	if dirSize != end.size {
		return zipErr("the central directory entries take %d bytes, its end record says %d", dirSize, end.size)
	}
	z.cdStart = end.offset
	z.members = make([]Member, len(zr.File))
	for i, f := range zr.File {
		if f.CompressedSize64 > 1<<62 || f.UncompressedSize64 > 1<<62 {
			return zipErr("member %q: size out of range", f.Name)
		}
		m := Member{
			Key:            strings.TrimSuffix(f.Name, ".npy"),
			Name:           f.Name,
			Deflated:       f.Method == zip.Deflate,
			CompressedSize: int64(f.CompressedSize64),
			Size:           int64(f.UncompressedSize64),
			CRC32:          f.CRC32,
			f:              f,
		}
		if _, dup := z.byKey[m.Name]; dup {
			return fmt.Errorf("%w: %q appears twice", ErrDuplicateMember, m.Name)
		}
		z.byKey[m.Name] = i
		z.members[i] = m
	}
	// Keys: "x.npy" is reachable as "x" unless a member is literally
	// named "x" (NumPy would make that ambiguous too: reject it).
	for i := range z.members {
		m := &z.members[i]
		if m.Key != m.Name {
			if _, dup := z.byKey[m.Key]; dup {
				return fmt.Errorf("%w: %q and %q have the same key", ErrDuplicateMember, m.Key, m.Name)
			}
			z.byKey[m.Key] = i
		}
	}
	return z.checkLayout()
}

// dirErr describes an error of archive/zip reading the directory that
// readEnd found whole: a malformed entry, or fewer entries than the end
// record lists (archive/zip reads entries until one fails).
func dirErr(err error, count uint64) error {
	if errors.Is(err, zip.ErrFormat) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return zipErr("the central directory does not hold the %d well-formed entries its end record lists", count)
	}
	return fmt.Errorf("npz: reading the central directory: %w", err)
}

// checkLayout checks that the members' declared sizes are possible and
// that their data lies before the central directory without overlapping.
func (z *Reader) checkLayout() error {
	for i := range z.members {
		m := &z.members[i]
		switch m.f.Method {
		case zip.Store:
			if m.CompressedSize != m.Size {
				return zipErr("stored member %q: compressed size %d differs from size %d", m.Name, m.CompressedSize, m.Size)
			}
		case zip.Deflate:
			if m.Size/maxDeflateRatio > m.CompressedSize+1 {
				return zipErr("member %q claims %d bytes from %d deflated bytes, more than deflate can expand (zip bomb?)", m.Name, m.Size, m.CompressedSize)
			}
		}
	}
	// Each member takes at least its local header's fixed part and name
	// before its data, and its compressed bytes after.
	type span struct {
		start, data, end int64
		m                *Member
	}
	spans := make([]span, len(z.members))
	for i := range z.members {
		m := &z.members[i]
		off, err := z.dataOffset(m)
		if err != nil {
			return err
		}
		spans[i] = span{off - zipLocalLen - int64(len(m.Name)), off, off + m.CompressedSize, m}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for k, s := range spans {
		limit := z.cdStart
		if k+1 < len(spans) {
			limit = spans[k+1].start
		}
		if s.start < 0 || s.end > limit || s.end < s.data {
			return zipErr("member %q (data at %d, %d compressed bytes) overlaps the next member or the directory at %d", s.m.Name, s.data, s.m.CompressedSize, limit)
		}
	}
	return nil
}

// dataOffset returns where the member's (compressed) bytes start, from
// its local header, after checking that they end before the central
// directory.
func (z *Reader) dataOffset(m *Member) (int64, error) {
	off, err := m.f.DataOffset()
	switch {
	case errors.Is(err, zip.ErrFormat):
		return 0, zipErr("member %q: no local header where the directory says", m.Name)
	case err != nil:
		return 0, readErr(err, fmt.Sprintf("reading the local header of %q", m.Name))
	case off < 0 || off > z.cdStart || m.CompressedSize > z.cdStart-off:
		return 0, zipErr("member %q: data (offset %d, %d bytes) runs into the central directory at %d", m.Name, off, m.CompressedSize, z.cdStart)
	}
	return off, nil
}

// Close closes the file opened by OpenReader; for a Reader from NewReader
// it does nothing.
func (z *Reader) Close() error {
	if z.closer != nil {
		return z.closer.Close()
	}
	return nil
}

// Members returns the members in central directory order, as NumPy's
// NpzFile.files lists their keys.
func (z *Reader) Members() []Member { return slices.Clone(z.members) }

// Member returns the member with the given key (or full member name).
func (z *Reader) Member(key string) (Member, error) {
	m, err := z.member(key)
	if err != nil {
		return Member{}, err
	}
	return *m, nil
}

func (z *Reader) member(key string) (*Member, error) {
	i, ok := z.byKey[key]
	if !ok {
		return nil, z.pathErr("open", fmt.Errorf("%w: %q", ErrNoMember, key))
	}
	return &z.members[i], nil
}

// OpenRaw returns a reader of the decompressed bytes of the member with
// the given key (the whole .npy file for an array member). It returns at
// most the declared size, and with the last bytes it reports the end
// checks instead of io.EOF: ErrTruncated if the member is short, ErrBadZip
// if its data runs on, ErrChecksum if the CRC-32 differs.
func (z *Reader) OpenRaw(key string) (io.Reader, error) {
	m, err := z.member(key)
	if err != nil {
		return nil, err
	}
	return z.openRaw(m)
}

func (z *Reader) openRaw(m *Member) (*memberReader, error) {
	if m.f.Flags&1 != 0 {
		return nil, z.pathErr("open", fmt.Errorf("%w: member %q is encrypted", ErrUnsupported, m.Name))
	}
	if m.f.Method != zip.Store && m.f.Method != zip.Deflate {
		return nil, z.pathErr("open", fmt.Errorf("%w: member %q uses compression method %d (only stored and deflate are supported)", ErrUnsupported, m.Name, m.f.Method))
	}
	if _, err := z.dataOffset(m); err != nil {
		return nil, z.pathErr("open", err)
	}
	rc, err := m.f.Open()
	if err != nil {
		return nil, z.pathErr("open", memberErr(m, 0, err))
	}
	r := &memberReader{z: z, m: m, rc: rc}
	if m.CRC32 == 0 {
		// archive/zip skips the check when the directory's CRC-32 is 0
		// (as unset by some writers): check it here.
		r.crc = crc32.NewIEEE()
	}
	return r, nil
}

// Open opens the array member with the given key and reads its .npy
// header: the returned reader has the Header, and its Read returns the raw
// data bytes (in the file's byte order and memory order). Nothing else is
// read, so Open is also how to get a member's header cheaply. The member
// must be an .npy file (ErrNotNpy otherwise) whose header is within
// npy.DefaultMaxHeaderSize and accounts for the member's size exactly
// (ErrBadZip otherwise). Read reports the OpenRaw end checks with the last
// data bytes.
func (z *Reader) Open(key string) (*npy.Reader, error) {
	m, err := z.member(key)
	if err != nil {
		return nil, err
	}
	return z.open(m)
}

func (z *Reader) open(m *Member) (*npy.Reader, error) {
	if !m.IsNpy() {
		return nil, z.pathErr("open", fmt.Errorf("%w: %q", ErrNotNpy, m.Name))
	}
	raw, err := z.openRaw(m)
	if err != nil {
		return nil, err
	}
	nr, err := npy.NewReader(raw)
	if err != nil {
		return nil, raw.wrap("open", err)
	}
	if err := z.checkNpySize(m, nr.Header); err != nil {
		return nil, err
	}
	return nr, nil
}

func (z *Reader) checkNpySize(m *Member, h *npy.Header) error {
	if need := h.DataOffset + h.DataSize(); need != m.Size {
		return z.pathErr("open", zipErr("member %q is %d bytes, its .npy header (%s) needs %d", m.Name, m.Size, h, need))
	}
	return nil
}

// DataOffset returns where the stored array member key starts in the
// archive: the offset of its .npy header, whose DataOffset then gives the
// array data's offset. A stored member's bytes are the .npy file itself,
// so they can be used in place, for example mapped with
// mmfile.OpenSection(name, off, ...). Deflated members
// (np.savez_compressed, WithDeflate) have no such bytes (ErrUnsupported).
//
// DataOffset checks the member's local header and .npy header as Open
// does, but reads no data, so the member's CRC-32 is not checked (Verify
// does that). The data's alignment is that of its offset: WithAlignment(64)
// aligns every stored member's data to 64 bytes; np.savez does not align.
func (z *Reader) DataOffset(key string) (int64, error) {
	m, err := z.member(key)
	if err != nil {
		return 0, err
	}
	if m.IsNpy() && m.Deflated {
		return 0, z.pathErr("open", fmt.Errorf("%w: member %q is deflated (np.savez_compressed) and has no bytes to use in place; read it with Open or Read", ErrUnsupported, m.Name))
	}
	if _, err := z.open(m); err != nil {
		return 0, err
	}
	off, err := z.dataOffset(m)
	return off, z.pathErr("open", err)
}

// Read reads the array member key whose dtype matches T, converting to
// the machine's byte order (as npy.Read), and checks the member's CRC-32.
func Read[T npy.Elem](z *Reader, key string) ([]T, *npy.Header, error) {
	m, err := z.member(key)
	if err != nil {
		return nil, nil, err
	}
	if !m.IsNpy() {
		return nil, nil, z.pathErr("open", fmt.Errorf("%w: %q", ErrNotNpy, m.Name))
	}
	raw, err := z.openRaw(m)
	if err != nil {
		return nil, nil, err
	}
	data, h, err := npy.Read[T](raw)
	if err != nil {
		return nil, nil, raw.wrap("read", err)
	}
	if err := z.checkNpySize(m, h); err != nil {
		return nil, nil, err
	}
	// npy.Read stops at the end of the data, which is the member's end:
	// its checks have run; collect their verdict.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return nil, nil, err
	}
	return data, h, nil
}

// Verify reads every member to its end, checking sizes and CRC-32s, and
// the .npy header of every array member.
func (z *Reader) Verify() error {
	for i := range z.members {
		m := &z.members[i]
		var r io.Reader
		var err error
		if m.IsNpy() {
			r, err = z.open(m)
		} else {
			r, err = z.openRaw(m)
		}
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
	}
	return nil
}

// memberReader reads a member through archive/zip, which checks its size
// and CRC-32 at the end. It caps reads at the declared size and reports the
// end checks with the last bytes, so that a reader that stops at the
// declared size (as npy.Reader does at the end of the data) sees them.
type memberReader struct {
	z   *Reader
	m   *Member
	rc  io.ReadCloser
	crc hash.Hash32 // when the directory's CRC-32 is 0
	n   int64
	err error
}

func (r *memberReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if rem := r.m.Size - r.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	var n int
	var err error
	if len(p) > 0 {
		n, err = r.rc.Read(p)
		r.n += int64(n)
		if r.crc != nil {
			r.crc.Write(p[:n])
		}
	}
	if err == nil && r.n == r.m.Size {
		err = r.finish()
	}
	if err == nil {
		return n, nil
	}
	r.err = err
	if err != io.EOF {
		r.err = r.z.pathErr("read", memberErr(r.m, r.n, err))
	} else if r.n < r.m.Size {
		r.err = r.z.pathErr("read", memberErr(r.m, r.n, io.ErrUnexpectedEOF))
	}
	if n > 0 && r.err == io.EOF {
		return n, nil
	}
	return n, r.err
}

// wrap names the member in an error of the .npy reader reading it, unless
// the error is the member reader's own, which names it already.
func (r *memberReader) wrap(op string, err error) error {
	if r.err != nil && r.err != io.EOF && errors.Is(err, r.err) {
		return err
	}
	return r.z.pathErr(op, fmt.Errorf("member %q: %w", r.m.Name, err))
}

// finish reads past the declared size, where archive/zip checks the size
// and the CRC-32: it returns io.EOF if they hold.
func (r *memberReader) finish() error {
	var one [1]byte
	for range 100 {
		n, err := r.rc.Read(one[:])
		if n > 0 {
			return zip.ErrFormat // archive/zip reports the same
		}
		if err != nil {
			if err == io.EOF && r.crc != nil && r.crc.Sum32() != 0 {
				return zip.ErrChecksum
			}
			return err
		}
	}
	return io.ErrNoProgress
}

// memberErr describes an error reading member m after n bytes.
func memberErr(m *Member, n int64, err error) error {
	switch {
	case errors.Is(err, zip.ErrChecksum):
		return fmt.Errorf("%w: member %q does not match its CRC-32 0x%08X", ErrChecksum, m.Name, m.CRC32)
	case errors.Is(err, zip.ErrFormat):
		if n >= m.Size {
			return zipErr("member %q inflates to more than its declared %d bytes", m.Name, m.Size)
		}
		return zipErr("member %q: %w", m.Name, err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: member %q ends after %d of %d bytes: %w", ErrTruncated, m.Name, n, m.Size, io.ErrUnexpectedEOF)
	}
	return zipErr("member %q: %w", m.Name, err)
}
