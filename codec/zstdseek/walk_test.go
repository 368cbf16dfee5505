package zstdseek

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWalkFrames(t *testing.T) {
	frame := rawFrame([]byte("hello"), 0)
	skip := binary.LittleEndian.AppendUint32(nil, 0x184D2A53)
	skip = binary.LittleEndian.AppendUint32(skip, 3)
	skip = append(skip, 1, 2, 3)
	// A frame with a 4-byte content checksum and an RLE block.
	rle := binary.LittleEndian.AppendUint32(nil, zstdMagic)
	rle = append(rle, 0x24, 10)   // FHD: single segment, checksum, 1-byte FCS = 10
	h := uint32(10)<<3 | 1<<1 | 1 // RLE block of 10 bytes, last
	rle = append(rle, byte(h), byte(h>>8), byte(h>>16), 'x')
	rle = append(rle, 0, 0, 0, 0) // checksum (not verified by the walk)
	// Two blocks, the first not last.
	two := binary.LittleEndian.AppendUint32(nil, zstdMagic)
	two = append(two, 0x00, 0x00)
	h1 := uint32(2) << 3
	two = append(two, byte(h1), byte(h1>>8), byte(h1>>16), 'a', 'b')
	h2 := uint32(1)<<3 | 1
	two = append(two, byte(h2), byte(h2>>8), byte(h2>>16), 'c')

	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for name, tc := range map[string]struct {
		file   []byte
		frames int
		err    error
	}{
		"one frame":              {frame, 1, nil},
		"skippable first":        {cat(skip, frame), 2, nil},
		"skippable last":         {cat(frame, rle, skip), 3, nil},
		"two blocks":             {cat(two, two), 2, nil},
		"empty":                  {nil, 0, nil},
		"cut magic":              {cat(frame, rle[:3]), 1, ErrTruncated},
		"cut header":             {cat(frame, rle[:5]), 1, ErrTruncated},
		"cut block header":       {cat(frame, two[:7]), 1, ErrTruncated},
		"cut block":              {cat(frame, two[:10]), 1, ErrTruncated},
		"cut before second":      {cat(frame, two[:11]), 1, ErrTruncated},
		"cut checksum":           {cat(rle[:len(rle)-1]), 0, ErrTruncated},
		"cut skippable header":   {cat(frame, skip[:6]), 1, ErrTruncated},
		"cut skippable content":  {cat(frame, skip[:10]), 1, ErrTruncated},
		"garbage after":          {cat(frame, []byte("garbage!")), 1, ErrCorrupt},
		"not zstd":               {[]byte("garbage!"), 0, ErrNotZstd},
		"reserved block type":    {func() []byte { b := cat(frame); b[6] |= 3 << 1; return b }(), 0, ErrCorrupt},
		"reserved header bit":    {func() []byte { b := cat(frame); b[4] |= 1 << 3; return b }(), 0, ErrCorrupt},
		"block beyond 128 KiB":   {cat(frame[:6], []byte{0xF9, 0xFF, 0xFF}), 0, ErrCorrupt},
		"skippable size 4 GiB-1": {cat(skip[:4], []byte{0xFF, 0xFF, 0xFF, 0xFF}), 0, ErrTruncated},
	} {
		n, err := walkFrames(bytes.NewReader(tc.file), int64(len(tc.file)))
		assert.Equal(t, tc.frames, n, name)
		if tc.err == nil {
			assert.NoError(t, err, name)
		} else {
			assert.ErrorIs(t, err, tc.err, name)
		}
	}
}

// TestWalkManyBlocks: a plain file of many tiny blocks is walked through
// the peek window, with few reads.
func TestWalkManyBlocks(t *testing.T) {
	f := binary.LittleEndian.AppendUint32(nil, zstdMagic)
	f = append(f, 0x00, 0x00)
	for i := 0; i < 10000; i++ {
		h := uint32(1) << 3
		if i == 9999 {
			h |= 1
		}
		f = append(f, byte(h), byte(h>>8), byte(h>>16), byte(i))
	}
	c := &countingReaderAt{r: bytes.NewReader(f)}
	n, err := walkFrames(c, int64(len(f)))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.LessOrEqual(t, c.reads, len(f)/walkPeekSize+2)
}

type countingReaderAt struct {
	r     *bytes.Reader
	reads int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return c.r.ReadAt(p, off)
}
