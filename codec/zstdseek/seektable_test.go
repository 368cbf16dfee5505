package zstdseek

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeekTableGoldenBytes(t *testing.T) {
	tab := &SeekTable{Checksums: true, Frames: []Frame{
		{CompressedSize: 0x10, DecompressedSize: 0x20, Checksum: 0xAABBCCDD},
		{CompressedOffset: 0x10, DecompressedOffset: 0x20, CompressedSize: 0x11, DecompressedSize: 0, Checksum: 0x01020304},
	}}
	b, err := tab.AppendBinary(nil)
	require.NoError(t, err)
	want := []byte{
		0x5E, 0x2A, 0x4D, 0x18, // skippable magic 0x184D2A5E
		0x21, 0x00, 0x00, 0x00, // Frame_Size = 2*12 + 9 = 33
		0x10, 0, 0, 0, 0x20, 0, 0, 0, 0xDD, 0xCC, 0xBB, 0xAA,
		0x11, 0, 0, 0, 0x00, 0, 0, 0, 0x04, 0x03, 0x02, 0x01,
		0x02, 0, 0, 0, // Number_Of_Frames
		0x80,                   // descriptor: Checksum_Flag
		0xB1, 0xEA, 0x92, 0x8F, // seekable magic 0x8F92EAB1
	}
	assert.Equal(t, want, b)
	assert.Equal(t, int64(len(want)), tab.encodedSize())

	got, err := ParseSeekTable(b)
	require.NoError(t, err)
	assert.Equal(t, tab, got)

	noSum := &SeekTable{Frames: tab.Frames[:1]}
	b, err = noSum.AppendBinary(nil)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x5E, 0x2A, 0x4D, 0x18, 0x11, 0, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 0, 0, 1, 0, 0, 0, 0x00, 0xB1, 0xEA, 0x92, 0x8F}, b)
	got, err = ParseSeekTable(b)
	require.NoError(t, err)
	assert.Equal(t, []Frame{{CompressedSize: 0x10, DecompressedSize: 0x20}}, got.Frames)
	assert.False(t, got.Checksums)

	// Sizes that do not fit a 32-bit field are refused.
	for _, f := range []Frame{{CompressedSize: 1 << 32}, {CompressedSize: 9, DecompressedSize: -1}} {
		_, err = (&SeekTable{Frames: []Frame{f}}).AppendBinary(nil)
		assert.Error(t, err)
	}
}

func TestSeekTableEmpty(t *testing.T) {
	b, err := (&SeekTable{}).AppendBinary(nil)
	require.NoError(t, err)
	assert.Len(t, b, 17)
	got, err := ParseSeekTable(b)
	require.NoError(t, err)
	assert.Empty(t, got.Frames)
}

// table builds an encoded seek table with checksums for the given
// (compressed, decompressed) pairs.
func table(t testing.TB, sizes ...int64) []byte {
	tab := &SeekTable{Checksums: true}
	for i := 0; i+1 < len(sizes); i += 2 {
		tab.Frames = append(tab.Frames, Frame{CompressedSize: sizes[i], DecompressedSize: sizes[i+1]})
	}
	b, err := tab.AppendBinary(nil)
	require.NoError(t, err)
	return b
}

func TestParseSeekTableErrors(t *testing.T) {
	good := table(t, 100, 200, 50, 0)
	mod := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	cases := map[string][]byte{
		"short":            good[:16],
		"no magic":         mod(func(b []byte) []byte { b[len(b)-1] = 0; return b }),
		"reserved bit 2":   mod(func(b []byte) []byte { b[len(b)-5] |= 0x04; return b }),
		"reserved bit 6":   mod(func(b []byte) []byte { b[len(b)-5] |= 0x40; return b }),
		"count too big":    mod(func(b []byte) []byte { b[len(b)-9] = 3; return b }),
		"count too small":  mod(func(b []byte) []byte { b[len(b)-9] = 1; return b }),
		"count huge":       mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[len(b)-9:], 0xFFFFFFFF); return b }),
		"bad skippable":    mod(func(b []byte) []byte { b[0] = 0x50; return b }),
		"frame size lies":  mod(func(b []byte) []byte { b[4]++; return b }),
		"extra byte":       append(append([]byte(nil), good[:len(good)-9]...), append([]byte{0}, good[len(good)-9:]...)...),
		"tiny frame":       table(t, 7, 0),
		"zero frame":       table(t, 0, 0),
		"impossible ratio": table(t, 10, 10*maxExpansion+1),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSeekTable(b)
			assert.ErrorIs(t, err, ErrBadSeekTable)
		})
	}
	_, err := ParseSeekTable(mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[len(b)-9:], maxSeekTableFrames+1); return b }))
	assert.ErrorIs(t, err, ErrTooManyFrames)

	// Unused bits 1-0 are ignored.
	tab, err := ParseSeekTable(mod(func(b []byte) []byte { b[len(b)-5] |= 0x03; return b }))
	require.NoError(t, err)
	assert.True(t, tab.Checksums)
	assert.Len(t, tab.Frames, 2)
}

func TestReadSeekTableAgainstFile(t *testing.T) {
	tab := table(t, 100, 200, 50, 0)
	file := append(bytes.Repeat([]byte{0}, 150), tab...)
	got, err := readSeekTable(bytes.NewReader(file), int64(len(file)), 0)
	require.NoError(t, err)
	assert.Len(t, got.Frames, 2)

	// Compressed sizes must add up to the bytes before the table.
	short := file[1:]
	_, err = readSeekTable(bytes.NewReader(short), int64(len(short)), 0)
	assert.ErrorIs(t, err, ErrBadSeekTable)
	long := append([]byte{0}, file...)
	_, err = readSeekTable(bytes.NewReader(long), int64(len(long)), 0)
	assert.ErrorIs(t, err, ErrBadSeekTable)

	// Frame count limit.
	_, err = readSeekTable(bytes.NewReader(file), int64(len(file)), 1)
	assert.ErrorIs(t, err, ErrTooManyFrames)

	// A footer claiming more frames than the file can hold is rejected
	// before the table is read.
	lie := append([]byte(nil), file...)
	binary.LittleEndian.PutUint32(lie[len(lie)-9:], 1<<26)
	_, err = readSeekTable(bytes.NewReader(lie), int64(len(lie)), maxSeekTableFrames)
	assert.ErrorIs(t, err, ErrBadSeekTable)
	assert.Contains(t, err.Error(), "file has")

	// No magic: not seekable.
	_, err = readSeekTable(bytes.NewReader(file[:len(file)-1]), int64(len(file)-1), 0)
	assert.ErrorIs(t, err, ErrNotSeekable)
	_, err = readSeekTable(bytes.NewReader(nil), 0, 0)
	assert.ErrorIs(t, err, ErrNotSeekable)

	// Magic only.
	m := tab[len(tab)-4:]
	_, err = readSeekTable(bytes.NewReader(m), 4, 0)
	assert.ErrorIs(t, err, ErrBadSeekTable)

	// A ReaderAt whose size lies (file shorter than claimed).
	_, err = readSeekTable(bytes.NewReader(file[:len(file)-20]), int64(len(file)), 0)
	assert.Error(t, err)
}
