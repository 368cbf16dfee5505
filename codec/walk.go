package codec

import (
	"encoding/binary"
	"fmt"
	"io"
)

// maxBlockSize is zstd's Block_Maximum_Size upper bound: no block's
// content (raw or compressed) may exceed 128 KiB.
const maxBlockSize = 128 << 10

// walkPeekSize is how much of the file walkFrames reads at a time: block
// headers that fall within one read cost no further I/O, so files of many
// small blocks are walked in few reads, while large blocks are skipped
// without reading their content.
const walkPeekSize = 4 << 10

// framePeeker serves small reads of a file through a window of
// walkPeekSize bytes.
type framePeeker struct {
	ra   io.ReaderAt
	size int64
	buf  []byte
	off  int64 // file offset of buf[0]
}

// peek returns the n bytes at off, which the caller has checked lie within
// the file.
func (p *framePeeker) peek(off int64, n int) ([]byte, error) {
	if off >= p.off && off+int64(n) <= p.off+int64(len(p.buf)) {
		return p.buf[off-p.off : off-p.off+int64(n)], nil
	}
	if p.buf == nil {
		p.buf = make([]byte, 0, walkPeekSize)
	}
	m := min(int64(cap(p.buf)), p.size-off)
	p.buf = p.buf[:m]
	p.off = off
	if err := readFullAt(p.ra, p.buf, off); err != nil {
		p.buf = p.buf[:0]
		return nil, readErr(err, fmt.Sprintf("reading byte %d", off))
	}
	return p.buf[:n], nil
}

// walkFrames checks the frame structure of a zstd file without seek table:
// starting at byte 0 it follows every frame (zstd frames through their
// header, block headers and optional checksum; skippable frames through
// their size field) and requires that the frames tile the file exactly. It
// decompresses nothing and reads only headers. A file that ends inside a
// frame (such as a seekable file that lost the end of its seek table) gives
// ErrTruncated; malformed headers give ErrCorrupt; a first frame with an
// unknown magic number gives ErrNotZstd. It returns the number of frames.
func walkFrames(ra io.ReaderAt, size int64) (int, error) {
	p := &framePeeker{ra: ra, size: size}
	off := int64(0)
	frames := 0
	// need checks that n bytes from at lie in the file.
	need := func(at int64, n int64, what string) error {
		if at+n > size {
			return fmt.Errorf("%w: the file ends at byte %d, inside frame %d (which starts at byte %d): %s needs bytes %d-%d",
				ErrTruncated, size, frames, off, what, at, at+n)
		}
		return nil
	}
	for off < size {
		if err := need(off, 4, "the magic number"); err != nil {
			return frames, err
		}
		b, err := p.peek(off, 4)
		if err != nil {
			return frames, err
		}
		magic := binary.LittleEndian.Uint32(b)
		switch {
		case magic&0xFFFFFFF0 == 0x184D2A50:
			if err := need(off, skippableHeaderSize, "the skippable frame header"); err != nil {
				return frames, err
			}
			b, err := p.peek(off+4, 4)
			if err != nil {
				return frames, err
			}
			n := int64(binary.LittleEndian.Uint32(b))
			if err := need(off+skippableHeaderSize, n, fmt.Sprintf("the %d-byte skippable frame content", n)); err != nil {
				return frames, err
			}
			off += skippableHeaderSize + n
		case magic == zstdMagic:
			end, err := walkZstdFrame(p, off, need)
			if err != nil {
				return frames, err
			}
			off = end
		case frames == 0:
			return frames, fmt.Errorf("%w: starts with 0x%08X, neither a zstd frame (0x%08X) nor a skippable frame", ErrNotZstd, magic, zstdMagic)
		default:
			return frames, fmt.Errorf("%w: frame %d at byte %d starts with 0x%08X, neither a zstd frame (0x%08X) nor a skippable frame", ErrCorrupt, frames, off, magic, zstdMagic)
		}
		frames++
	}
	return frames, nil
}

// walkZstdFrame follows the zstd frame starting at off (its magic number
// already checked) and returns the offset just past it.
func walkZstdFrame(p *framePeeker, off int64, need func(at, n int64, what string) error) (int64, error) {
	at := off + 4
	if err := need(at, 1, "the frame header descriptor"); err != nil {
		return 0, err
	}
	b, err := p.peek(at, 1)
	if err != nil {
		return 0, err
	}
	fhd := b[0]
	if fhd&(1<<3) != 0 {
		return 0, fmt.Errorf("%w: frame at byte %d: reserved bit of the frame header descriptor is set", ErrCorrupt, off)
	}
	single := fhd&(1<<5) != 0
	hlen := int64(1)
	if !single {
		hlen++ // Window_Descriptor
	}
	hlen += [4]int64{0, 1, 2, 4}[fhd&3] // Dictionary_ID
	switch fcs := fhd >> 6; {
	case fcs == 0 && single:
		hlen++
	case fcs > 0:
		hlen += 1 << fcs // 2, 4 or 8 bytes
	}
	if err := need(at, hlen, "the frame header"); err != nil {
		return 0, err
	}
	at += hlen
	for {
		if err := need(at, 3, "a block header"); err != nil {
			return 0, err
		}
		b, err := p.peek(at, 3)
		if err != nil {
			return 0, err
		}
		bh := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		last, typ, bsize := bh&1 != 0, (bh>>1)&3, int64(bh>>3)
		var content int64
		switch typ {
		case 0: // Raw
			content = bsize
		case 1: // RLE
			content = 1
		case 2: // Compressed
			content = bsize
		default:
			return 0, fmt.Errorf("%w: frame at byte %d: block at byte %d has the reserved block type 3", ErrCorrupt, off, at)
		}
		if bsize > maxBlockSize {
			return 0, fmt.Errorf("%w: frame at byte %d: block at byte %d declares %d bytes, more than zstd's 128 KiB block limit", ErrCorrupt, off, at, bsize)
		}
		if err := need(at+3, content, fmt.Sprintf("a %d-byte block", content)); err != nil {
			return 0, err
		}
		at += 3 + content
		if last {
			break
		}
	}
	if fhd&(1<<2) != 0 {
		if err := need(at, 4, "the content checksum"); err != nil {
			return 0, err
		}
		at += 4
	}
	return at, nil
}
