package zstdseek

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Seek table layout from zstd's contrib/seekable_format (spec 0.1.0).
const (
	// skippableMagic starts the skippable frame holding the seek table (a
	// legal generic skippable magic, so a reader must find the table from
	// the footer, never from this number alone).
	skippableMagic uint32 = 0x184D2A5E

	// seekableMagic is the last four bytes of every seekable file.
	seekableMagic uint32 = 0x8F92EAB1

	// footerSize is the size of the seek table footer: Number_Of_Frames
	// u32, Seek_Table_Descriptor u8, Seekable_Magic_Number u32.
	footerSize = 9

	// maxSeekTableFrames is the largest frame count a seek table may hold
	// (ZSTD_SEEKABLE_MAXFRAMES in zstd's reference implementation).
	maxSeekTableFrames = 0x8000000

	// checksumFlag is bit 7 of Seek_Table_Descriptor.
	checksumFlag = 0x80
	// reservedBits are bits 6-2 of Seek_Table_Descriptor, which a decoder
	// must check are zero. Bits 1-0 are unused and ignored.
	reservedBits = 0x7C

	// skippableHeaderSize is magic u32 + Frame_Size u32.
	skippableHeaderSize = 8

	// minFrameSize is the smallest frame the data region may hold: an empty
	// skippable frame (a zstd frame needs at least 9 bytes).
	minFrameSize = skippableHeaderSize

	// maxExpansion bounds Decompressed_Size/Compressed_Size for any zstd
	// frame: the densest encoding is an RLE block, 3 header bytes plus one
	// byte regenerating at most 128 KiB.
	maxExpansion = (128 << 10) / 4
)

// Frame is one frame of a seekable file: its seek table entry and where the
// frame and its data lie.
type Frame struct {
	// CompressedOffset is the offset of the frame in the file and
	// DecompressedOffset that of its data in the decompressed bytes: the
	// sums of the sizes of the frames before it. ParseSeekTable and
	// Reader.SeekTable set them; SeekTable.AppendBinary ignores them.
	CompressedOffset, DecompressedOffset int64
	// CompressedSize is the size of the frame in the file, 8 to 1<<32-1.
	CompressedSize int64
	// DecompressedSize is the size of the frame's decompressed data, 0 to
	// 1<<32-1; 0 for skippable or empty frames.
	DecompressedSize int64
	// Checksum is the low 32 bits of the XXH64 (seed 0) of the frame's
	// decompressed data. Meaningful only when SeekTable.Checksums is set.
	Checksum uint32
}

// SeekTable is the seek table of a seekable zstd file: one entry per frame,
// in file order. The zero value is an empty table without checksums.
type SeekTable struct {
	// Frames lists the frames in file order.
	Frames []Frame
	// Checksums reports whether entries carry a checksum (Checksum_Flag).
	Checksums bool
}

// entrySize returns the size of one encoded entry.
func (t *SeekTable) entrySize() int64 {
	if t.Checksums {
		return 12
	}
	return 8
}

// encodedSize returns the size of the encoded seek table frame, including
// its 8-byte skippable frame header.
func (t *SeekTable) encodedSize() int64 {
	return skippableHeaderSize + int64(len(t.Frames))*t.entrySize() + footerSize
}

// AppendBinary appends the encoded seek table frame (the whole skippable
// frame, from its magic number to the seekable magic that ends the file) to
// b. It implements encoding.BinaryAppender. It fails with ErrTooManyFrames
// when the table holds more than 0x8000000 frames, and when a size does not
// fit its 32-bit field.
func (t *SeekTable) AppendBinary(b []byte) ([]byte, error) {
	if len(t.Frames) > maxSeekTableFrames {
		return b, errorf(ErrTooManyFrames, "%d frames, a seek table holds at most %d", len(t.Frames), maxSeekTableFrames)
	}
	b = binary.LittleEndian.AppendUint32(b, skippableMagic)
	b = binary.LittleEndian.AppendUint32(b, uint32(t.encodedSize()-skippableHeaderSize))
	for i, f := range t.Frames {
		if f.CompressedSize < 0 || f.CompressedSize > math.MaxUint32 || f.DecompressedSize < 0 || f.DecompressedSize > math.MaxUint32 {
			return b, fmt.Errorf("zstdseek: frame %d: sizes %d and %d do not fit a seek table entry", i, f.CompressedSize, f.DecompressedSize)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(f.CompressedSize))
		b = binary.LittleEndian.AppendUint32(b, uint32(f.DecompressedSize))
		if t.Checksums {
			b = binary.LittleEndian.AppendUint32(b, f.Checksum)
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(t.Frames)))
	var desc byte
	if t.Checksums {
		desc = checksumFlag
	}
	b = append(b, desc)
	b = binary.LittleEndian.AppendUint32(b, seekableMagic)
	return b, nil
}

// parseFooter decodes the 9-byte footer. It reports whether the seekable
// magic is present; the other results are valid only if it is.
func parseFooter(f []byte) (frames uint32, desc byte, ok bool) {
	if len(f) != footerSize || binary.LittleEndian.Uint32(f[5:]) != seekableMagic {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint32(f), f[4], true
}

// ParseSeekTable decodes a complete seek table frame: b must hold exactly
// the skippable frame, from its magic number to the seekable magic. It
// checks the structure only (magic numbers, Frame_Size against the entry
// count, reserved bits, the format's frame count limit and that no entry
// claims more decompressed bytes than its compressed size can encode), and
// sets the frames' offsets as if the frames started the file. The checks
// against a file are made by NewReader. Errors wrap ErrBadSeekTable.
func ParseSeekTable(b []byte) (*SeekTable, error) {
	if len(b) < skippableHeaderSize+footerSize {
		return nil, errorf(ErrBadSeekTable, "%d bytes, shorter than the %d-byte minimum", len(b), skippableHeaderSize+footerSize)
	}
	n, desc, ok := parseFooter(b[len(b)-footerSize:])
	if !ok {
		return nil, errorf(ErrBadSeekTable, "seekable magic 0x%08X missing from the footer", seekableMagic)
	}
	if desc&reservedBits != 0 {
		return nil, errorf(ErrBadSeekTable, "reserved bits set in descriptor 0x%02X", desc)
	}
	if n > maxSeekTableFrames {
		return nil, fmt.Errorf("%w: %w: %d frames, at most %d allowed", ErrBadSeekTable, ErrTooManyFrames, n, maxSeekTableFrames)
	}
	t := &SeekTable{Checksums: desc&checksumFlag != 0}
	want := skippableHeaderSize + int64(n)*t.entrySize() + footerSize
	if int64(len(b)) != want {
		return nil, errorf(ErrBadSeekTable, "%d frames need a %d-byte table, got %d bytes", n, want, len(b))
	}
	if m := binary.LittleEndian.Uint32(b); m != skippableMagic {
		return nil, errorf(ErrBadSeekTable, "table starts with 0x%08X, want skippable magic 0x%08X", m, skippableMagic)
	}
	if fs := binary.LittleEndian.Uint32(b[4:]); int64(fs) != want-skippableHeaderSize {
		return nil, errorf(ErrBadSeekTable, "Frame_Size %d does not match %d frames (want %d)", fs, n, want-skippableHeaderSize)
	}
	t.Frames = make([]Frame, n)
	p := b[skippableHeaderSize:]
	es := int(t.entrySize())
	var cOff, dOff int64
	for i := range t.Frames {
		f := &t.Frames[i]
		f.CompressedOffset, f.DecompressedOffset = cOff, dOff
		f.CompressedSize = int64(binary.LittleEndian.Uint32(p))
		f.DecompressedSize = int64(binary.LittleEndian.Uint32(p[4:]))
		if t.Checksums {
			f.Checksum = binary.LittleEndian.Uint32(p[8:])
		}
		p = p[es:]
		if f.CompressedSize < minFrameSize {
			return nil, errorf(ErrBadSeekTable, "frame %d has %d compressed bytes, less than any zstd frame", i, f.CompressedSize)
		}
		if f.DecompressedSize > f.CompressedSize*maxExpansion {
			return nil, errorf(ErrBadSeekTable, "frame %d claims %d decompressed bytes from %d compressed bytes, more than zstd can encode", i, f.DecompressedSize, f.CompressedSize)
		}
		cOff += f.CompressedSize
		dOff += f.DecompressedSize
	}
	return t, nil
}

// readSeekTable reads and validates the seek table at the end of a file of
// the given size. It returns an error wrapping ErrNotSeekable when the file
// does not end with the seekable magic number (a plain zstd file). Besides
// the checks of ParseSeekTable it verifies, in 64-bit arithmetic, that the
// table fits in the file, that the frame count does not exceed maxFrames
// (ErrTooManyFrames; 0 means the format's limit) and that the compressed sizes add up to exactly the
// bytes before the table. The table is read only after its size has been
// checked against the file size.
func readSeekTable(r io.ReaderAt, size int64, maxFrames int) (*SeekTable, error) {
	if maxFrames <= 0 || maxFrames > maxSeekTableFrames {
		maxFrames = maxSeekTableFrames
	}
	if size < 4 {
		return nil, errorf(ErrNotSeekable, "%d-byte file", size)
	}
	var magic [4]byte
	if err := readFullAt(r, magic[:], size-4); err != nil {
		return nil, readErr(err, "reading the seekable magic")
	}
	if binary.LittleEndian.Uint32(magic[:]) != seekableMagic {
		return nil, errorf(ErrNotSeekable, "no seekable magic at the end")
	}
	if size < skippableHeaderSize+footerSize {
		return nil, errorf(ErrBadSeekTable, "file of %d bytes ends with the seekable magic but cannot hold a seek table", size)
	}
	var footer [footerSize]byte
	if err := readFullAt(r, footer[:], size-footerSize); err != nil {
		return nil, readErr(err, "reading the seek table footer")
	}
	n, desc, _ := parseFooter(footer[:])
	if desc&reservedBits != 0 {
		return nil, errorf(ErrBadSeekTable, "reserved bits set in descriptor 0x%02X", desc)
	}
	if int64(n) > int64(maxFrames) {
		return nil, fmt.Errorf("%w: %w: %d frames, limit %d", ErrBadSeekTable, ErrTooManyFrames, n, maxFrames)
	}
	es := int64(8)
	if desc&checksumFlag != 0 {
		es = 12
	}
	tableLen := skippableHeaderSize + int64(n)*es + footerSize
	if tableLen > size {
		return nil, errorf(ErrBadSeekTable, "%d frames need a %d-byte seek table, file has %d bytes", n, tableLen, size)
	}
	if dataLen := size - tableLen; dataLen/minFrameSize < int64(n) {
		return nil, errorf(ErrBadSeekTable, "%d frames cannot fit in %d bytes of frame data", n, dataLen)
	}
	if tableLen > math.MaxInt {
		return nil, errorf(ErrBadSeekTable, "%d-byte seek table does not fit in memory", tableLen)
	}
	buf := make([]byte, tableLen)
	if err := readFullAt(r, buf, size-tableLen); err != nil {
		return nil, readErr(err, "reading the seek table")
	}
	t, err := ParseSeekTable(buf)
	if err != nil {
		return nil, err
	}
	var c int64
	if k := len(t.Frames); k > 0 {
		c = t.Frames[k-1].CompressedOffset + t.Frames[k-1].CompressedSize
	}
	if c != size-tableLen {
		return nil, errorf(ErrBadSeekTable, "compressed sizes add up to %d bytes, the file holds %d bytes of frames", c, size-tableLen)
	}
	return t, nil
}

// readFullAt fills p from r at off. A ReaderAt may return io.EOF together
// with a full buffer at the end of its data; that is success.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readErr maps a short read of a region whose size was already checked
// against the file size to ErrTruncated (the file shrank or the ReaderAt
// lied about its size).
func readErr(err error, what string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %s: %w", ErrTruncated, what, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("zstdseek: %s: %w", what, err)
}
