package npz_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// The tests here map stored members in place the way ExampleReader_DataOffset
// does: npz finds the member's bytes (and refuses deflated members and
// members whose headers do not fit), mmfile maps them (and refuses data
// past the end of the file), and the caller, who names the file twice,
// checks that the name still refers to the archive it read.

// archive is an .npz file opened for mapping its members.
type archive struct {
	f  *os.File
	fi os.FileInfo
	z  *npz.Reader
}

func openArchive(t testing.TB, name string) *archive {
	t.Helper()
	f, err := os.Open(name)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	require.NoError(t, err)
	z, err := npz.NewReader(f, fi.Size())
	require.NoError(t, err)
	return &archive{f, fi, z}
}

// mapMember maps the stored array member key in place, checking that the
// mapped header is the one the reader read. ReadWrite is refused: writing
// would change the archive behind its CRC-32.
func (ar *archive) mapMember(key string, mode mmfile.Mode) (*mmfile.Array, error) {
	if mode == mmfile.ReadWrite {
		return nil, errors.New("mapping an archive member read-write would change the archive behind its CRC-32; map it ReadOnly or CopyOnWrite")
	}
	m, err := ar.z.Member(key)
	if err != nil {
		return nil, err
	}
	off, err := ar.z.DataOffset(key)
	if err != nil {
		return nil, err
	}
	r, err := ar.z.Open(key)
	if err != nil {
		return nil, err
	}
	a, err := mmfile.OpenSection(ar.f.Name(), off, mode, nil)
	if err != nil {
		return nil, fmt.Errorf("member %q: %w", m.Name, err)
	}
	if h := a.Header(); h.DataOffset != r.Header.DataOffset || h.String() != r.Header.String() {
		a.Close()
		return nil, fmt.Errorf("%w: member %q: header changed under the reader (%s, was %s)", npz.ErrBadZip, m.Name, h, r.Header)
	}
	af, err := a.File()
	if err == nil {
		var afi os.FileInfo
		if afi, err = af.Stat(); err == nil && !os.SameFile(ar.fi, afi) {
			err = fmt.Errorf("member %q: %s is no longer the archive that was opened (replaced since)", m.Name, ar.f.Name())
		}
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// mapValues maps member key read-only and returns its elements.
func mapValues[T npy.Elem](t *testing.T, ar *archive, key string) []T {
	t.Helper()
	a, err := ar.mapMember(key, mmfile.ReadOnly)
	require.NoError(t, err, key)
	t.Cleanup(func() { a.Close() })
	v, err := mmfile.Slice[T](a)
	require.NoError(t, err, key)
	return v
}

// createArchive writes the named arrays (in order) to a new archive.
func createArchive(t testing.TB, name string, opts []npz.WriterOption, members ...any) {
	t.Helper()
	w, err := npz.Create(name, opts...)
	require.NoError(t, err)
	for i := 0; i < len(members); i += 3 {
		m, err := w.Create(members[i].(string))
		require.NoError(t, err)
		var shape []int
		if s, ok := members[i+2].([]int); ok {
			shape = s
		}
		switch v := members[i+1].(type) {
		case []uint8:
			err = npy.Write(m, v, shape...)
		case []int32:
			err = npy.Write(m, v, shape...)
		case []int64:
			err = npy.Write(m, v, shape...)
		case []float64:
			err = npy.Write(m, v, shape...)
		case []complex128:
			err = npy.Write(m, v, shape...)
		default:
			t.Fatalf("type %T", v)
		}
		require.NoError(t, err)
		require.NoError(t, m.Close())
	}
	require.NoError(t, w.Close())
}

func TestNpzMapAligned(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npz")
	f8 := make([]float64, 1000)
	for i := range f8 {
		f8[i] = float64(i) / 8
	}
	c16 := []complex128{1 + 2i, -3i}
	createArchive(t, path, []npz.WriterOption{npz.WithAlignment(64)},
		"u8", []uint8{1, 2, 3}, nil, // shifts the next members
		"f8", f8, []int{10, 100},
		"i4", []int32{1, -2, 3}, nil,
		"c16", c16, nil,
		"empty", []int64{}, []int{0, 3})
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	ar := openArchive(t, path)
	for _, m := range ar.z.Members() {
		off, err := ar.z.DataOffset(m.Key)
		require.NoError(t, err)
		h, err := npy.ReadHeader(bytes.NewReader(before[off:]))
		require.NoError(t, err)
		assert.Zero(t, (off+h.DataOffset)%64, m.Key)
	}
	assert.Equal(t, f8, mapValues[float64](t, ar, "f8"))
	assert.Equal(t, []int32{1, -2, 3}, mapValues[int32](t, ar, "i4.npy"))
	assert.Equal(t, c16, mapValues[complex128](t, ar, "c16"))
	assert.Equal(t, []uint8{1, 2, 3}, mapValues[uint8](t, ar, "u8"))
	assert.Empty(t, mapValues[int64](t, ar, "empty"))

	a, err := ar.mapMember("f8", mmfile.ReadOnly)
	require.NoError(t, err)
	assert.Equal(t, []int{10, 100}, a.Header().Shape)
	v, err := mmfile.Slice[float64](a)
	require.NoError(t, err)
	assert.Equal(t, 307.0/8, v[3*100+7])

	// Copy-on-write: private changes; the archive and its CRCs are intact.
	c, err := ar.mapMember("f8", mmfile.CopyOnWrite)
	require.NoError(t, err)
	cv, err := mmfile.Slice[float64](c)
	require.NoError(t, err)
	cv[0] = -1
	assert.Equal(t, 0.0, v[0], "the shared mapping does not see private changes")
	require.NoError(t, c.Close())
	_, err = ar.mapMember("f8", mmfile.ReadWrite)
	assert.ErrorContains(t, err, "read-write would change the archive")
	_, err = ar.mapMember("nope", mmfile.ReadOnly)
	assert.ErrorIs(t, err, npz.ErrNoMember)

	// The mapping outlives the reader and its file.
	require.NoError(t, ar.f.Close())
	assert.Equal(t, 999.0/8, v[999])
	require.NoError(t, a.Close())
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	z, err := npz.OpenReader(path)
	require.NoError(t, err)
	require.NoError(t, z.Verify())
	z.Close()
}

func TestNpzMapRefused(t *testing.T) {
	dir := t.TempDir()
	// Deflated members have nothing to map.
	path := filepath.Join(dir, "c.npz")
	createArchive(t, path, []npz.WriterOption{npz.WithDeflate(6)}, "x", []float64{1, 2, 3}, nil)
	z, err := npz.OpenReader(path)
	require.NoError(t, err)
	_, err = z.DataOffset("x")
	assert.ErrorIs(t, err, npz.ErrUnsupported)
	assert.ErrorContains(t, err, "deflated")
	assert.ErrorContains(t, err, path)
	z.Close()

	// Not an .npy member.
	raw := filepath.Join(dir, "raw.npz")
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: "notes.txt", Method: zip.Store})
	require.NoError(t, err)
	io.WriteString(fw, "hello")
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(raw, zb.Bytes(), 0o644))
	_, err = openArchive(t, raw).mapMember("notes.txt", mmfile.ReadOnly)
	assert.ErrorIs(t, err, npz.ErrNotNpy)

	// Truncated archives: refused at open, and when mapping if the file
	// shrinks after the directory was read.
	path = filepath.Join(dir, "s.npz")
	createArchive(t, path, []npz.WriterOption{npz.WithAlignment(64)},
		"x", make([]float64, 4096), nil,
		"y", []int32{1, 2}, nil)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.npz")
	require.NoError(t, os.WriteFile(cut, b[:len(b)/2], 0o644))
	_, err = npz.OpenReader(cut)
	assert.Error(t, err)
	// A replaced archive is not mapped at the old offsets.
	ar := openArchive(t, path)
	require.NoError(t, os.WriteFile(path+".new", b, 0o644))
	require.NoError(t, os.Rename(path+".new", path))
	_, err = ar.mapMember("y", mmfile.ReadOnly)
	assert.ErrorContains(t, err, "no longer the archive that was opened")

	ar = openArchive(t, path)
	off, err := ar.z.DataOffset("x")
	require.NoError(t, err)
	h, err := npy.ReadHeader(bytes.NewReader(b[off:]))
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, off+h.DataOffset+h.DataSize()/2))
	_, err = ar.mapMember("x", mmfile.ReadOnly)
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
	ar := openArchive(t, filepath.Join(dir, "np.npz"))
	aligned, unaligned := 0, 0
	for _, m := range ar.z.Members() {
		k := m.Key
		a, err := ar.mapMember(k, mmfile.ReadOnly)
		require.NoError(t, err, k)
		want, err := os.ReadFile(filepath.Join(dir, k+".npy"))
		require.NoError(t, err)
		got, err := a.Bytes()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want[a.Header().DataOffset:], got), k)
		start, err := ar.z.DataOffset(k)
		require.NoError(t, err)
		off := start + a.Header().DataOffset
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
		start, _ := ar.z.DataOffset(k)
		r, err := ar.z.Open(k)
		require.NoError(t, err)
		if (start+r.Header.DataOffset)%8 != 0 {
			continue
		}
		v := mapValues[float64](t, ar, k)
		want, _, err := npz.Read[float64](ar.z, k)
		require.NoError(t, err)
		assert.Equal(t, want, v, k)
	}

	zc := openArchive(t, filepath.Join(dir, "npc.npz"))
	_, err := zc.mapMember("f8", mmfile.ReadOnly)
	assert.ErrorIs(t, err, npz.ErrUnsupported)
	assert.True(t, strings.Contains(err.Error(), "np.savez_compressed"), err)
}

// TestNpzMapFixture maps every member of the np.savez fixture (no Python
// needed): the mapped bytes are the member's data, whatever the dtype
// (structured, big-endian, Fortran order), and the deflated fixture is
// refused member by member.
func TestNpzMapFixture(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "npz")
	ar := openArchive(t, filepath.Join(dir, "savez.npz"))
	require.NotEmpty(t, ar.z.Members())
	for _, m := range ar.z.Members() {
		k := m.Key
		r, err := ar.z.Open(k)
		require.NoError(t, err, k)
		want, err := io.ReadAll(r)
		require.NoError(t, err, k)
		a, err := ar.mapMember(k, mmfile.CopyOnWrite)
		require.NoError(t, err, k)
		got, err := a.Bytes()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), k)
		assert.Equal(t, r.Header.Shape, a.Header().Shape, k)
		assert.Equal(t, r.Header.FortranOrder, a.Header().FortranOrder, k)
		require.NoError(t, a.Close())
	}
	zc := openArchive(t, filepath.Join(dir, "savez_compressed.npz"))
	for _, m := range zc.z.Members() {
		_, err := zc.mapMember(m.Key, mmfile.ReadOnly)
		assert.ErrorIs(t, err, npz.ErrUnsupported, m.Key)
	}
}
