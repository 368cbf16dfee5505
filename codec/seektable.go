package codec

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Seek table constants from zstd's contrib/seekable_format (spec 0.1.0).
const (
	// SkippableMagic is the magic number that starts the skippable frame
	// holding the seek table (a legal generic skippable magic, so a reader
	// must find the table from the footer, never from this number alone).
	SkippableMagic uint32 = 0x184D2A5E

	// SeekableMagic is the last four bytes of every seekable file.
	SeekableMagic uint32 = 0x8F92EAB1

	// SeekTableFooterSize is the size of the seek table footer:
	// Number_Of_Frames u32, Seek_Table_Descriptor u8, Seekable_Magic_Number u32.
	SeekTableFooterSize = 9

	// MaxSeekTableFrames is the largest frame count a seek table may hold
	// (ZSTD_SEEKABLE_MAXFRAMES in zstd's reference implementation).
	MaxSeekTableFrames = 0x8000000

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

// FrameEntry is one seek table entry.
type FrameEntry struct {
	// CompressedSize is the size of the frame in the file.
	CompressedSize uint32
	// DecompressedSize is the size of the frame's decompressed data; 0 for
	// skippable or empty frames.
	DecompressedSize uint32
	// Checksum is the low 32 bits of the XXH64 (seed 0) of the frame's
	// decompressed data. Meaningful only when SeekTable.Checksums is set.
	Checksum uint32
}

// SeekTable is the seek table of a seekable zstd file: one entry per frame,
// in file order. The zero value is an empty table without checksums.
type SeekTable struct {
	// Entries lists the frames in file order.
	Entries []FrameEntry
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

// EncodedSize returns the size of the encoded seek table frame, including
// its 8-byte skippable frame header.
func (t *SeekTable) EncodedSize() int64 {
	return skippableHeaderSize + int64(len(t.Entries))*t.entrySize() + SeekTableFooterSize
}

// AppendBinary appends the encoded seek table frame to b. It fails with
// ErrTooManyFrames when the table holds more than MaxSeekTableFrames
// entries.
func (t *SeekTable) AppendBinary(b []byte) ([]byte, error) {
	if len(t.Entries) > MaxSeekTableFrames {
		return b, fmt.Errorf("%w: %d frames, a seek table holds at most %d", ErrTooManyFrames, len(t.Entries), MaxSeekTableFrames)
	}
	b = binary.LittleEndian.AppendUint32(b, SkippableMagic)
	b = binary.LittleEndian.AppendUint32(b, uint32(t.EncodedSize()-skippableHeaderSize))
	for _, e := range t.Entries {
		b = binary.LittleEndian.AppendUint32(b, e.CompressedSize)
		b = binary.LittleEndian.AppendUint32(b, e.DecompressedSize)
		if t.Checksums {
			b = binary.LittleEndian.AppendUint32(b, e.Checksum)
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(t.Entries)))
	var desc byte
	if t.Checksums {
		desc = checksumFlag
	}
	b = append(b, desc)
	b = binary.LittleEndian.AppendUint32(b, SeekableMagic)
	return b, nil
}

// MarshalBinary returns the encoded seek table frame.
func (t *SeekTable) MarshalBinary() ([]byte, error) {
	return t.AppendBinary(make([]byte, 0, t.EncodedSize()))
}

// CompressedTotal returns the sum of the entries' compressed sizes.
func (t *SeekTable) CompressedTotal() int64 {
	var s int64
	for _, e := range t.Entries {
		s += int64(e.CompressedSize)
	}
	return s
}

// DecompressedTotal returns the sum of the entries' decompressed sizes.
func (t *SeekTable) DecompressedTotal() int64 {
	var s int64
	for _, e := range t.Entries {
		s += int64(e.DecompressedSize)
	}
	return s
}

// parseFooter decodes the 9-byte footer. It reports whether the seekable
// magic is present; the other results are valid only if it is.
func parseFooter(f []byte) (frames uint32, desc byte, ok bool) {
	if len(f) != SeekTableFooterSize || binary.LittleEndian.Uint32(f[5:]) != SeekableMagic {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint32(f), f[4], true
}

// ParseSeekTable decodes a complete seek table frame: b must hold exactly
// the skippable frame, from its magic number to the seekable magic. It
// checks the structure only (magic numbers, Frame_Size against the entry
// count, reserved bits, the frame count limit and that no entry claims more
// decompressed bytes than its compressed size can encode); checks against a
// file are made by ReadSeekTable. Errors wrap ErrBadSeekTable.
func ParseSeekTable(b []byte) (*SeekTable, error) {
	if len(b) < skippableHeaderSize+SeekTableFooterSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte minimum", ErrBadSeekTable, len(b), skippableHeaderSize+SeekTableFooterSize)
	}
	n, desc, ok := parseFooter(b[len(b)-SeekTableFooterSize:])
	if !ok {
		return nil, fmt.Errorf("%w: seekable magic 0x%08X missing from the footer", ErrBadSeekTable, SeekableMagic)
	}
	if desc&reservedBits != 0 {
		return nil, fmt.Errorf("%w: reserved bits set in descriptor 0x%02X", ErrBadSeekTable, desc)
	}
	if n > MaxSeekTableFrames {
		return nil, fmt.Errorf("%w: %w: %d frames, at most %d allowed", ErrBadSeekTable, ErrTooManyFrames, n, MaxSeekTableFrames)
	}
	t := &SeekTable{Checksums: desc&checksumFlag != 0}
	want := skippableHeaderSize + int64(n)*t.entrySize() + SeekTableFooterSize
	if int64(len(b)) != want {
		return nil, fmt.Errorf("%w: %d frames need a %d-byte table, got %d bytes", ErrBadSeekTable, n, want, len(b))
	}
	if m := binary.LittleEndian.Uint32(b); m != SkippableMagic {
		return nil, fmt.Errorf("%w: table starts with 0x%08X, want skippable magic 0x%08X", ErrBadSeekTable, m, SkippableMagic)
	}
	if fs := binary.LittleEndian.Uint32(b[4:]); int64(fs) != want-skippableHeaderSize {
		return nil, fmt.Errorf("%w: Frame_Size %d does not match %d frames (want %d)", ErrBadSeekTable, fs, n, want-skippableHeaderSize)
	}
	t.Entries = make([]FrameEntry, n)
	p := b[skippableHeaderSize:]
	es := int(t.entrySize())
	for i := range t.Entries {
		e := &t.Entries[i]
		e.CompressedSize = binary.LittleEndian.Uint32(p)
		e.DecompressedSize = binary.LittleEndian.Uint32(p[4:])
		if t.Checksums {
			e.Checksum = binary.LittleEndian.Uint32(p[8:])
		}
		p = p[es:]
		if e.CompressedSize < minFrameSize {
			return nil, fmt.Errorf("%w: frame %d has %d compressed bytes, less than any zstd frame", ErrBadSeekTable, i, e.CompressedSize)
		}
		if uint64(e.DecompressedSize) > uint64(e.CompressedSize)*maxExpansion {
			return nil, fmt.Errorf("%w: frame %d claims %d decompressed bytes from %d compressed bytes, more than zstd can encode", ErrBadSeekTable, i, e.DecompressedSize, e.CompressedSize)
		}
	}
	return t, nil
}

// ReadSeekTable reads and validates the seek table at the end of a file of
// the given size. It returns an error wrapping ErrNotSeekable when the file
// does not end with the seekable magic number (a plain zstd file). Besides
// the checks of ParseSeekTable it verifies, in 64-bit arithmetic, that the
// table fits in the file, that the frame count does not exceed maxFrames
// (ErrTooManyFrames; 0 means MaxSeekTableFrames) and that the compressed
// sizes add up to exactly the bytes before the table. The table is read
// only after its size has been checked against the file size.
func ReadSeekTable(r io.ReaderAt, size int64, maxFrames int) (*SeekTable, error) {
	if maxFrames <= 0 || maxFrames > MaxSeekTableFrames {
		maxFrames = MaxSeekTableFrames
	}
	if size < 4 {
		return nil, fmt.Errorf("%w: %d-byte file", ErrNotSeekable, size)
	}
	var magic [4]byte
	if err := readFullAt(r, magic[:], size-4); err != nil {
		return nil, readErr(err, "reading the seekable magic")
	}
	if binary.LittleEndian.Uint32(magic[:]) != SeekableMagic {
		return nil, fmt.Errorf("%w: no seekable magic at the end", ErrNotSeekable)
	}
	if size < skippableHeaderSize+SeekTableFooterSize {
		return nil, fmt.Errorf("%w: file of %d bytes ends with the seekable magic but cannot hold a seek table", ErrBadSeekTable, size)
	}
	var footer [SeekTableFooterSize]byte
	if err := readFullAt(r, footer[:], size-SeekTableFooterSize); err != nil {
		return nil, readErr(err, "reading the seek table footer")
	}
	n, desc, _ := parseFooter(footer[:])
	if desc&reservedBits != 0 {
		return nil, fmt.Errorf("%w: reserved bits set in descriptor 0x%02X", ErrBadSeekTable, desc)
	}
	if int64(n) > int64(maxFrames) {
		return nil, fmt.Errorf("%w: %w: %d frames, limit %d", ErrBadSeekTable, ErrTooManyFrames, n, maxFrames)
	}
	es := int64(8)
	if desc&checksumFlag != 0 {
		es = 12
	}
	tableLen := skippableHeaderSize + int64(n)*es + SeekTableFooterSize
	if tableLen > size {
		return nil, fmt.Errorf("%w: %d frames need a %d-byte seek table, file has %d bytes", ErrBadSeekTable, n, tableLen, size)
	}
	if dataLen := size - tableLen; dataLen/minFrameSize < int64(n) {
		return nil, fmt.Errorf("%w: %d frames cannot fit in %d bytes of frame data", ErrBadSeekTable, n, dataLen)
	}
	if tableLen > math.MaxInt {
		return nil, fmt.Errorf("%w: %d-byte seek table does not fit in memory", ErrBadSeekTable, tableLen)
	}
	buf := make([]byte, tableLen)
	if err := readFullAt(r, buf, size-tableLen); err != nil {
		return nil, readErr(err, "reading the seek table")
	}
	t, err := ParseSeekTable(buf)
	if err != nil {
		return nil, err
	}
	if c := t.CompressedTotal(); c != size-tableLen {
		return nil, fmt.Errorf("%w: compressed sizes add up to %d bytes, the file holds %d bytes of frames", ErrBadSeekTable, c, size-tableLen)
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
	return fmt.Errorf("codec: %s: %w", what, err)
}
