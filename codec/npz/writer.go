package npz

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"strings"

	"github.com/arrfile/arrfile/npy"
	"github.com/klauspost/compress/flate"
)

// zipDate is the MS-DOS date NumPy's members carry (1980-01-01, the zip
// epoch, Python's ZipInfo default); the time is 0.
const zipDate = 0x21

// Writer writes an .npz archive member by member, streaming, in the layout
// np.savez (stored) and np.savez_compressed (deflate, WithDeflate)
// produce: every local header carries a ZIP64 extra field (NumPy opens
// members with force_zip64), ZIP64 directory records are added only when
// sizes, offsets or the member count need them, and the archive opens with
// np.load. Copying the .npy files np.savez would store gives an archive
// byte-identical to np.savez's. With WithAlignment, each member's array
// data is aligned so it can be used in place.
//
// When the destination is an io.WriterAt and io.Seeker (an *os.File), each
// local header is completed in place after its member, as Python's zipfile
// does; for other destinations (pipes, buffers) a ZIP64 data descriptor
// follows each member.
//
// The Writer is our own code, not archive/zip's Writer, because NumPy's
// layout needs what that one cannot do: a ZIP64 extra field in the local
// header but not in the directory, local headers completed in place instead
// of data descriptors, and ZIP64 directory fields only where needed.
//
// One member is written at a time; a Writer is not safe for concurrent
// use.
type Writer struct {
	w       io.Writer
	wa      io.WriterAt // nil: use data descriptors
	base    int64       // offset of the archive start in wa
	off     int64       // bytes written so far
	cfg     writerConfig
	name    string // for errors: the path given to Create
	entries []zipEntry
	keys    map[string]bool
	cur     *memberWriter
	err     error
	closed  bool
	publish func(error) error // set by Create
}

type zipEntry struct {
	name         string
	method       uint16
	flags        uint16
	crc          uint32
	csize, usize int64
	lho          int64
}

// NewWriter returns a Writer writing an archive to w. Close does not close
// w.
func NewWriter(w io.Writer, opts ...WriterOption) (*Writer, error) {
	return newWriter(w, "", opts)
}

func newWriter(w io.Writer, name string, opts []WriterOption) (*Writer, error) {
	cfg, err := newWriterConfig(opts)
	if err != nil {
		return nil, err
	}
	z := &Writer{w: w, cfg: cfg, name: name, keys: map[string]bool{}}
	if wa, ok := w.(io.WriterAt); ok {
		if s, ok := w.(io.Seeker); ok {
			if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
				z.wa, z.base = wa, pos
			}
		}
	}
	return z, nil
}

// Create creates the named .npz archive. It is written under a temporary
// name in the same folder and renamed into place by Close, so readers
// never see a partial archive; if anything fails, Close removes the
// temporary file and leaves name untouched. On disk-backed storage the
// archive and its folder are fsynced around the rename. The temporary file
// is the one every arrfile writer uses (".NAME.RANDOM.arrtmp", marked live
// while the process runs), so `arr ls` shows it and `arr gc` removes it
// after a crash. Errors are *fs.PathError values naming the archive.
func Create(name string, opts ...WriterOption) (*Writer, error) {
	f, err := createTemp(name)
	if err != nil {
		return nil, err
	}
	z, err := newWriter(f, name, opts)
	if err != nil {
		abandonTemp(f)
		return nil, err
	}
	z.publish = func(err error) error {
		if err != nil {
			abandonTemp(f)
			return err
		}
		return publishTemp(f, name)
	}
	return z, nil
}

func (z *Writer) pathErr(err error) error { return pathErr("write", z.name, err) }

func (z *Writer) write(p []byte) error {
	if z.err != nil {
		return z.err
	}
	n, err := z.w.Write(p)
	z.off += int64(n)
	if err != nil {
		z.err = z.pathErr(err)
	}
	return z.err
}

// fail makes err the archive's error: Close reports it, and an archive
// from Create is not published.
func (z *Writer) fail(err error) error {
	if z.err == nil {
		z.err = z.pathErr(err)
	}
	return z.err
}

// checkName returns an error wrapping ErrInsecureName if name could escape
// a folder when used as a path: empty, absolute, with a ".." element, a
// backslash, a drive letter or a NUL byte. Readers list such members but
// never make paths from them; the Writer refuses such keys.
func checkName(name string) error {
	bad := name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") ||
		(len(name) >= 2 && name[1] == ':')
	for part := range strings.SplitSeq(name, "/") {
		if part == ".." {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("%w: %q", ErrInsecureName, name)
	}
	return nil
}

// Create starts the array member key (file key+".npy", so np.load(f)[key]
// returns it) and returns a writer for its bytes: a whole .npy file, header
// then data, written as given, for example by npy.Write, npy.NewWriter or
// io.Copy from an .npy file (np.savez names its positional arrays "arr_0",
// "arr_1", ...). The header is checked as an .npy reader checks it; the
// writer refuses bytes beyond the data the header declares (npy.ErrSize),
// and its Close checks that all of it came, then completes the member's
// sizes and CRC-32.
//
// The previous member must be closed. Keys must be unique
// (ErrDuplicateMember) and safe as file names (ErrInsecureName). A bad
// header, or a member that is not closed or closed short, fails the whole
// archive: Close then reports the error, and an archive from Create is not
// published.
func (z *Writer) Create(key string) (io.WriteCloser, error) {
	if z.closed {
		return nil, z.pathErr(fmt.Errorf("npz: Create after Close: %w", fs.ErrClosed))
	}
	if z.cur != nil && !z.cur.done {
		return nil, z.pathErr(fmt.Errorf("npz: member %q is still open", z.cur.e.name))
	}
	if err := checkName(key); err != nil {
		return nil, z.pathErr(err)
	}
	name := key + ".npy"
	if z.keys[key] {
		return nil, z.pathErr(fmt.Errorf("%w: %q", ErrDuplicateMember, key))
	}
	if len(name) > 0xFFFF {
		return nil, z.pathErr(fmt.Errorf("npz: member name of %d bytes is too long for zip", len(name)))
	}
	if z.err != nil {
		return nil, z.err
	}
	mw := &memberWriter{z: z, crc: crc32.NewIEEE()}
	mw.cw.z = z
	mw.e.name = name
	z.keys[key] = true
	z.cur = mw
	return mw, nil
}

// memberWriter receives the bytes of one member; see Writer.Create.
type memberWriter struct {
	z       *Writer
	e       zipEntry
	head    []byte // the .npy header's bytes until they are complete
	started bool   // the local header is written
	hdrOff  int64  // offset of the local header's CRC field
	crc     hash.Hash32
	fw      *flate.Writer
	cw      countWriter
	size    int64 // the member's size, from its .npy header
	n       int64 // bytes written
	done    bool
}

type countWriter struct {
	z *Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	if err := c.z.write(p); err != nil {
		return 0, err
	}
	c.n += int64(len(p))
	return len(p), nil
}

// headerNeed returns how many bytes of b (the start of an .npy file) the
// header takes, as far as b tells: once len(b) reaches it, the header is
// complete or npy.ReadHeader reports what is wrong with it.
func headerNeed(b []byte) int {
	if len(b) < 8 || string(b[:len(npy.Magic)]) != npy.Magic {
		return 8
	}
	if b[6] == 1 {
		if len(b) < 10 {
			return 10
		}
		return 10 + int(binary.LittleEndian.Uint16(b[8:]))
	}
	if len(b) < 12 {
		return 12
	}
	if n := binary.LittleEndian.Uint32(b[8:]); n <= npy.DefaultMaxHeaderSize {
		return 12 + int(n)
	}
	return 12 // too large: ReadHeader says so
}

// Write writes the member's bytes.
func (mw *memberWriter) Write(p []byte) (int, error) {
	z := mw.z
	if mw.done {
		return 0, z.pathErr(fmt.Errorf("npz: member %q: Write after Close: %w", mw.e.name, fs.ErrClosed))
	}
	if z.err != nil {
		return 0, z.err
	}
	if !mw.started {
		mw.head = append(mw.head, p...)
		if len(mw.head) < headerNeed(mw.head) {
			return len(p), nil
		}
		b := mw.head
		mw.head = nil
		if err := mw.start(b); err != nil {
			return 0, err
		}
		if _, err := mw.Write(b); err != nil {
			return 0, z.fail(err)
		}
		return len(p), nil
	}
	if int64(len(p)) > mw.size-mw.n {
		return 0, z.pathErr(fmt.Errorf("%w: member %q: more data than its header's size", npy.ErrSize, mw.e.name))
	}
	mw.crc.Write(p)
	mw.n += int64(len(p))
	if mw.fw != nil {
		return mw.fw.Write(p)
	}
	return mw.cw.Write(p)
}

// start parses the .npy header at the start of b and writes the local
// header.
func (mw *memberWriter) start(b []byte) error {
	z := mw.z
	h, err := npy.ReadHeader(bytes.NewReader(b))
	if err != nil {
		return z.fail(fmt.Errorf("member %q: %w", mw.e.name, err))
	}
	usize := h.DataOffset + h.DataSize()
	mw.size = usize
	mw.started = true
	e := &mw.e
	e.lho, e.method = z.off, zipStored
	if z.cfg.level != 0 {
		e.method = zipDeflate
	}
	streaming := z.wa == nil
	if streaming {
		e.flags = 1 << 3 // sizes and CRC in a data descriptor
	}
	// Local header: sizes are known up front for stored members written
	// in place; everything else is completed later.
	var lcsize, lusize int64
	if !streaming {
		lusize = usize
		if e.method == zipStored {
			lcsize = usize
		}
	}
	lh := make([]byte, 0, zipLocalLen+len(e.name)+20+4096+6)
	lh = binary.LittleEndian.AppendUint32(lh, zipLocalSig)
	lh = binary.LittleEndian.AppendUint16(lh, versionNeeded(usize, usize, 0))
	lh = binary.LittleEndian.AppendUint16(lh, e.flags)
	lh = binary.LittleEndian.AppendUint16(lh, e.method)
	lh = binary.LittleEndian.AppendUint16(lh, 0)       // time
	lh = binary.LittleEndian.AppendUint16(lh, zipDate) // date
	mw.hdrOff = z.off + int64(len(lh))
	lh = binary.LittleEndian.AppendUint32(lh, 0) // CRC, completed later
	lh = binary.LittleEndian.AppendUint32(lh, clamp32(lcsize))
	lh = binary.LittleEndian.AppendUint32(lh, clamp32(lusize))
	lh = binary.LittleEndian.AppendUint16(lh, uint16(len(e.name)))
	extraLenAt := len(lh)
	lh = binary.LittleEndian.AppendUint16(lh, 0) // extra length, below
	lh = append(lh, e.name...)
	extraStart := len(lh)
	lh = binary.LittleEndian.AppendUint16(lh, zip64ExtraID)
	lh = binary.LittleEndian.AppendUint16(lh, 16)
	lh = binary.LittleEndian.AppendUint64(lh, uint64(lusize))
	lh = binary.LittleEndian.AppendUint64(lh, uint64(lcsize))
	if a := int64(z.cfg.align); a > 0 {
		// Pad with an extra field so that the array data (the .npy data
		// section) starts at a multiple of a.
		dataAt := z.off + int64(len(lh)) + 6 + h.DataOffset
		pad := (a - dataAt%a) % a
		lh = binary.LittleEndian.AppendUint16(lh, alignExtraID)
		lh = binary.LittleEndian.AppendUint16(lh, uint16(2+pad))
		lh = binary.LittleEndian.AppendUint16(lh, uint16(a))
		lh = append(lh, make([]byte, pad)...)
	}
	binary.LittleEndian.PutUint16(lh[extraLenAt:], uint16(len(lh)-extraStart))
	if err := z.write(lh); err != nil {
		return err
	}
	if e.method == zipDeflate {
		fw, err := flate.NewWriter(&mw.cw, z.cfg.level)
		if err != nil {
			return z.fail(err)
		}
		mw.fw = fw
	}
	return nil
}

// versionNeeded returns the zip version needed: 4.5 when ZIP64 values are
// required, else 2.0 (what Python's zipfile writes for NumPy's members).
func versionNeeded(csize, usize, lho int64) uint16 {
	if csize >= 0xFFFFFFFF || usize >= 0xFFFFFFFF || lho >= 0xFFFFFFFF {
		return 45
	}
	return 20
}

func clamp32(v int64) uint32 {
	if v >= 0xFFFFFFFF {
		return 0xFFFFFFFF
	}
	return uint32(v)
}

// Close finishes the member: it checks that the whole .npy file was
// written and completes the member's sizes and CRC-32.
func (mw *memberWriter) Close() error {
	z := mw.z
	if mw.done {
		return z.pathErr(fmt.Errorf("npz: member %q closed twice: %w", mw.e.name, fs.ErrClosed))
	}
	mw.done = true
	if z.err != nil {
		return z.err
	}
	if !mw.started {
		_, err := npy.ReadHeader(bytes.NewReader(mw.head))
		return z.fail(fmt.Errorf("member %q: %w", mw.e.name, err))
	}
	if mw.n != mw.size {
		return z.fail(fmt.Errorf("%w: member %q: %d of %d bytes written", npy.ErrSize, mw.e.name, mw.n, mw.size))
	}
	if mw.fw != nil {
		if err := mw.fw.Close(); err != nil {
			return z.fail(err)
		}
	}
	if z.err != nil {
		return z.err
	}
	e := &mw.e
	e.crc = mw.crc.Sum32()
	e.usize = mw.size
	e.csize = mw.cw.n
	if z.wa == nil {
		d := binary.LittleEndian.AppendUint32(nil, zipDescriptorSig)
		d = binary.LittleEndian.AppendUint32(d, e.crc)
		d = binary.LittleEndian.AppendUint64(d, uint64(e.csize))
		d = binary.LittleEndian.AppendUint64(d, uint64(e.usize))
		if err := z.write(d); err != nil {
			return err
		}
	} else {
		// Complete the local header in place: CRC, 32-bit sizes and the
		// ZIP64 extra field's sizes.
		var fix [12]byte
		binary.LittleEndian.PutUint32(fix[0:], e.crc)
		binary.LittleEndian.PutUint32(fix[4:], clamp32(e.csize))
		binary.LittleEndian.PutUint32(fix[8:], clamp32(e.usize))
		var x [16]byte
		binary.LittleEndian.PutUint64(x[0:], uint64(e.usize))
		binary.LittleEndian.PutUint64(x[8:], uint64(e.csize))
		xoff := mw.hdrOff + 12 + 4 + int64(len(e.name)) + 4
		if _, err := z.wa.WriteAt(fix[:], z.base+mw.hdrOff); err != nil {
			return z.fail(err)
		}
		if _, err := z.wa.WriteAt(x[:], z.base+xoff); err != nil {
			return z.fail(err)
		}
	}
	z.entries = append(z.entries, *e)
	return nil
}

// Close writes the central directory and the end records. For an archive
// from Create it then renames the file into place (or removes it after an
// error). It does not close a destination given to NewWriter.
func (z *Writer) Close() error {
	if z.closed {
		return z.pathErr(fmt.Errorf("npz: archive closed twice: %w", fs.ErrClosed))
	}
	z.closed = true
	err := z.finish()
	if z.publish != nil {
		err = z.publish(err)
	}
	return err
}

func (z *Writer) finish() error {
	if z.cur != nil && !z.cur.done {
		return z.fail(fmt.Errorf("npz: member %q was not closed", z.cur.e.name))
	}
	if z.err != nil {
		return z.err
	}
	cdStart := z.off
	for _, e := range z.entries {
		var x []byte
		if e.usize >= 0xFFFFFFFF {
			x = binary.LittleEndian.AppendUint64(x, uint64(e.usize))
		}
		if e.csize >= 0xFFFFFFFF {
			x = binary.LittleEndian.AppendUint64(x, uint64(e.csize))
		}
		if e.lho >= 0xFFFFFFFF {
			x = binary.LittleEndian.AppendUint64(x, uint64(e.lho))
		}
		c := binary.LittleEndian.AppendUint32(nil, zipCentralSig)
		c = binary.LittleEndian.AppendUint16(c, 0x0314) // made by: Unix, 2.0 (as Python)
		c = binary.LittleEndian.AppendUint16(c, versionNeeded(e.csize, e.usize, e.lho))
		c = binary.LittleEndian.AppendUint16(c, e.flags)
		c = binary.LittleEndian.AppendUint16(c, e.method)
		c = binary.LittleEndian.AppendUint16(c, 0)
		c = binary.LittleEndian.AppendUint16(c, zipDate)
		c = binary.LittleEndian.AppendUint32(c, e.crc)
		c = binary.LittleEndian.AppendUint32(c, clamp32(e.csize))
		c = binary.LittleEndian.AppendUint32(c, clamp32(e.usize))
		c = binary.LittleEndian.AppendUint16(c, uint16(len(e.name)))
		xl := 0
		if len(x) > 0 {
			xl = 4 + len(x)
		}
		c = binary.LittleEndian.AppendUint16(c, uint16(xl))
		c = binary.LittleEndian.AppendUint16(c, 0)         // comment
		c = binary.LittleEndian.AppendUint16(c, 0)         // disk
		c = binary.LittleEndian.AppendUint16(c, 0)         // internal attributes
		c = binary.LittleEndian.AppendUint32(c, 0o600<<16) // external: rw------- as Python's zipfile
		c = binary.LittleEndian.AppendUint32(c, clamp32(e.lho))
		c = append(c, e.name...)
		if len(x) > 0 {
			c = binary.LittleEndian.AppendUint16(c, zip64ExtraID)
			c = binary.LittleEndian.AppendUint16(c, uint16(len(x)))
			c = append(c, x...)
		}
		if err := z.write(c); err != nil {
			return err
		}
	}
	cdSize := z.off - cdStart
	n := int64(len(z.entries))
	var end []byte
	if n >= 0xFFFF || cdSize >= 0xFFFFFFFF || cdStart >= 0xFFFFFFFF {
		recOff := z.off
		end = binary.LittleEndian.AppendUint32(end, zip64EOCDSig)
		end = binary.LittleEndian.AppendUint64(end, zip64EOCDLen-12)
		end = binary.LittleEndian.AppendUint16(end, 45)
		end = binary.LittleEndian.AppendUint16(end, 45)
		end = binary.LittleEndian.AppendUint32(end, 0)
		end = binary.LittleEndian.AppendUint32(end, 0)
		end = binary.LittleEndian.AppendUint64(end, uint64(n))
		end = binary.LittleEndian.AppendUint64(end, uint64(n))
		end = binary.LittleEndian.AppendUint64(end, uint64(cdSize))
		end = binary.LittleEndian.AppendUint64(end, uint64(cdStart))
		end = binary.LittleEndian.AppendUint32(end, zip64LocatorSig)
		end = binary.LittleEndian.AppendUint32(end, 0)
		end = binary.LittleEndian.AppendUint64(end, uint64(recOff))
		end = binary.LittleEndian.AppendUint32(end, 1)
	}
	cnt := uint16(min(n, 0xFFFF))
	end = binary.LittleEndian.AppendUint32(end, zipEOCDSig)
	end = binary.LittleEndian.AppendUint16(end, 0)
	end = binary.LittleEndian.AppendUint16(end, 0)
	end = binary.LittleEndian.AppendUint16(end, cnt)
	end = binary.LittleEndian.AppendUint16(end, cnt)
	end = binary.LittleEndian.AppendUint32(end, clamp32(cdSize))
	end = binary.LittleEndian.AppendUint32(end, clamp32(cdStart))
	end = binary.LittleEndian.AppendUint16(end, 0)
	return z.write(end)
}
