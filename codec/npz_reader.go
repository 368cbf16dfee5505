package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sort"
	"strings"

	"github.com/arrfile/arrfile/npy"
	"github.com/klauspost/compress/flate"
)

// Zip record signatures and sizes (APPNOTE.TXT).
const (
	zipLocalSig      = 0x04034b50
	zipCentralSig    = 0x02014b50
	zipEOCDSig       = 0x06054b50
	zip64EOCDSig     = 0x06064b50
	zip64LocatorSig  = 0x07064b50
	zipDescriptorSig = 0x08074b50

	zipLocalLen     = 30
	zipCentralLen   = 46
	zipEOCDLen      = 22
	zip64EOCDLen    = 56
	zip64LocatorLen = 20

	zipStored  = 0
	zipDeflate = 8

	zip64ExtraID = 0x0001
	alignExtraID = 0xD935

	// maxDeflateRatio bounds uncompressed/compressed for deflate: a
	// deflate stream cannot expand data more than about 1032:1.
	maxDeflateRatio = 1032
)

// NpzMember describes one member of an .npz archive.
type NpzMember struct {
	// Key is the name NumPy uses for the member: the file name without
	// its ".npy" suffix (np.load(f)[key]).
	Key string
	// Name is the member's file name in the archive.
	Name string
	// Deflated reports whether the member is deflate-compressed
	// (np.savez_compressed); otherwise it is stored.
	Deflated bool
	// CompressedSize and Size are the member's sizes in the archive and
	// decompressed (the size of the .npy file).
	CompressedSize, Size int64
	// CRC32 is the member's CRC-32 from the central directory.
	CRC32 uint32

	method uint16
	flags  uint16
	lho    int64 // local header offset
}

// IsNpy reports whether the member is an .npy array (its name ends in
// ".npy").
func (m *NpzMember) IsNpy() bool { return strings.HasSuffix(m.Name, ".npy") }

// CheckName returns an error wrapping ErrInsecureName if name could escape
// a folder when used as a path: empty, absolute, with a ".." element, a
// backslash, a drive letter or a NUL byte. Readers list such members but
// never create paths; writers refuse such keys.
func CheckName(name string) error {
	bad := name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") ||
		(len(name) >= 2 && name[1] == ':')
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("%w: %q", ErrInsecureName, name)
	}
	return nil
}

// NpzReader reads an .npz archive (a zip file of .npy members, as np.savez
// and np.savez_compressed write) member by member, streaming.
//
// Opening reads only the central directory, after checking its record
// count against its size, the file size and WithMaxMembers; member names
// must be unique (ErrDuplicateMember) and members may not overlap or claim
// sizes their compressed bytes cannot hold. Member data is read on demand,
// its decompressed size capped at the declared size and its CRC-32 checked
// at the end. Methods are safe for concurrent use.
type NpzReader struct {
	ra      io.ReaderAt
	size    int64
	name    string
	closer  io.Closer
	members []NpzMember
	byKey   map[string]int
	cdStart int64
}

// OpenNpz opens the named .npz archive. Options: WithMaxMembers.
func OpenNpz(name string, opts ...Option) (*NpzReader, error) {
	z, f, err := openNamed(name, opts, NewNpzReader)
	if err != nil {
		return nil, err
	}
	z.closer = f
	return z, nil
}

// NewNpzReader reads the directory of the .npz archive held in the size
// bytes of ra. Options: WithMaxMembers, WithName.
func NewNpzReader(ra io.ReaderAt, size int64, opts ...Option) (*NpzReader, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	z := &NpzReader{ra: ra, size: size, name: cfg.name, byKey: map[string]int{}}
	if err := z.readDirectory(cfg.maxMembers); err != nil {
		return nil, nameErr(z.name, err)
	}
	return z, nil
}

func zipErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadZip}, args...)...)
}

// readDirectory finds the end of central directory record (and its ZIP64
// form) and parses the central directory.
func (z *NpzReader) readDirectory(maxMembers int) error {
	if z.size < zipEOCDLen {
		return zipErr("%d-byte file is too short for a zip archive", z.size)
	}
	// The EOCD record is followed only by its comment (at most 65535
	// bytes): search the tail backwards for a signature whose comment
	// length reaches exactly the end of the file.
	tailLen := min(z.size, zipEOCDLen+0xFFFF)
	tail := make([]byte, tailLen)
	if err := readFullAt(z.ra, tail, z.size-tailLen); err != nil {
		return readErr(err, "reading the zip directory end")
	}
	eocd := -1
	for i := len(tail) - zipEOCDLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) == zipEOCDSig &&
			i+zipEOCDLen+int(binary.LittleEndian.Uint16(tail[i+20:])) == len(tail) {
			eocd = i
			break
		}
	}
	if eocd < 0 {
		var magic [4]byte
		if readFullAt(z.ra, magic[:], 0) == nil && string(magic[:]) == npy.Magic[:4] {
			return zipErr("this is an .npy file, not an .npz archive")
		}
		return zipErr("no end of central directory record (not a zip file)")
	}
	eocdPos := z.size - tailLen + int64(eocd)
	e := tail[eocd:]
	count := uint64(binary.LittleEndian.Uint16(e[10:]))
	cdSize := uint64(binary.LittleEndian.Uint32(e[12:]))
	cdOff := uint64(binary.LittleEndian.Uint32(e[16:]))
	if binary.LittleEndian.Uint16(e[4:]) != 0 || binary.LittleEndian.Uint16(e[6:]) != 0 {
		return zipErr("multi-disk archives are not supported")
	}
	dirEnd := eocdPos
	if count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOff == 0xFFFFFFFF {
		// ZIP64: the locator sits right before the EOCD record.
		if eocdPos < zip64LocatorLen {
			return zipErr("ZIP64 locator missing")
		}
		var loc [zip64LocatorLen]byte
		if err := readFullAt(z.ra, loc[:], eocdPos-zip64LocatorLen); err != nil {
			return readErr(err, "reading the ZIP64 locator")
		}
		if binary.LittleEndian.Uint32(loc[:]) == zip64LocatorSig {
			recOff := binary.LittleEndian.Uint64(loc[8:])
			if recOff > uint64(eocdPos-zip64LocatorLen) || uint64(eocdPos-zip64LocatorLen)-recOff < zip64EOCDLen {
				return zipErr("ZIP64 end record offset %d outside the archive", recOff)
			}
			var rec [zip64EOCDLen]byte
			if err := readFullAt(z.ra, rec[:], int64(recOff)); err != nil {
				return readErr(err, "reading the ZIP64 end record")
			}
			if binary.LittleEndian.Uint32(rec[:]) != zip64EOCDSig {
				return zipErr("bad ZIP64 end record signature at offset %d", recOff)
			}
			count = binary.LittleEndian.Uint64(rec[32:])
			cdSize = binary.LittleEndian.Uint64(rec[40:])
			cdOff = binary.LittleEndian.Uint64(rec[48:])
			dirEnd = int64(recOff)
		} else if count == 0xFFFF && cdSize != 0xFFFFFFFF && cdOff != 0xFFFFFFFF {
			// Exactly 65535 members without ZIP64: a plain count.
		} else {
			return zipErr("ZIP64 sizes without a ZIP64 locator")
		}
	}
	if cdOff > uint64(dirEnd) || cdSize > uint64(dirEnd)-cdOff {
		return zipErr("central directory (offset %d, %d bytes) extends past its end record at %d", cdOff, cdSize, dirEnd)
	}
	if count > uint64(maxMembers) {
		return fmt.Errorf("%w: %d members, limit %d (see WithMaxMembers)", ErrTooManyMembers, count, maxMembers)
	}
	if count > cdSize/zipCentralLen {
		return zipErr("%d members cannot fit in a %d-byte central directory", count, cdSize)
	}
	z.cdStart = int64(cdOff)
	cd := make([]byte, cdSize)
	if err := readFullAt(z.ra, cd, int64(cdOff)); err != nil {
		return readErr(err, "reading the central directory")
	}
	z.members = make([]NpzMember, 0, count)
	p := cd
	for i := uint64(0); i < count; i++ {
		m, rest, err := parseCentral(p)
		if err != nil {
			return fmt.Errorf("central directory entry %d: %w", i, err)
		}
		p = rest
		if _, dup := z.byKey[m.Name]; dup {
			return fmt.Errorf("%w: %q appears twice", ErrDuplicateMember, m.Name)
		}
		z.byKey[m.Name] = len(z.members)
		z.members = append(z.members, m)
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

// parseCentral parses one central directory entry at the start of p.
func parseCentral(p []byte) (NpzMember, []byte, error) {
	var m NpzMember
	if len(p) < zipCentralLen {
		return m, nil, zipErr("truncated entry")
	}
	if binary.LittleEndian.Uint32(p) != zipCentralSig {
		return m, nil, zipErr("bad signature 0x%08X", binary.LittleEndian.Uint32(p))
	}
	m.flags = binary.LittleEndian.Uint16(p[8:])
	m.method = binary.LittleEndian.Uint16(p[10:])
	m.CRC32 = binary.LittleEndian.Uint32(p[16:])
	csize := uint64(binary.LittleEndian.Uint32(p[20:]))
	usize := uint64(binary.LittleEndian.Uint32(p[24:]))
	nameLen := int(binary.LittleEndian.Uint16(p[28:]))
	extraLen := int(binary.LittleEndian.Uint16(p[30:]))
	commentLen := int(binary.LittleEndian.Uint16(p[32:]))
	lho := uint64(binary.LittleEndian.Uint32(p[42:]))
	total := zipCentralLen + nameLen + extraLen + commentLen
	if len(p) < total {
		return m, nil, zipErr("entry runs past the end of the central directory")
	}
	m.Name = string(p[zipCentralLen : zipCentralLen+nameLen])
	extra := p[zipCentralLen+nameLen : zipCentralLen+nameLen+extraLen]
	needU, needC, needO := usize == 0xFFFFFFFF, csize == 0xFFFFFFFF, lho == 0xFFFFFFFF
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		sz := int(binary.LittleEndian.Uint16(extra[2:]))
		if len(extra) < 4+sz {
			return m, nil, zipErr("member %q: extra field runs past its end", m.Name)
		}
		body := extra[4 : 4+sz]
		if id == zip64ExtraID {
			take := func(need bool, v *uint64) bool {
				if !need {
					return true
				}
				if len(body) < 8 {
					return false
				}
				*v = binary.LittleEndian.Uint64(body)
				body = body[8:]
				return true
			}
			if !take(needU, &usize) || !take(needC, &csize) || !take(needO, &lho) {
				return m, nil, zipErr("member %q: ZIP64 extra field too short", m.Name)
			}
			needU, needC, needO = false, false, false
		}
		extra = extra[4+sz:]
	}
	if needU || needC || needO {
		return m, nil, zipErr("member %q: ZIP64 sizes without a ZIP64 extra field", m.Name)
	}
	if csize > 1<<62 || usize > 1<<62 || lho > 1<<62 {
		return m, nil, zipErr("member %q: size or offset out of range", m.Name)
	}
	m.CompressedSize, m.Size, m.lho = int64(csize), int64(usize), int64(lho)
	m.Deflated = m.method == zipDeflate
	m.Key = strings.TrimSuffix(m.Name, ".npy")
	return m, p[total:], nil
}

// checkLayout checks that members lie before the central directory without
// overlapping, and that their declared sizes are possible.
func (z *NpzReader) checkLayout() error {
	order := make([]int, len(z.members))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return z.members[order[a]].lho < z.members[order[b]].lho })
	for k, i := range order {
		m := &z.members[i]
		end := m.lho + zipLocalLen + int64(len(m.Name)) + m.CompressedSize
		limit := z.cdStart
		if k+1 < len(order) {
			limit = z.members[order[k+1]].lho
		}
		if m.lho < 0 || end > limit || end < m.lho {
			return zipErr("member %q (local header at %d, %d compressed bytes) overlaps the next member or the directory at %d", m.Name, m.lho, m.CompressedSize, limit)
		}
		switch m.method {
		case zipStored:
			if m.CompressedSize != m.Size {
				return zipErr("stored member %q: compressed size %d differs from size %d", m.Name, m.CompressedSize, m.Size)
			}
		case zipDeflate:
			if m.Size/maxDeflateRatio > m.CompressedSize+1 {
				return zipErr("member %q claims %d bytes from %d deflated bytes, more than deflate can expand (zip bomb?)", m.Name, m.Size, m.CompressedSize)
			}
		}
	}
	return nil
}

// Name returns the archive's file name given by OpenNpz or WithName.
func (z *NpzReader) Name() string { return z.name }

// Close closes the file opened by OpenNpz.
func (z *NpzReader) Close() error {
	if z.closer != nil {
		return z.closer.Close()
	}
	return nil
}

// Members returns the members in central directory order.
func (z *NpzReader) Members() []NpzMember { return append([]NpzMember(nil), z.members...) }

// Keys returns the members' keys in central directory order, as NumPy's
// NpzFile.files lists them.
func (z *NpzReader) Keys() []string {
	keys := make([]string, len(z.members))
	for i, m := range z.members {
		keys[i] = m.Key
	}
	return keys
}

// Member returns the member with the given key (or full member name).
func (z *NpzReader) Member(key string) (NpzMember, error) {
	i, ok := z.byKey[key]
	if !ok {
		return NpzMember{}, nameErr(z.name, fmt.Errorf("%w: %q", ErrNoMember, key))
	}
	return z.members[i], nil
}

// memberData locates the member's data after reading and checking its local
// header, returning the archive offset of its (compressed) data.
func (z *NpzReader) memberData(m *NpzMember) (int64, error) {
	if m.flags&1 != 0 {
		return 0, fmt.Errorf("%w: member %q is encrypted", ErrUnsupported, m.Name)
	}
	if m.method != zipStored && m.method != zipDeflate {
		return 0, fmt.Errorf("%w: member %q uses compression method %d (only stored and deflate are supported)", ErrUnsupported, m.Name, m.method)
	}
	var h [zipLocalLen]byte
	if err := readFullAt(z.ra, h[:], m.lho); err != nil {
		return 0, readErr(err, fmt.Sprintf("reading the local header of %q", m.Name))
	}
	if binary.LittleEndian.Uint32(h[:]) != zipLocalSig {
		return 0, zipErr("member %q: no local header at offset %d", m.Name, m.lho)
	}
	if binary.LittleEndian.Uint16(h[8:]) != m.method {
		return 0, zipErr("member %q: local header method %d, directory says %d", m.Name, binary.LittleEndian.Uint16(h[8:]), m.method)
	}
	nameLen := int64(binary.LittleEndian.Uint16(h[26:]))
	extraLen := int64(binary.LittleEndian.Uint16(h[28:]))
	if nameLen != int64(len(m.Name)) {
		return 0, zipErr("member %q: local header name length %d differs from the directory", m.Name, nameLen)
	}
	name := make([]byte, nameLen)
	if err := readFullAt(z.ra, name, m.lho+zipLocalLen); err != nil {
		return 0, readErr(err, fmt.Sprintf("reading the local header of %q", m.Name))
	}
	if string(name) != m.Name {
		return 0, zipErr("member %q: local header names it %q", m.Name, name)
	}
	off := m.lho + zipLocalLen + nameLen + extraLen
	if off+m.CompressedSize > z.cdStart {
		return 0, zipErr("member %q: data (offset %d, %d bytes) runs into the central directory at %d", m.Name, off, m.CompressedSize, z.cdStart)
	}
	return off, nil
}

// OpenRaw returns a reader of the member's decompressed bytes (the whole
// .npy file for an array member). The reader returns at most the declared
// size; at the end it checks the size (ErrTruncated if short, ErrBadZip if
// the data runs on) and the CRC-32 (ErrChecksum), reporting them instead of
// io.EOF.
func (z *NpzReader) OpenRaw(key string) (io.ReadCloser, error) {
	m, err := z.Member(key)
	if err != nil {
		return nil, err
	}
	off, err := z.memberData(&m)
	if err != nil {
		return nil, nameErr(z.name, err)
	}
	src := io.NewSectionReader(z.ra, off, m.CompressedSize)
	mr := &memberReader{m: m, name: z.name, crc: crc32.NewIEEE()}
	if m.Deflated {
		fr := flate.NewReader(src)
		mr.closer = fr
		mr.r = fr
	} else {
		mr.r = src
	}
	return mr, nil
}

// memberReader caps a member's data at its declared size and verifies it.
type memberReader struct {
	m      NpzMember
	name   string
	r      io.Reader
	closer io.Closer
	crc    hash.Hash32
	n      int64
	err    error
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
		n, err = r.r.Read(p)
		r.crc.Write(p[:n])
		r.n += int64(n)
	}
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: member %q ends after %d of %d bytes: %w", ErrTruncated, r.m.Name, r.n, r.m.Size, err)
		} else {
			err = fmt.Errorf("%w: member %q: %w", ErrBadZip, r.m.Name, err)
		}
		r.err = nameErr(r.name, err)
		return n, r.err
	}
	if r.n == r.m.Size {
		r.err = r.finish()
		if n > 0 && r.err == io.EOF {
			return n, nil
		}
		return n, r.err
	}
	if err == io.EOF {
		r.err = nameErr(r.name, fmt.Errorf("%w: member %q ends after %d of %d bytes: %w", ErrTruncated, r.m.Name, r.n, r.m.Size, io.ErrUnexpectedEOF))
		return n, r.err
	}
	return n, nil
}

// finish checks that nothing follows the declared size and the CRC.
func (r *memberReader) finish() error {
	if r.m.Deflated {
		var one [1]byte
		if k, _ := io.ReadFull(r.r, one[:]); k > 0 {
			return nameErr(r.name, fmt.Errorf("%w: member %q inflates to more than its declared %d bytes", ErrBadZip, r.m.Name, r.m.Size))
		}
	}
	if got := r.crc.Sum32(); got != r.m.CRC32 {
		return nameErr(r.name, fmt.Errorf("%w: member %q CRC-32 0x%08X, directory says 0x%08X", ErrChecksum, r.m.Name, got, r.m.CRC32))
	}
	return io.EOF
}

func (r *memberReader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// NpzArrayReader reads one array member: its header, then its raw data
// bytes through Read (in the file's byte order and memory order), checked
// as OpenRaw describes once the data is read to the end.
type NpzArrayReader struct {
	// Header is the member's .npy header.
	Header *npy.Header
	raw    io.ReadCloser
	npy    *npy.Reader
}

// Open opens the array member with the given key. The member must be an
// .npy file (ErrNotNpy otherwise) whose header is within
// npy.DefaultMaxHeaderSize and whose size matches the member size.
func (z *NpzReader) Open(key string) (*NpzArrayReader, error) {
	m, err := z.Member(key)
	if err != nil {
		return nil, err
	}
	if !m.IsNpy() {
		return nil, nameErr(z.name, fmt.Errorf("%w: %q", ErrNotNpy, m.Name))
	}
	raw, err := z.OpenRaw(key)
	if err != nil {
		return nil, err
	}
	nr, err := npy.NewReader(raw)
	if err != nil {
		raw.Close()
		return nil, nameErr(z.name, fmt.Errorf("member %q: %w", m.Name, err))
	}
	h := nr.Header
	if h.DataOffset+h.DataSize() != m.Size {
		raw.Close()
		return nil, nameErr(z.name, fmt.Errorf("%w: member %q is %d bytes, its .npy header (%s) needs %d", ErrBadZip, m.Name, m.Size, h, h.DataOffset+h.DataSize()))
	}
	return &NpzArrayReader{Header: h, raw: raw, npy: nr}, nil
}

// Read reads raw data bytes.
func (r *NpzArrayReader) Read(p []byte) (int, error) {
	n, err := r.npy.Read(p)
	if err == io.EOF {
		// Let the member reader check size and CRC.
		var one [1]byte
		if _, cerr := r.raw.Read(one[:]); cerr != io.EOF {
			return n, cerr
		}
	}
	return n, err
}

// Close releases the member.
func (r *NpzArrayReader) Close() error { return r.raw.Close() }

// Header returns the header of the array member with the given key,
// decompressing only the first bytes of the member.
func (z *NpzReader) Header(key string) (*npy.Header, error) {
	r, err := z.Open(key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Header, nil
}

// ArrayOffset returns where a stored array member's data starts in the
// archive, with its header, so that the data can be used in place (for
// example from a memory mapping of the archive). Deflated members have no
// such offset (ErrUnsupported). Check the alignment you need: files written
// with WithAlignment(64) start every stored array at a multiple of 64.
func (z *NpzReader) ArrayOffset(key string) (int64, *npy.Header, error) {
	m, err := z.Member(key)
	if err != nil {
		return 0, nil, err
	}
	if m.Deflated {
		return 0, nil, nameErr(z.name, fmt.Errorf("%w: member %q is deflated and cannot be used in place", ErrUnsupported, m.Name))
	}
	h, err := z.Header(key)
	if err != nil {
		return 0, nil, err
	}
	off, err := z.memberData(&m)
	if err != nil {
		return 0, nil, nameErr(z.name, err)
	}
	return off + h.DataOffset, h, nil
}

// ReadNpz reads the array member key whose dtype matches T, converting to
// the machine's byte order (as npy.Read), and verifies the member's CRC.
func ReadNpz[T npy.Elem](z *NpzReader, key string) ([]T, *npy.Header, error) {
	raw, err := z.OpenRaw(key)
	if err != nil {
		return nil, nil, err
	}
	defer raw.Close()
	m, _ := z.Member(key)
	if !m.IsNpy() {
		return nil, nil, nameErr(z.name, fmt.Errorf("%w: %q", ErrNotNpy, m.Name))
	}
	data, h, err := npy.Read[T](raw)
	if err != nil {
		return nil, nil, nameErr(z.name, fmt.Errorf("member %q: %w", m.Name, err))
	}
	if h.DataOffset+h.DataSize() != m.Size {
		return nil, nil, nameErr(z.name, fmt.Errorf("%w: member %q is %d bytes, its .npy header (%s) needs %d", ErrBadZip, m.Name, m.Size, h, h.DataOffset+h.DataSize()))
	}
	// npy.Read stops at the end of the data: finish the member to check
	// its CRC.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return nil, nil, err
	}
	return data, h, nil
}

// Verify reads every member to its end, checking sizes and CRC-32s, and
// the .npy header of every array member.
func (z *NpzReader) Verify() error {
	for _, m := range z.members {
		if m.IsNpy() {
			r, err := z.Open(m.Key)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, r)
			r.Close()
			if err != nil {
				return err
			}
			continue
		}
		r, err := z.OpenRaw(m.Name)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r)
		r.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
