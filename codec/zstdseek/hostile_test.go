package zstdseek

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawFrame returns a zstd frame without content size or checksum holding
// data in one raw block, declaring a window of 2^(10+windowExp) bytes.
func rawFrame(data []byte, windowExp byte) []byte {
	f := binary.LittleEndian.AppendUint32(nil, zstdMagic)
	f = append(f, 0x00, windowExp<<3) // FHD: no FCS, no single segment, no checksum; window descriptor
	h := uint32(len(data))<<3 | 1     // raw block, last
	f = append(f, byte(h), byte(h>>8), byte(h>>16))
	return append(f, data...)
}

// seekable assembles frames and a seek table listing the given
// decompressed sizes and checksums of want.
func seekable(t testing.TB, frames [][]byte, dsizes []int64, sums []uint32) []byte {
	tab := &SeekTable{Checksums: sums != nil}
	var file []byte
	for i, f := range frames {
		e := Frame{CompressedSize: int64(len(f)), DecompressedSize: dsizes[i]}
		if sums != nil {
			e.Checksum = sums[i]
		}
		tab.Frames = append(tab.Frames, e)
		file = append(file, f...)
	}
	b, err := tab.AppendBinary(nil)
	require.NoError(t, err)
	return append(file, b...)
}

func sum32(b []byte) uint32 { return uint32(xxhash.Sum64(b)) }

func TestCorruptFrameIsolated(t *testing.T) {
	data := testData(10_000, 20)
	file := compress(t, data, WithFrameSize(1000))
	r := newReader(t, file)
	// Damage frame 3 in the middle of its compressed bytes.
	f := r.SeekTable().Frames[3]
	bad := append([]byte(nil), file...)
	bad[f.CompressedOffset+f.CompressedSize/2] ^= 0xFF
	br := newReader(t, bad, WithName("bad.zst"))

	p := make([]byte, 1000)
	_, err := br.ReadAt(p, 3500)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrCorrupt) || errors.Is(err, ErrChecksum), "%v", err)
	assert.Contains(t, err.Error(), "bad.zst")
	assert.Contains(t, err.Error(), "frame 3 of 10")

	// Other ranges still read fine.
	m, err := br.ReadAt(p, 5000)
	require.NoError(t, err)
	assert.Equal(t, data[5000:6000], p[:m])

	// A read spanning the bad frame reports the bytes before it.
	big := make([]byte, 4000)
	m, err = br.ReadAt(big, 1500)
	assert.Error(t, err)
	assert.Equal(t, 1500, m)
	assert.Equal(t, data[1500:3000], big[:m])

	assert.Error(t, br.Verify())
	var out bytes.Buffer
	_, err = br.WriteTo(&out)
	assert.Error(t, err)
	assert.LessOrEqual(t, out.Len(), 3000, "nothing past the bad frame is written")
	assert.Equal(t, data[:out.Len()], out.Bytes())
}

func TestSeekTableChecksumMismatch(t *testing.T) {
	data := testData(4000, 21)
	// With zstd frame checksums the table is checked against them; without,
	// by hashing the data.
	for _, crc := range []bool{true, false} {
		file := compress(t, data, WithFrameSize(1000), WithFrameCRC(crc))
		// Flip a bit of frame 2's checksum in the seek table.
		r := newReader(t, file)
		tabStart := int64(len(file)) - r.SeekTable().encodedSize()
		bad := append([]byte(nil), file...)
		bad[tabStart+8+2*12+8] ^= 1
		br := newReader(t, bad)
		p := make([]byte, 10)
		_, err := br.ReadAt(p, 2100)
		assert.ErrorIs(t, err, ErrChecksum, "frame CRC %v", crc)
		_, err = br.ReadAt(p, 1100)
		assert.NoError(t, err)
		assert.ErrorIs(t, br.Verify(), ErrChecksum)
	}
}

func TestZstdContentChecksumMismatch(t *testing.T) {
	data := testData(4000, 22)
	file := compress(t, data, WithFrameSize(1000), WithChecksum(false))
	r := newReader(t, file)
	f := r.SeekTable().Frames[1]
	bad := append([]byte(nil), file...)
	bad[f.CompressedOffset+f.CompressedSize-1] ^= 0x10 // last byte of the frame's XXH64
	br := newReader(t, bad)
	_, err := br.ReadAt(make([]byte, 10), 1500)
	assert.ErrorIs(t, err, ErrChecksum)
	assert.ErrorIs(t, err, zstd.ErrCRCMismatch)
}

func TestLyingSeekTable(t *testing.T) {
	payload := []byte("hello")
	frame := rawFrame(payload, 0)
	// Decompressed size in the table below and above the truth.
	for _, d := range []int64{4, 6} {
		br := newReader(t, seekable(t, [][]byte{frame}, []int64{d}, nil))
		assert.ErrorIs(t, br.Verify(), ErrCorrupt, "size %d", d)
		_, err := br.ReadAt(make([]byte, d), 0)
		assert.ErrorIs(t, err, ErrCorrupt)
	}
	// The truth passes, with and without checksum.
	ok := newReader(t, seekable(t, [][]byte{frame}, []int64{5}, []uint32{sum32(payload)}))
	assert.NoError(t, ok.Verify())
	// Frame content size in the zstd header disagrees with the table:
	// caught from the header, before decoding.
	withFCS := compress(t, testData(3000, 23), WithFrameSize(3000), WithChecksum(false))
	bad := append([]byte(nil), withFCS...)
	tabStart := len(bad) - 8 - 8 - 9
	binary.LittleEndian.PutUint32(bad[tabStart+12:], 2999)
	br := newReader(t, bad)
	err := br.Verify()
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), "frame header says 3000")
	// A skippable frame listed with decompressed bytes.
	skip := []byte{0x5E, 0x2A, 0x4D, 0x18, 2, 0, 0, 0, 9, 9}
	br = newReader(t, seekable(t, [][]byte{skip, frame}, []int64{1, 4}, nil))
	assert.ErrorIs(t, br.Verify(), ErrCorrupt)
	// A skippable frame listed correctly is fine and skipped.
	br = newReader(t, seekable(t, [][]byte{skip, frame}, []int64{0, 5}, nil))
	var out bytes.Buffer
	_, err = br.WriteTo(&out)
	require.NoError(t, err)
	assert.Equal(t, "hello", out.String())
	p := make([]byte, 3)
	_, err = br.ReadAt(p, 2)
	require.NoError(t, err)
	assert.Equal(t, "llo", string(p))
	// An empty read at the boundary of two frames with a skippable frame
	// between them reads nothing (it used to panic), and reads across it
	// skip it.
	br = newReader(t, seekable(t, [][]byte{frame, skip, frame}, []int64{5, 0, 5}, nil))
	n, err := br.ReadAt(nil, 5)
	assert.Equal(t, 0, n)
	assert.NoError(t, err)
	p = make([]byte, 4)
	_, err = br.ReadAt(p, 3)
	require.NoError(t, err)
	assert.Equal(t, "lohe", string(p))
}

func TestFrameLimits(t *testing.T) {
	data := testData(20_000, 24)
	file := compress(t, data, WithFrameSize(8192))
	_, err := NewReader(bytes.NewReader(file), int64(len(file)), WithMaxFrameSize(4096))
	assert.ErrorIs(t, err, ErrFrameTooLarge)
	_, err = NewReader(bytes.NewReader(file), int64(len(file)), WithMaxFrames(2))
	assert.ErrorIs(t, err, ErrTooManyFrames)

	// A frame declaring a 1 GiB window for 5 bytes of data: rejected by
	// the window limit, not allocated.
	huge := seekable(t, [][]byte{rawFrame([]byte("hello"), 20)}, []int64{5}, nil)
	br := newReader(t, huge)
	err = br.Verify()
	assert.ErrorIs(t, err, ErrFrameTooLarge)
	assert.ErrorIs(t, err, zstd.ErrWindowSizeExceeded)
	assert.Contains(t, err.Error(), "window")
	// An 8 MiB window is accepted for small frames (other writers'
	// streaming frames declare such windows).
	ok := newReader(t, seekable(t, [][]byte{rawFrame([]byte("hello"), 13)}, []int64{5}, nil))
	assert.NoError(t, ok.Verify())

	// Plain files: the window limit applies to the streaming decoder.
	plain := plainZstd(t, testData(3<<20, 25), zstd.WithWindowSize(4<<20), zstd.WithSingleSegment(false))
	pr := newReader(t, plain, WithMaxFrameSize(1<<20))
	assert.ErrorIs(t, pr.Verify(), ErrFrameTooLarge)
	pr = newReader(t, plain)
	assert.NoError(t, pr.Verify())
}

func TestTruncatedEverywhere(t *testing.T) {
	data := testData(3000, 26)
	file := compress(t, data, WithFrameSize(1000))
	r := newReader(t, file)
	// A cut between frames leaves a valid plain zstd file holding a prefix.
	boundary := map[int]int{}
	for i := 0; i < len(r.SeekTable().Frames); i++ {
		f := r.SeekTable().Frames[i]
		boundary[int(f.CompressedOffset+f.CompressedSize)] = int(f.DecompressedOffset + f.DecompressedSize)
	}
	for cut := 0; cut < len(file); cut++ {
		b := file[:cut]
		cr, err := NewReader(bytes.NewReader(b), int64(cut))
		if err != nil {
			// A cut inside a frame or the seek table is found at open by
			// following the frames (ErrTruncated); fewer than 4 bytes are
			// not zstd at all.
			if cut < 4 {
				assert.ErrorIs(t, err, ErrNotZstd, "cut %d", cut)
			} else {
				assert.ErrorIs(t, err, ErrTruncated, "cut %d", cut)
				assert.NotContains(t, boundary, cut, "cut %d on a frame boundary", cut)
			}
			continue
		}
		var out bytes.Buffer
		_, err = cr.WriteTo(&out)
		if n, ok := boundary[cut]; ok {
			assert.NoError(t, err)
			assert.Equal(t, data[:n], out.Bytes())
		} else {
			assert.ErrorIs(t, err, ErrTruncated, "cut %d", cut)
		}
		cr.Close()
	}
}

// shortReaderAt claims a size but its data ends early, as a file that
// shrank after Stat.
type shortReaderAt struct{ b []byte }

func (s shortReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(s.b)) {
		return 0, io.EOF
	}
	n := copy(p, s.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestFileShrinksAfterOpen(t *testing.T) {
	data := testData(5000, 27)
	file := compress(t, data, WithFrameSize(1000))
	s := &shortReaderAt{b: file}
	r, err := NewReader(s, int64(len(file)))
	require.NoError(t, err)
	defer r.Close()
	s.b = file[:100]
	_, err = r.ReadAt(make([]byte, 10), 4500)
	assert.ErrorIs(t, err, ErrTruncated)
}

func TestBadZstdFrames(t *testing.T) {
	ok := rawFrame([]byte("hello"), 0)
	// Block type 3 is reserved.
	reserved := append([]byte(nil), ok...)
	reserved[6] |= 3 << 1
	// Frame header descriptor bit 3 is reserved.
	fhd := append([]byte(nil), ok...)
	fhd[4] |= 1 << 3
	// A dictionary we do not have.
	dict := append(append([]byte(nil), ok[:4]...), 0x01, 0x00, 0x07)
	dict = append(dict, ok[6:]...)
	for name, f := range map[string][]byte{"block type 3": reserved, "reserved FHD bit": fhd, "dictionary": dict} {
		br := newReader(t, seekable(t, [][]byte{f}, []int64{5}, nil))
		err := br.Verify()
		assert.ErrorIs(t, err, ErrCorrupt, name)
		_, err = br.ReadAt(make([]byte, 5), 0)
		assert.ErrorIs(t, err, ErrCorrupt, name)
	}
}
