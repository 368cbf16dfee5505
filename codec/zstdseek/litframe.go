package zstdseek

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/huff0"
)

// Literal-only frames.
//
// klauspost's block encoder stores literals raw unless Huffman coding saves
// at least 1/16 of them. On data without repeats but with a skewed byte
// distribution, such as random float64 (whose sign and exponent bytes take
// few values), Huffman coding alone saves about 4-5%, which the reference
// zstd keeps. For frames that the encoder compressed by less than 1/16,
// the Writer also builds the frame below, from blocks holding only
// Huffman-coded literals (raw or RLE blocks where Huffman does not help),
// and keeps whichever frame is smaller. These are ordinary zstd frames: any
// zstd decoder reads them.

// worthLiteralFrame reports whether a frame of n input bytes that
// compressed to c bytes may shrink as a literal-only frame.
func worthLiteralFrame(n, c int) bool {
	return n >= 4096 && c > n-n>>4
}

// appendLiteralFrame appends src encoded as a single-segment zstd frame of
// literal-only blocks to dst; with crc, the frame carries zstd's content
// checksum. s is scratch state, reused between calls by one goroutine.
func appendLiteralFrame(dst, src []byte, crc bool, s *huff0.Scratch) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, zstdMagic)
	// Frame header descriptor: Single_Segment (bit 5), Content_Checksum
	// (bit 2) and the Frame_Content_Size field size (bits 7-6).
	fhd := byte(1 << 5)
	if crc {
		fhd |= 1 << 2
	}
	n := len(src)
	switch {
	case n <= 255:
		dst = append(dst, fhd, byte(n))
	case n <= 65535+256:
		dst = append(dst, fhd|1<<6)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(n-256))
	default:
		dst = append(dst, fhd|2<<6)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	}
	s.Reuse = huff0.ReusePolicyNone
	s.WantLogLess = 0
	for off := 0; off < n; off += maxBlockSize {
		blk := src[off:min(n, off+maxBlockSize)]
		last := uint32(0)
		if off+len(blk) == n {
			last = 1
		}
		var out []byte
		var err error = huff0.ErrIncompressible
		if len(blk) >= 1024 {
			out, _, err = huff0.Compress4X(blk, s)
		}
		// Compressed block: literals header (5 bytes: type 2 =
		// Huffman-compressed with its tree, size format 3 = four streams
		// with 18-bit sizes), the literals, and a sequences section with
		// zero sequences (one 0 byte).
		if err == nil && 5+len(out)+1 < len(blk) {
			size := uint32(5 + len(out) + 1)
			dst = appendBlockHeader(dst, size, 2, last)
			lh := uint64(2) | 3<<2 | uint64(len(blk))<<4 | uint64(len(out))<<22
			dst = append(dst, byte(lh), byte(lh>>8), byte(lh>>16), byte(lh>>24), byte(lh>>32))
			dst = append(dst, out...)
			dst = append(dst, 0)
			continue
		}
		if err == huff0.ErrUseRLE {
			dst = appendBlockHeader(dst, uint32(len(blk)), 1, last)
			dst = append(dst, blk[0])
			continue
		}
		dst = appendBlockHeader(dst, uint32(len(blk)), 0, last)
		dst = append(dst, blk...)
	}
	if crc {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(xxhash.Sum64(src)))
	}
	return dst
}

// appendBlockHeader appends a 3-byte zstd block header: Last_Block (bit 0),
// Block_Type (bits 1-2), Block_Size (bits 3-23).
func appendBlockHeader(dst []byte, size uint32, typ, last uint32) []byte {
	h := size<<3 | typ<<1 | last
	return append(dst, byte(h), byte(h>>8), byte(h>>16))
}
