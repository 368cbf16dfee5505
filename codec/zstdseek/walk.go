package zstdseek

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
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
// starting at byte 0 it follows every frame (zstd and skippable frame
// headers through klauspost's zstd.Header, then a zstd frame's block
// headers and optional checksum; a skippable frame's content by its size)
// and requires that the frames tile the file exactly. It decompresses
// nothing and reads only headers. A file that ends inside a frame (such as
// a seekable file that lost the end of its seek table) gives ErrTruncated;
// malformed headers give ErrCorrupt; a first frame with an unknown magic
// number gives ErrNotZstd. It returns the number of frames.
func walkFrames(ra io.ReaderAt, size int64) (int, error) {
	p := &framePeeker{ra: ra, size: size}
	off := int64(0)
	frames := 0
	// need checks that n bytes from at lie in the file.
	need := func(at int64, n int64, what string) error {
		if at+n > size {
			return errorf(ErrTruncated, "the file ends at byte %d, inside frame %d (which starts at byte %d): %s needs bytes %d-%d",
				size, frames, off, what, at, at+n)
		}
		return nil
	}
	for off < size {
		if err := need(off, 4, "the magic number"); err != nil {
			return frames, err
		}
		b, err := p.peek(off, int(min(frameHeaderMaxSize, size-off)))
		if err != nil {
			return frames, err
		}
		var h zstd.Header
		switch err := h.Decode(b); {
		case errors.Is(err, zstd.ErrMagicMismatch):
			magic := binary.LittleEndian.Uint32(b)
			if frames == 0 {
				return frames, errorf(ErrNotZstd, "starts with 0x%08X, neither a zstd frame (0x%08X) nor a skippable frame", magic, zstdMagic)
			}
			return frames, errorf(ErrCorrupt, "frame %d at byte %d starts with 0x%08X, neither a zstd frame (0x%08X) nor a skippable frame", frames, off, magic, zstdMagic)
		case errors.Is(err, io.ErrUnexpectedEOF):
			// Decode was given every byte left in the file.
			what := "the frame header"
			if binary.LittleEndian.Uint32(b)&0xFFFFFFF0 == 0x184D2A50 {
				what = "the skippable frame header"
			}
			return frames, errorf(ErrTruncated, "the file ends at byte %d, inside frame %d (which starts at byte %d): %s needs more than the %d bytes left",
				size, frames, off, what, len(b))
		case err != nil:
			return frames, errorf(ErrCorrupt, "frame at byte %d: %v", off, err)
		}
		if h.Skippable {
			n := int64(h.SkippableSize)
			if err := need(off+skippableHeaderSize, n, fmt.Sprintf("the %d-byte skippable frame content", n)); err != nil {
				return frames, err
			}
			off += skippableHeaderSize + n
		} else {
			end, err := walkBlocks(p, off, off+int64(h.HeaderSize), h.HasCheckSum, need)
			if err != nil {
				return frames, err
			}
			off = end
		}
		frames++
	}
	return frames, nil
}

// walkBlocks follows the blocks of the zstd frame starting at off, from the
// first block header at at, and the content checksum if the frame has one.
// It returns the offset just past the frame.
func walkBlocks(p *framePeeker, off, at int64, checksum bool, need func(at, n int64, what string) error) (int64, error) {
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
			return 0, errorf(ErrCorrupt, "frame at byte %d: block at byte %d has the reserved block type 3", off, at)
		}
		if bsize > maxBlockSize {
			return 0, errorf(ErrCorrupt, "frame at byte %d: block at byte %d declares %d bytes, more than zstd's 128 KiB block limit", off, at, bsize)
		}
		if err := need(at+3, content, fmt.Sprintf("a %d-byte block", content)); err != nil {
			return 0, err
		}
		at += 3 + content
		if last {
			break
		}
	}
	if checksum {
		if err := need(at, 4, "the content checksum"); err != nil {
			return 0, err
		}
		at += 4
	}
	return at, nil
}
