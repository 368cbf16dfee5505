package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
	"github.com/klauspost/compress/flate"
)

// NpzKey returns the key NumPy gives the i-th positional array of
// np.savez(f, *arrays): "arr_0", "arr_1", ...
func NpzKey(i int) string { return fmt.Sprintf("arr_%d", i) }

// zipDate is the MS-DOS date NumPy's members carry (1980-01-01, the zip
// epoch, Python's ZipInfo default); the time is 0.
const zipDate = 0x21

// NpzWriter writes an .npz archive member by member, streaming, in the
// layout np.savez (stored) and np.savez_compressed (deflate, WithDeflate)
// produce: every local header carries a ZIP64 extra field (NumPy opens
// members with force_zip64), ZIP64 directory records are added when sizes,
// offsets or the member count need them, and the archive opens with
// np.load. With WithAlignment, stored members' array data is aligned so it
// can be memory-mapped in place.
//
// When the destination is an *os.File (an io.WriterAt and io.Seeker), each
// local header is completed in place after its member, as Python's zipfile
// does; for other destinations (pipes, buffers) a ZIP64 data descriptor
// follows each member. One member is written at a time; an NpzWriter is
// not safe for concurrent use.
type NpzWriter struct {
	w       io.Writer
	wa      io.WriterAt // nil: use data descriptors
	base    int64       // offset of the archive start in wa
	off     int64       // bytes written so far
	cfg     config
	level   int
	entries []zipEntry
	keys    map[string]bool
	cur     *NpzMemberWriter
	err     error
	closed  bool
	publish func(error) error // set by CreateNpz
}

type zipEntry struct {
	name         string
	method       uint16
	flags        uint16
	crc          uint32
	csize, usize int64
	lho          int64
}

// NewNpzWriter returns an NpzWriter writing to w. Options: WithDeflate,
// WithLevel, WithAlignment, WithName.
func NewNpzWriter(w io.Writer, opts ...Option) (*NpzWriter, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	z := &NpzWriter{w: w, cfg: cfg, keys: map[string]bool{}, level: 6}
	if cfg.levelSet {
		z.level = map[Level]int{LevelFastest: 1, LevelDefault: 6, LevelBetter: 7, LevelBest: 9}[cfg.level]
	}
	if wa, ok := w.(io.WriterAt); ok {
		if s, ok := w.(io.Seeker); ok {
			if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
				z.wa, z.base = wa, pos
			}
		}
	}
	return z, nil
}

// CreateNpz creates the named .npz archive. It is written under a
// temporary name in the same folder (an mmfile temporary file, see
// mmfile.CreateTemp, which mmfile.RemoveStale cleans up if the process
// dies) and renamed into place by Close, so readers never see a partial
// archive; if anything fails, Close removes the temporary file and leaves
// name untouched. On disk-backed storage the archive and its folder are
// fsynced around the rename.
func CreateNpz(name string, opts ...Option) (*NpzWriter, error) {
	f, err := mmfile.CreateTemp(name, 0o644)
	if err != nil {
		return nil, err
	}
	z, err := NewNpzWriter(f, append([]Option{WithName(name)}, opts...)...)
	if err != nil {
		mmfile.AbandonTemp(f)
		return nil, err
	}
	z.publish = func(err error) error { return finishAtomic(f, name, err) }
	return z, nil
}

func (z *NpzWriter) write(p []byte) error {
	if z.err != nil {
		return z.err
	}
	n, err := z.w.Write(p)
	z.off += int64(n)
	if err != nil {
		z.err = nameErr(z.cfg.name, err)
	}
	return z.err
}

// NpzMemberWriter receives the raw data bytes of one array member; see
// NpzWriter.Create.
type NpzMemberWriter struct {
	z       *NpzWriter
	e       zipEntry
	hdrOff  int64 // offset of the local header's CRC field
	crc     hash.Hash32
	fw      *flate.Writer
	cw      countWriter
	remain  int64
	dataLen int64
	done    bool
}

type countWriter struct {
	z *NpzWriter
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	if err := c.z.write(p); err != nil {
		return 0, err
	}
	c.n += int64(len(p))
	return len(p), nil
}

// Create starts the array member key (file key+".npy") with header h
// (written as npy.AppendHeader writes it) and returns a writer for its raw
// data bytes, in the header's byte order and memory order. The previous
// member must be closed. Keys must be unique (ErrDuplicateMember) and safe
// as file names (CheckName).
func (z *NpzWriter) Create(key string, h *npy.Header) (*NpzMemberWriter, error) {
	hb, err := npy.AppendHeader(nil, h)
	if err != nil {
		return nil, err
	}
	hc := *h
	hc.DataOffset = int64(len(hb))
	return z.create(key, &hc, hb)
}

func (z *NpzWriter) create(key string, h *npy.Header, headerBytes []byte) (*NpzMemberWriter, error) {
	if z.closed {
		return nil, ErrClosed
	}
	if z.cur != nil && !z.cur.done {
		return nil, nameErr(z.cfg.name, fmt.Errorf("codec: member %q is still open", z.cur.e.name))
	}
	if err := CheckName(key); err != nil {
		return nil, nameErr(z.cfg.name, err)
	}
	name := key + ".npy"
	if z.keys[key] {
		return nil, nameErr(z.cfg.name, fmt.Errorf("%w: %q", ErrDuplicateMember, key))
	}
	if len(name) > 0xFFFF {
		return nil, nameErr(z.cfg.name, fmt.Errorf("codec: member name of %d bytes is too long for zip", len(name)))
	}
	if z.err != nil {
		return nil, z.err
	}
	usize := h.DataOffset + h.DataSize()
	mw := &NpzMemberWriter{z: z, crc: crc32.NewIEEE(), remain: usize, dataLen: usize}
	mw.cw.z = z
	e := &mw.e
	e.name, e.lho, e.method = name, z.off, zipStored
	if z.cfg.deflate {
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
	lh := make([]byte, 0, zipLocalLen+len(name)+20+4096+6)
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
	lh = binary.LittleEndian.AppendUint16(lh, uint16(len(name)))
	extraLenAt := len(lh)
	lh = binary.LittleEndian.AppendUint16(lh, 0) // extra length, below
	lh = append(lh, name...)
	extraStart := len(lh)
	lh = binary.LittleEndian.AppendUint16(lh, zip64ExtraID)
	lh = binary.LittleEndian.AppendUint16(lh, 16)
	lh = binary.LittleEndian.AppendUint64(lh, uint64(lusize))
	lh = binary.LittleEndian.AppendUint64(lh, uint64(lcsize))
	if a := int64(z.cfg.align); a > 0 && e.method == zipStored {
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
		return nil, err
	}
	if e.method == zipDeflate {
		fw, err := flate.NewWriter(&mw.cw, z.level)
		if err != nil {
			return nil, err
		}
		mw.fw = fw
	}
	z.keys[key] = true
	z.cur = mw
	if _, err := mw.write(headerBytes); err != nil {
		return nil, err
	}
	return mw, nil
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

func (mw *NpzMemberWriter) write(p []byte) (int, error) {
	mw.crc.Write(p)
	mw.remain -= int64(len(p))
	if mw.fw != nil {
		return mw.fw.Write(p)
	}
	return mw.cw.Write(p)
}

// Write writes raw data bytes. Writing more than the header's data size is
// an error wrapping npy.ErrSize.
func (mw *NpzMemberWriter) Write(p []byte) (int, error) {
	if mw.done {
		return 0, ErrClosed
	}
	if int64(len(p)) > mw.remain {
		return 0, nameErr(mw.z.cfg.name, fmt.Errorf("%w: member %q: more data than its header's size", npy.ErrSize, mw.e.name))
	}
	return mw.write(p)
}

// ReadFrom copies the member's data from r: exactly the bytes the header
// still expects (npy.ErrTruncated if r ends early).
func (mw *NpzMemberWriter) ReadFrom(r io.Reader) (int64, error) {
	want := mw.remain
	n, err := io.Copy(writerOnly{mw}, io.LimitReader(r, want))
	if err == nil && n < want {
		err = nameErr(mw.z.cfg.name, fmt.Errorf("%w: member %q: data: expected %d more bytes, got %d", npy.ErrTruncated, mw.e.name, want, n))
	}
	return n, err
}

// writerOnly hides ReadFrom so io.Copy does not recurse.
type writerOnly struct{ io.Writer }

// Close finishes the member: it checks that the whole data section was
// written and completes the member's sizes and CRC.
func (mw *NpzMemberWriter) Close() error {
	if mw.done {
		return ErrClosed
	}
	mw.done = true
	z := mw.z
	if mw.remain != 0 {
		z.err = nameErr(z.cfg.name, fmt.Errorf("%w: member %q: %d of %d bytes written", npy.ErrSize, mw.e.name, mw.dataLen-mw.remain, mw.dataLen))
		return z.err
	}
	if mw.fw != nil {
		if err := mw.fw.Close(); err != nil {
			return err
		}
	}
	if z.err != nil {
		return z.err
	}
	e := &mw.e
	e.crc = mw.crc.Sum32()
	e.usize = mw.dataLen
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
			z.err = nameErr(z.cfg.name, err)
			return z.err
		}
		if _, err := z.wa.WriteAt(x[:], z.base+xoff); err != nil {
			z.err = nameErr(z.cfg.name, err)
			return z.err
		}
	}
	z.entries = append(z.entries, *e)
	return nil
}

// CopyNpy adds the .npy stream r as member key, keeping its header bytes
// exactly. It reads the header and exactly the data the header describes.
// An error reading r fails the whole archive (Close then reports it, and
// CreateNpz publishes nothing).
func (z *NpzWriter) CopyNpy(key string, r io.Reader) error {
	var hb bytes.Buffer
	h, err := npy.ReadHeader(io.TeeReader(r, &hb))
	if err != nil {
		// The input is bad: fail the archive so that CreateNpz does not
		// publish it without this member.
		z.err = nameErr(z.cfg.name, err)
		return z.err
	}
	mw, err := z.create(key, h, hb.Bytes())
	if err != nil {
		return err
	}
	if _, err := mw.ReadFrom(r); err != nil {
		mw.done = true
		z.err = err
		return err
	}
	return mw.Close()
}

// WriteNpz adds data as the array member key with the given shape (default
// one axis of len(data)), in C order and the machine's byte order.
func WriteNpz[T npy.Elem](z *NpzWriter, key string, data []T, shape ...int) error {
	if shape == nil {
		shape = []int{len(data)}
	}
	mw, err := z.Create(key, &npy.Header{DType: npy.DTypeOf[T](), Shape: shape})
	if err != nil {
		return err
	}
	if _, err := mw.Write(npy.Bytes(data)); err != nil {
		mw.done = true
		return err
	}
	return mw.Close()
}

// Close writes the central directory and the end records. For an archive
// from CreateNpz it then renames the file into place (or removes it after
// an error). It does not close a destination given to NewNpzWriter.
func (z *NpzWriter) Close() error {
	if z.closed {
		return ErrClosed
	}
	z.closed = true
	err := z.finish()
	if z.publish != nil {
		err = z.publish(err)
	}
	return err
}

func (z *NpzWriter) finish() error {
	if z.cur != nil && !z.cur.done {
		return nameErr(z.cfg.name, fmt.Errorf("codec: member %q was not closed", z.cur.e.name))
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
