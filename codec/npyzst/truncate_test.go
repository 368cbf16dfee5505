package npyzst

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/arrfile/arrfile/codec/zstdseek"
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
	zst = compressNpy(t, npyFile, zstdseek.WithFrameSize(frameSize))
	r := openNpyBytes(t, zst)
	tab, err := r.Zstd().SeekTable().AppendBinary(nil)
	require.NoError(t, err)
	return npyFile, zst, len(tab)
}

// checkCut opens the first cut bytes of zst as a file through zstdseek.Open
// and Open and verifies what opens. It returns the error (nil if the file
// opened and verified through both readers).
func checkCut(t *testing.T, dir string, zst []byte, size int) error {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("cut%d.npy.zst", size))
	require.NoError(t, os.WriteFile(p, zst[:size], 0o644))
	defer os.Remove(p)
	var errs []error
	if r, err := zstdseek.Open(p); err != nil {
		errs = append(errs, fmt.Errorf("Open: %w", err))
	} else {
		if err := r.Verify(); err != nil {
			errs = append(errs, fmt.Errorf("Reader.Verify: %w", err))
		}
		r.Close()
	}
	if r, err := Open(p); err != nil {
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
// from zstdseek.Open and Open, never read as a plain zstd file that verifies.
func TestCutSeekTable(t *testing.T) {
	dir := t.TempDir()
	// 11 frames with checksums: a 149-byte seek table, so every cut of 1 to
	// 100 bytes ends inside it.
	npyFile, zst, table := cutTestFile(t, 20000, 16<<10)
	require.Greater(t, table, 100)
	for cut := 1; cut < table; cut++ {
		err := checkCut(t, dir, zst, len(zst)-cut)
		require.Error(t, err, "cut %d bytes of a %d-byte seek table", cut, table)
		assert.ErrorIs(t, err, zstdseek.ErrTruncated, "cut %d", cut)
		assert.Contains(t, err.Error(), fmt.Sprintf("inside frame %d", (table-17)/12), "cut %d", cut)
		assert.Contains(t, err.Error(), "cut"+fmt.Sprint(len(zst)-cut), "error names the file")
	}
	// Without its whole seek table the file is a complete plain zstd file
	// holding the .npy: it reads sequentially, as `zstd -d` reads it.
	plain := zst[:len(zst)-table]
	require.NoError(t, checkCut(t, dir, zst, len(plain)))
	r := openNpyBytes(t, plain)
	assert.False(t, seekable(r))
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
	for _, f := range r.Zstd().SeekTable().Frames {
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
		assert.ErrorIs(t, err, zstdseek.ErrTruncated, "cut %d", cut)
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
	zstdBin := zstdCLI(t)
	dir := t.TempDir()
	_, zst, _ := cutTestFile(t, 1000, 2048)
	for cut := 0; cut <= 100; cut++ {
		size := len(zst) - cut
		p := filepath.Join(dir, "c.zst")
		require.NoError(t, os.WriteFile(p, zst[:size], 0o644))
		cliErr := exec.Command(zstdBin, "-q", "-t", p).Run()
		r, err := zstdseek.Open(p)
		if err == nil {
			err = r.Verify()
			r.Close()
		}
		assert.Equal(t, cliErr == nil, err == nil, "cut %d: zstd -t: %v, we: %v", cut, cliErr, err)
	}
}
