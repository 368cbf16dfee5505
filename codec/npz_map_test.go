package codec

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// mapValues maps member key of z read-only and returns its elements.
func mapValues[T npy.Elem](t *testing.T, z *NpzReader, key string) []T {
	t.Helper()
	a, err := z.Map(key, mmfile.ReadOnly, nil)
	require.NoError(t, err, key)
	t.Cleanup(func() { a.Close() })
	v, err := mmfile.Slice[T](a)
	require.NoError(t, err, key)
	return v
}

func TestNpzMapAligned(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npz")
	f8 := make([]float64, 1000)
	for i := range f8 {
		f8[i] = float64(i) / 8
	}
	c16 := []complex128{1 + 2i, -3i}
	w, err := CreateNpz(path, WithAlignment(64))
	require.NoError(t, err)
	require.NoError(t, WriteNpz(w, "u8", []uint8{1, 2, 3})) // shifts the next members
	require.NoError(t, WriteNpz(w, "f8", f8, 10, 100))
	require.NoError(t, WriteNpz(w, "i4", []int32{1, -2, 3}))
	require.NoError(t, WriteNpz(w, "c16", c16))
	require.NoError(t, WriteNpz(w, "empty", []int64{}, 0, 3))
	require.NoError(t, w.Close())
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	z, err := OpenNpz(path)
	require.NoError(t, err)
	for _, k := range z.Keys() {
		off, _, err := z.ArrayOffset(k)
		require.NoError(t, err)
		assert.Zero(t, off%64, k)
	}
	assert.Equal(t, f8, mapValues[float64](t, z, "f8"))
	assert.Equal(t, []int32{1, -2, 3}, mapValues[int32](t, z, "i4.npy"))
	assert.Equal(t, c16, mapValues[complex128](t, z, "c16"))
	assert.Equal(t, []uint8{1, 2, 3}, mapValues[uint8](t, z, "u8"))
	assert.Empty(t, mapValues[int64](t, z, "empty"))

	a, err := z.Map("f8", mmfile.ReadOnly, nil)
	require.NoError(t, err)
	assert.Equal(t, []int{10, 100}, a.Shape())
	k, err := a.Index(3, 7)
	require.NoError(t, err)
	v, err := mmfile.Slice[float64](a)
	require.NoError(t, err)
	assert.Equal(t, 307.0/8, v[k])

	// Copy-on-write: private changes; the archive and its CRCs are intact.
	c, err := z.Map("f8", mmfile.CopyOnWrite, nil)
	require.NoError(t, err)
	cv, err := mmfile.Slice[float64](c)
	require.NoError(t, err)
	cv[0] = -1
	assert.Equal(t, 0.0, v[0], "the shared mapping does not see private changes")
	require.NoError(t, c.Close())
	_, err = z.Map("f8", mmfile.ReadWrite, nil)
	assert.ErrorContains(t, err, "read-write would change the archive")
	_, err = z.Map("nope", mmfile.ReadOnly, nil)
	assert.ErrorIs(t, err, ErrNoMember)

	// The mapping outlives the reader.
	require.NoError(t, z.Close())
	assert.Equal(t, 999.0/8, v[999])
	require.NoError(t, a.Close())
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	z, err = OpenNpz(path)
	require.NoError(t, err)
	require.NoError(t, z.Verify())
	z.Close()
}

func TestNpzMapRefused(t *testing.T) {
	dir := t.TempDir()
	// Deflated members have nothing to map.
	path := filepath.Join(dir, "c.npz")
	w, err := CreateNpz(path, WithDeflate(true))
	require.NoError(t, err)
	require.NoError(t, WriteNpz(w, "x", []float64{1, 2, 3}))
	require.NoError(t, w.Close())
	z, err := OpenNpz(path)
	require.NoError(t, err)
	_, err = z.Map("x", mmfile.ReadOnly, nil)
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.ErrorContains(t, err, "deflated")
	assert.ErrorContains(t, err, path)
	z.Close()

	// An archive in memory is not a file.
	var buf bytes.Buffer
	writeTestNpz(t, &buf)
	zb, err := NewNpzReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	_, err = zb.Map("floats", mmfile.ReadOnly, nil)
	assert.ErrorContains(t, err, "needs an archive file")

	// Not an .npy member.
	raw := filepath.Join(dir, "raw.npz")
	require.NoError(t, os.WriteFile(raw, zipWith(t, [2]string{"notes.txt", "hello"}), 0o644))
	zr, err := OpenNpz(raw)
	require.NoError(t, err)
	_, err = zr.Map("notes.txt", mmfile.ReadOnly, nil)
	assert.ErrorIs(t, err, ErrNotNpy)
	zr.Close()

	// Truncated archives: refused at open, and at Map when the file shrinks
	// after the directory was read.
	path = filepath.Join(dir, "s.npz")
	w, err = CreateNpz(path, WithAlignment(64))
	require.NoError(t, err)
	require.NoError(t, WriteNpz(w, "x", make([]float64, 4096)))
	require.NoError(t, WriteNpz(w, "y", []int32{1, 2}))
	require.NoError(t, w.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.npz")
	require.NoError(t, os.WriteFile(cut, b[:len(b)/2], 0o644))
	_, err = OpenNpz(cut)
	assert.Error(t, err)
	// A replaced archive is not mapped at the old offsets.
	zr, err = OpenNpz(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".new", b, 0o644))
	require.NoError(t, os.Rename(path+".new", path))
	_, err = zr.Map("y", mmfile.ReadOnly, nil)
	assert.ErrorContains(t, err, "no longer the archive that was opened")
	zr.Close()

	z, err = OpenNpz(path)
	require.NoError(t, err)
	defer z.Close()
	off, h, err := z.ArrayOffset("x")
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, off+h.DataSize()/2))
	_, err = z.Map("x", mmfile.ReadOnly, nil)
	assert.ErrorIs(t, err, npy.ErrTruncated)
	assert.ErrorContains(t, err, `member "x.npy"`)

}

// TestNpzMapNumPy maps the members of archives NumPy wrote with np.savez,
// whose members are not aligned: every member maps and its bytes match;
// typed views work where the offset suits the element type and are refused
// with a clear error elsewhere.
func TestNpzMapNumPy(t *testing.T) {
	pytest.Require(t)
	dir := t.TempDir()
	pytest.Run(t, `
import sys, os, numpy as np
d = sys.argv[1]
arrays = {
    "f8": np.arange(1000) / 8.0,
    "i4": np.arange(-500, 500, dtype="<i4"),
    "i2": np.arange(300, dtype="<i2").reshape(10, 30),
    "u1": np.arange(200, dtype="u1"),
    "b": np.arange(7) % 2 == 0,
    "f4": np.linspace(0, 1, 333, dtype="<f4"),
    "g8": np.arange(50, dtype="<f8") * 3,
}
np.savez(os.path.join(d, "np.npz"), **arrays)
np.savez_compressed(os.path.join(d, "npc.npz"), **arrays)
for k, a in arrays.items():
    np.save(os.path.join(d, k + ".npy"), a)
`, dir)
	z, err := OpenNpz(filepath.Join(dir, "np.npz"))
	require.NoError(t, err)
	defer z.Close()
	aligned, unaligned := 0, 0
	for _, k := range z.Keys() {
		a, err := z.Map(k, mmfile.ReadOnly, nil)
		require.NoError(t, err, k)
		want, err := os.ReadFile(filepath.Join(dir, k+".npy"))
		require.NoError(t, err)
		got, err := a.Bytes()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want[a.Header().DataOffset:], got), k)
		off, _, err := z.ArrayOffset(k)
		require.NoError(t, err)
		var align int64
		switch k {
		case "f8", "g8":
			align = int64(unsafe.Alignof(float64(0)))
			_, err = mmfile.Slice[float64](a)
		case "i4":
			align = 4
			_, err = mmfile.Slice[int32](a)
		case "f4":
			align = 4
			_, err = mmfile.Slice[float32](a)
		case "i2":
			align = 2
			_, err = mmfile.Slice[int16](a)
		case "u1":
			align = 1
			var v []uint8
			v, err = mmfile.Slice[uint8](a)
			if err == nil {
				assert.Equal(t, uint8(199), v[199])
			}
		case "b":
			align = 1
			var v []bool
			v, err = mmfile.Slice[bool](a)
			if err == nil {
				assert.Equal(t, []bool{true, false, true, false, true, false, true}, v)
			}
		}
		if off%align == 0 {
			aligned++
			assert.NoError(t, err, "%s at %d", k, off)
		} else {
			unaligned++
			assert.ErrorIs(t, err, npy.ErrAlignment, "%s at %d", k, off)
			assert.ErrorContains(t, err, "WithAlignment(64)")
		}
		require.NoError(t, a.Close())
	}
	assert.Greater(t, aligned, 0)
	assert.Greater(t, unaligned, 0, "np.savez leaves some members unaligned")

	// Values through a typed view, where the offset allows, match NumPy's.
	for _, k := range []string{"f8", "g8"} {
		off, _, _ := z.ArrayOffset(k)
		if off%8 != 0 {
			continue
		}
		v := mapValues[float64](t, z, k)
		want, _, err := ReadNpz[float64](z, k)
		require.NoError(t, err)
		assert.Equal(t, want, v, k)
	}

	zc, err := OpenNpz(filepath.Join(dir, "npc.npz"))
	require.NoError(t, err)
	defer zc.Close()
	_, err = zc.Map("f8", mmfile.ReadOnly, nil)
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.True(t, strings.Contains(err.Error(), "np.savez_compressed"), err)
}

// TestNpzMapFixture maps every member of the np.savez fixture (no Python
// needed): the mapped bytes are the member's data, whatever the dtype
// (structured, big-endian, Fortran order), and the deflated fixture is
// refused member by member.
func TestNpzMapFixture(t *testing.T) {
	dir := filepath.Join("..", "testdata", "npz")
	z, err := OpenNpz(filepath.Join(dir, "savez.npz"))
	require.NoError(t, err)
	defer z.Close()
	require.NotEmpty(t, z.Keys())
	for _, k := range z.Keys() {
		r, err := z.Open(k)
		require.NoError(t, err, k)
		want, err := io.ReadAll(r)
		require.NoError(t, err, k)
		r.Close()
		a, err := z.Map(k, mmfile.CopyOnWrite, nil)
		require.NoError(t, err, k)
		got, err := a.Bytes()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), k)
		assert.Equal(t, r.Header.Shape, a.Shape(), k)
		assert.Equal(t, r.Header.FortranOrder, a.FortranOrder(), k)
		require.NoError(t, a.Close())
	}
	zc, err := OpenNpz(filepath.Join(dir, "savez_compressed.npz"))
	require.NoError(t, err)
	defer zc.Close()
	for _, k := range zc.Keys() {
		_, err := zc.Map(k, mmfile.ReadOnly, nil)
		assert.ErrorIs(t, err, ErrUnsupported, k)
	}
}
