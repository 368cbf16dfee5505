package mmfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

// containerFile writes prefix bytes, then the .npy of data, then suffix
// bytes, and returns the path and the .npy's offset.
func containerFile[T npy.Elem](t *testing.T, prefix int, data []T, suffix int) (string, int64) {
	t.Helper()
	var b bytes.Buffer
	b.Write(bytes.Repeat([]byte{0xEE}, prefix))
	require.NoError(t, npy.Write(&b, data))
	b.Write(bytes.Repeat([]byte{0xDD}, suffix))
	p := filepath.Join(t.TempDir(), "container.bin")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p, int64(prefix)
}

func TestOpenSection(t *testing.T) {
	data := make([]float64, 3000)
	for i := range data {
		data[i] = float64(i) * 1.5
	}
	// The .npy starts past the first page, 64-aligned: its data (header
	// 128 bytes) is aligned for float64.
	for _, pop := range []PopulateMode{PopulateDefault, PopulateNone, PopulateMap, PopulateAdvise} {
		p, off := containerFile(t, 4096+64, data, 100)
		a, err := OpenSection(p, off, ReadOnly, &Options{Populate: pop})
		require.NoError(t, err, "populate %d", pop)
		v, err := Slice[float64](a)
		require.NoError(t, err)
		assert.Equal(t, data, v)
		assert.Equal(t, []int{3000}, a.Header().Shape)
		k := make([]byte, 8)
		_, err = a.ReadAt(k, 8*2999)
		require.NoError(t, err)
		assert.Equal(t, npy.Bytes(data[2999:]), k)
		require.NoError(t, a.Advise(AdviceWillNeed, 0, a.Header().DataSize()))
		require.NoError(t, a.Advise(AdviceSequential, 8, 100))
		require.NoError(t, a.Close())
	}

	p, off := containerFile(t, 4096+64, data, 100)
	before, err := os.ReadFile(p)
	require.NoError(t, err)

	// Copy-on-write: private changes, the file is untouched.
	c, err := OpenSection(p, off, CopyOnWrite, nil)
	require.NoError(t, err)
	cv, err := Slice[float64](c)
	require.NoError(t, err)
	cv[0], cv[2999] = -1, -2
	require.NoError(t, c.Close())
	after, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	// Read-write: writes land in the section's bytes, nowhere else.
	w, err := OpenSection(p, off, ReadWrite, nil)
	require.NoError(t, err)
	wv, err := Slice[float64](w)
	require.NoError(t, err)
	wv[1] = 42
	require.NoError(t, w.Close())
	after, err = os.ReadFile(p)
	require.NoError(t, err)
	at := int(off) + 128 + 8
	assert.Equal(t, npy.Bytes([]float64{42}), after[at:at+8])
	assert.Equal(t, before[:at], after[:at])
	assert.Equal(t, before[at+8:], after[at+8:])

	// Offset 0 is a whole-file Open (with trailing bytes allowed).
	p0, _ := containerFile(t, 0, data[:10], 0)
	z, err := OpenSection(p0, 0, ReadOnly, nil)
	require.NoError(t, err)
	zv, err := Slice[float64](z)
	require.NoError(t, err)
	assert.Equal(t, data[:10], zv)
	require.NoError(t, z.Close())
}

func TestOpenSectionUnaligned(t *testing.T) {
	// Data at an odd offset: bytes (and uint8 views) work, float64 views
	// are refused with the offset named.
	f64 := []float64{1, 2, 3}
	p, off := containerFile(t, 4099, f64, 0)
	a, err := OpenSection(p, off, ReadOnly, nil)
	require.NoError(t, err)
	defer a.Close()
	b, err := a.Bytes()
	require.NoError(t, err)
	assert.Equal(t, npy.Bytes(f64), b)
	_, err = Slice[float64](a)
	assert.ErrorIs(t, err, npy.ErrAlignment)
	assert.ErrorContains(t, err, "starts at byte 4227 of the file, not a multiple of 8")
	assert.ErrorContains(t, err, "WithAlignment(64)")

	u8 := []uint8{1, 2, 3, 4, 5}
	p, off = containerFile(t, 4099, u8, 7)
	u, err := OpenSection(p, off, ReadOnly, nil)
	require.NoError(t, err)
	defer u.Close()
	uv, err := Slice[uint8](u)
	require.NoError(t, err)
	assert.Equal(t, u8, uv)

	// An int32 array at an offset that is a multiple of 4 but not 8.
	i32 := []int32{7, 8, 9}
	p, off = containerFile(t, 4, i32, 0)
	i, err := OpenSection(p, off, ReadOnly, nil)
	require.NoError(t, err)
	defer i.Close()
	iv, err := Slice[int32](i)
	require.NoError(t, err)
	assert.Equal(t, i32, iv)
}

func TestOpenSectionErrors(t *testing.T) {
	data := []float64{1, 2, 3, 4}
	p, off := containerFile(t, 64, data, 0)
	fi, err := os.Stat(p)
	require.NoError(t, err)

	// The section must hold all the data.
	require.NoError(t, os.Truncate(p, fi.Size()-1))
	_, err = OpenSection(p, off, ReadOnly, nil)
	assert.ErrorIs(t, err, npy.ErrTruncated)
	assert.ErrorContains(t, err, "array at byte 64")

	_, err = OpenSection(p, fi.Size()+10, ReadOnly, nil)
	assert.ErrorIs(t, err, npy.ErrTruncated)
	_, err = OpenSection(p, -1, ReadOnly, nil)
	assert.ErrorContains(t, err, "negative section offset")
	// No .npy at that offset.
	_, err = OpenSection(p, off+1, ReadOnly, nil)
	assert.ErrorIs(t, err, npy.ErrBadMagic)
	_, err = OpenSection(p, 0, ReadOnly, nil)
	assert.ErrorIs(t, err, npy.ErrBadMagic)
	_, err = OpenSection(p, off, Mode(7), nil)
	assert.ErrorContains(t, err, "invalid mode")
	_, err = OpenSection(filepath.Dir(p), 0, ReadOnly, nil)
	assert.ErrorContains(t, err, "not a regular file")
	_, err = OpenSection(filepath.Join(filepath.Dir(p), "missing"), 0, ReadOnly, nil)
	assert.ErrorIs(t, err, os.ErrNotExist)
}
