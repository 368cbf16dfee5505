package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cutTestFile returns a .npy.zst of a float64 array (the .npy bytes and the
// compressed file) with the given frame size, and its seek table size.
func cutTestFile(t *testing.T, n, frameSize int) (npyFile, zst []byte, table int) {
	t.Helper()
	data := make([]float64, n)
	for i := range data {
		data[i] = float64(i % 7)
	}
	npyFile = npyBytes(t, &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{n}}, npy.Bytes(data))
	zst = compressNpy(t, npyFile, WithFrameSize(frameSize))
	r := openNpyBytes(t, zst)
	return npyFile, zst, int(r.Zstd().SeekTable().EncodedSize())
}

// checkCut opens the first cut bytes of zst as a file through Open and
// OpenNpy and verifies what opens. It returns the error (nil if the file
// opened and verified through both readers).
func checkCut(t *testing.T, dir string, zst []byte, size int) error {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("cut%d.npy.zst", size))
	require.NoError(t, os.WriteFile(p, zst[:size], 0o644))
	defer os.Remove(p)
	var errs []error
	if r, err := Open(p); err != nil {
		errs = append(errs, fmt.Errorf("Open: %w", err))
	} else {
		if err := r.Verify(); err != nil {
			errs = append(errs, fmt.Errorf("Reader.Verify: %w", err))
		}
		r.Close()
	}
	if r, err := OpenNpy(p); err != nil {
		errs = append(errs, fmt.Errorf("OpenNpy: %w", err))
	} else {
		if err := r.Verify(); err != nil {
			errs = append(errs, fmt.Errorf("NpyReader.Verify: %w", err))
		}
		r.Close()
	}
	return errors.Join(errs...)
}

// TestCutSeekTable: a .npy.zst that lost 1 to 100 bytes (or any part) of
// its seek table ends inside a skippable frame; it must be ErrTruncated
// from Open and OpenNpy, never read as a plain zstd file that verifies.
func TestCutSeekTable(t *testing.T) {
	dir := t.TempDir()
	// 11 frames with checksums: a 149-byte seek table, so every cut of 1 to
	// 100 bytes ends inside it.
	npyFile, zst, table := cutTestFile(t, 20000, 16<<10)
	require.Greater(t, table, 100)
	for cut := 1; cut < table; cut++ {
		err := checkCut(t, dir, zst, len(zst)-cut)
		require.Error(t, err, "cut %d bytes of a %d-byte seek table", cut, table)
		assert.ErrorIs(t, err, ErrTruncated, "cut %d", cut)
		assert.Contains(t, err.Error(), fmt.Sprintf("inside frame %d", (table-17)/12), "cut %d", cut)
		assert.Contains(t, err.Error(), "cut"+fmt.Sprint(len(zst)-cut), "error names the file")
	}
	// Without its whole seek table the file is a complete plain zstd file
	// holding the .npy: it reads sequentially, as `zstd -d` reads it.
	plain := zst[:len(zst)-table]
	require.NoError(t, checkCut(t, dir, zst, len(plain)))
	r := openNpyBytes(t, plain)
	assert.False(t, r.Seekable())
	var out bytes.Buffer
	_, err := r.WriteTo(&out)
	require.NoError(t, err)
	assert.Equal(t, npyFile, out.Bytes())
}

// TestCutSmallFile cuts 1 to 100 bytes from a file whose seek table is
// short, so the cuts reach into the last data frames: a cut inside a frame
// is ErrTruncated at open, a cut on a frame boundary leaves a plain file
// whose data is short of what the header needs (ErrTruncated from Verify).
func TestCutSmallFile(t *testing.T) {
	dir := t.TempDir()
	_, zst, table := cutTestFile(t, 1000, 2048)
	r := openNpyBytes(t, zst)
	boundary := map[int]bool{}
	for i := 0; i < r.NumFrames(); i++ {
		f := r.Zstd().Frame(i)
		boundary[int(f.CompressedOffset+f.CompressedSize)] = true
	}
	require.Less(t, table, 100)
	require.Greater(t, len(zst), 100)
	for cut := 1; cut <= 100; cut++ {
		size := len(zst) - cut
		if cut == table {
			require.NoError(t, checkCut(t, dir, zst, size), "whole seek table removed")
			continue
		}
		err := checkCut(t, dir, zst, size)
		require.Error(t, err, "cut %d", cut)
		assert.ErrorIs(t, err, ErrTruncated, "cut %d", cut)
		if boundary[size] {
			// Opens as a plain file; Verify finds the missing data.
			assert.Contains(t, err.Error(), "Verify", "cut %d", cut)
			assert.ErrorIs(t, err, npy.ErrTruncated, "cut %d", cut)
		} else {
			assert.Contains(t, err.Error(), "Open: ", "cut %d", cut)
		}
	}
}

// TestCutAgreesWithZstdCLI: for every cut of the last 100 bytes, our
// verdict (error or not) matches `zstd -t`.
func TestCutAgreesWithZstdCLI(t *testing.T) {
	zstd := zstdCLI(t)
	dir := t.TempDir()
	_, zst, _ := cutTestFile(t, 1000, 2048)
	for cut := 0; cut <= 100; cut++ {
		size := len(zst) - cut
		p := filepath.Join(dir, "c.zst")
		require.NoError(t, os.WriteFile(p, zst[:size], 0o644))
		cliErr := exec.Command(zstd, "-q", "-t", p).Run()
		r, err := Open(p)
		if err == nil {
			err = r.Verify()
			r.Close()
		}
		assert.Equal(t, cliErr == nil, err == nil, "cut %d: zstd -t: %v, we: %v", cut, cliErr, err)
	}
}

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
