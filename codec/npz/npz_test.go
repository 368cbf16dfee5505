package npz

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeArray adds data as the array member key with the given shape
// (default one axis of len(data)).
func writeArray[T npy.Elem](z *Writer, key string, data []T, shape ...int) error {
	w, err := z.Create(key)
	if err != nil {
		return err
	}
	if err := npy.Write(w, data, shape...); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// keys returns the members' keys in directory order.
func keys(z *Reader) []string {
	var k []string
	for _, m := range z.Members() {
		k = append(k, m.Key)
	}
	return k
}

// writeTestNpz writes three arrays with the given options to w.
func writeTestNpz(t testing.TB, w io.Writer, opts ...WriterOption) {
	z, err := NewWriter(w, opts...)
	require.NoError(t, err)
	f := make([]float64, 1000)
	for i := range f {
		f[i] = float64(i) / 8
	}
	require.NoError(t, writeArray(z, "floats", f, 10, 100))
	require.NoError(t, writeArray(z, "arr_0", []int32{1, -2, 3}))
	require.NoError(t, writeArray(z, "empty", []uint8{}, 0, 3))
	require.NoError(t, z.Close())
}

func checkTestNpz(t testing.TB, z *Reader) {
	assert.Equal(t, []string{"floats", "arr_0", "empty"}, keys(z))
	f, h, err := Read[float64](z, "floats")
	require.NoError(t, err)
	assert.Equal(t, []int{10, 100}, h.Shape)
	assert.Equal(t, 12.5, f[100])
	i, _, err := Read[int32](z, "arr_0.npy") // the full member name works too
	require.NoError(t, err)
	assert.Equal(t, []int32{1, -2, 3}, i)
	e, h, err := Read[uint8](z, "empty")
	require.NoError(t, err)
	assert.Empty(t, e)
	assert.Equal(t, []int{0, 3}, h.Shape)
	require.NoError(t, z.Verify())
	_, err = z.Member("nope")
	assert.ErrorIs(t, err, ErrNoMember)
	_, _, err = Read[float32](z, "floats")
	assert.ErrorIs(t, err, npy.ErrTypeMismatch)
}

func TestNpzRoundTrip(t *testing.T) {
	for name, opts := range map[string][]WriterOption{
		"stored":  nil,
		"deflate": {WithDeflate(6)},
		"fastest": {WithDeflate(1)},
		"aligned": {WithAlignment(64)},
	} {
		t.Run(name+"/buffer", func(t *testing.T) {
			var buf bytes.Buffer
			writeTestNpz(t, &buf, opts...)
			z, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			require.NoError(t, err)
			checkTestNpz(t, z)
			for _, m := range z.Members() {
				assert.Equal(t, name == "deflate" || name == "fastest", m.Deflated)
				assert.True(t, m.IsNpy())
			}
		})
		t.Run(name+"/file", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.npz")
			f, err := os.Create(path)
			require.NoError(t, err)
			_, err = f.Write([]byte("prefix")) // the archive need not start at offset 0 of the file
			require.NoError(t, err)
			writeTestNpz(t, f, opts...)
			require.NoError(t, f.Close())
			b, _ := os.ReadFile(path)
			b = b[len("prefix"):]
			z, err := NewReader(bytes.NewReader(b), int64(len(b)))
			require.NoError(t, err)
			checkTestNpz(t, z)
			// Local headers were completed in place: no data descriptors.
			assert.NotContains(t, string(b), "PK\x07\x08")
		})
	}
}

func TestNpzAlignment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.npz")
	z, err := Create(path, WithAlignment(64))
	require.NoError(t, err)
	for i := 0; i < 20; i++ {
		require.NoError(t, writeArray(z, strings.Repeat("k", i+1), make([]float32, i*7+1)))
	}
	require.NoError(t, z.Close())
	r, err := OpenReader(path)
	require.NoError(t, err)
	defer r.Close()
	raw, _ := os.ReadFile(path)
	for _, k := range keys(r) {
		start, err := r.DataOffset(k)
		require.NoError(t, err)
		h, err := npy.ReadHeader(bytes.NewReader(raw[start:]))
		require.NoError(t, err)
		off := start + h.DataOffset
		assert.Zero(t, off%64, "member %s data at %d", k, off)
		v, err := npy.View[float32](raw[off:off+h.DataSize()], h.DType)
		require.NoError(t, err)
		assert.Len(t, v, len(k)*7-6)
	}
	// Without alignment the offsets are NumPy's (not aligned in general).
	var buf bytes.Buffer
	writeTestNpz(t, &buf, WithDeflate(6))
	dz, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	_, err = dz.DataOffset("floats")
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestNpzWriterErrors(t *testing.T) {
	z, err := NewWriter(io.Discard)
	require.NoError(t, err)
	require.NoError(t, writeArray(z, "a", []int8{1}))
	assert.ErrorIs(t, writeArray(z, "a", []int8{1}), ErrDuplicateMember)
	for _, bad := range []string{"../x", "/abs", `a\b`, "C:x", "", "a/../../b"} {
		assert.ErrorIs(t, writeArray(z, bad, []int8{1}), ErrInsecureName, bad)
	}
	mw, err := z.Create("b")
	require.NoError(t, err)
	hb, err := npy.AppendHeader(nil, &npy.Header{DType: npy.DTypeOf[int16](), Shape: []int{2}})
	require.NoError(t, err)
	_, err = mw.Write(hb)
	require.NoError(t, err)
	_, err = z.Create("c")
	assert.Error(t, err, "previous member open")
	_, err = mw.Write(make([]byte, 5))
	assert.ErrorIs(t, err, npy.ErrSize)
	_, err = mw.Write(make([]byte, 3))
	require.NoError(t, err)
	assert.ErrorIs(t, mw.Close(), npy.ErrSize)
	assert.Error(t, z.Close())

	// A failed Create leaves no file behind and the old one untouched.
	dir := t.TempDir()
	path := filepath.Join(dir, "x.npz")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	z, err = Create(path)
	require.NoError(t, err)
	mw, err = z.Create("a")
	require.NoError(t, err)
	_, err = io.Copy(mw, bytes.NewReader([]byte("\x93NUMPY garbage")))
	assert.Error(t, err)
	assert.Error(t, z.Close())
	b, _ := os.ReadFile(path)
	assert.Equal(t, "old", string(b))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1)
}

// zipWith builds a zip archive with archive/zip (which lets us create
// hostile names and duplicates).
func zipWith(t testing.TB, members ...[2]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: zip.Store})
		require.NoError(t, err)
		_, err = w.Write([]byte(m[1]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func npyOf(t testing.TB, data []int16) string {
	var buf bytes.Buffer
	require.NoError(t, npy.Write(&buf, data))
	return buf.String()
}

func openNpzBytes(b []byte, opts ...ReaderOption) (*Reader, error) {
	return NewReader(bytes.NewReader(b), int64(len(b)), opts...)
}

func TestNpzHostileNames(t *testing.T) {
	a := npyOf(t, []int16{1, 2})
	names := []string{"../x.npy", "/abs.npy", `a\b.npy`, "C:x.npy", ".npy"}
	var ms [][2]string
	for _, n := range names {
		ms = append(ms, [2]string{n, a})
	}
	z, err := openNpzBytes(zipWith(t, ms...))
	require.NoError(t, err)
	for _, m := range z.Members() {
		if m.Name == ".npy" {
			// Key "" is empty: insecure as a name.
			assert.ErrorIs(t, checkName(m.Key), ErrInsecureName)
			continue
		}
		assert.ErrorIs(t, checkName(m.Name), ErrInsecureName, m.Name)
		// Reading is fine: the library never makes paths from names.
		v, _, err := Read[int16](z, m.Key)
		require.NoError(t, err)
		assert.Equal(t, []int16{1, 2}, v)
	}
	assert.NoError(t, checkName("dir/ok.npy"))
}

func TestNpzDuplicatesAndNonNpy(t *testing.T) {
	a := npyOf(t, []int16{1})
	_, err := openNpzBytes(zipWith(t, [2]string{"a.npy", a}, [2]string{"a.npy", a}))
	assert.ErrorIs(t, err, ErrDuplicateMember)
	_, err = openNpzBytes(zipWith(t, [2]string{"a.npy", a}, [2]string{"a", "x"}))
	assert.ErrorIs(t, err, ErrDuplicateMember)

	z, err := openNpzBytes(zipWith(t, [2]string{"notes.txt", "hello"}, [2]string{"fake.npy", "not npy"}))
	require.NoError(t, err)
	assert.Equal(t, []string{"notes.txt", "fake"}, keys(z))
	_, err = z.Open("notes.txt")
	assert.ErrorIs(t, err, ErrNotNpy)
	raw, err := z.OpenRaw("notes.txt")
	require.NoError(t, err)
	b, err := io.ReadAll(raw)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	_, err = z.Open("fake")
	assert.ErrorIs(t, err, npy.ErrBadMagic)
	assert.Error(t, z.Verify())
}

// centralOffset returns the offset of the first central directory entry.
func centralOffset(b []byte) int {
	return bytes.LastIndex(b, []byte("PK\x01\x02"))
}

func TestNpzLyingSizesAndCRC(t *testing.T) {
	a := npyOf(t, []int16{1, 2, 3, 4})
	good := zipWith(t, [2]string{"a.npy", a})
	cd := bytes.Index(good, []byte("PK\x01\x02"))

	t.Run("crc", func(t *testing.T) {
		b := append([]byte(nil), good...)
		b[cd+16] ^= 1
		z, err := openNpzBytes(b)
		require.NoError(t, err)
		_, _, err = Read[int16](z, "a")
		assert.ErrorIs(t, err, ErrChecksum)
		assert.ErrorIs(t, z.Verify(), ErrChecksum)
		// The header alone is still readable.
		r, err := z.Open("a")
		require.NoError(t, err)
		assert.Equal(t, []int{4}, r.Header.Shape)
	})
	t.Run("data corrupted", func(t *testing.T) {
		b := append([]byte(nil), good...)
		b[30+len("a.npy")+len(a)-1] ^= 0xFF // last data byte (no extra field)
		z, err := openNpzBytes(b)
		require.NoError(t, err)
		assert.ErrorIs(t, z.Verify(), ErrChecksum)
	})
	t.Run("stored sizes differ", func(t *testing.T) {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[cd+24:], uint32(len(a)+10))
		_, err := openNpzBytes(b)
		assert.ErrorIs(t, err, ErrBadZip)
	})
	t.Run("member overruns directory", func(t *testing.T) {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[cd+20:], uint32(len(a)+100))
		binary.LittleEndian.PutUint32(b[cd+24:], uint32(len(a)+100))
		_, err := openNpzBytes(b)
		assert.ErrorIs(t, err, ErrBadZip)
	})
	t.Run("member smaller than its header says", func(t *testing.T) {
		short := zipWith(t, [2]string{"a.npy", a[:len(a)-2]})
		z, err := openNpzBytes(short)
		require.NoError(t, err)
		_, err = z.Open("a")
		assert.ErrorIs(t, err, ErrBadZip)
		_, _, err = Read[int16](z, "a")
		assert.ErrorIs(t, err, npy.ErrTruncated)
	})
	t.Run("truncated archive", func(t *testing.T) {
		for cut := 0; cut < len(good); cut += 7 {
			z, err := openNpzBytes(good[:cut])
			if err == nil {
				err = z.Verify()
			}
			assert.Error(t, err, "cut %d", cut)
		}
	})
	t.Run("huge member count", func(t *testing.T) {
		b := append([]byte(nil), good...)
		eocd := bytes.LastIndex(b, []byte("PK\x05\x06"))
		binary.LittleEndian.PutUint16(b[eocd+8:], 60000)
		binary.LittleEndian.PutUint16(b[eocd+10:], 60000)
		_, err := openNpzBytes(b)
		assert.ErrorIs(t, err, ErrBadZip)
		_, err = openNpzBytes(b, WithMaxMembers(10))
		assert.ErrorIs(t, err, ErrTooManyMembers)
	})
	t.Run("overlapping members", func(t *testing.T) {
		two := zipWith(t, [2]string{"a.npy", a}, [2]string{"b.npy", a})
		c2 := bytes.LastIndex(two, []byte("PK\x01\x02"))
		binary.LittleEndian.PutUint32(two[c2+42:], 0) // b's local header offset = a's
		_, err := openNpzBytes(two)
		assert.ErrorIs(t, err, ErrBadZip)
	})
	t.Run("not a zip", func(t *testing.T) {
		_, err := openNpzBytes([]byte(a))
		assert.ErrorIs(t, err, ErrBadZip)
		assert.Contains(t, err.Error(), ".npy file")
		_, err = openNpzBytes(nil)
		assert.ErrorIs(t, err, ErrBadZip)
	})
}

// deflateBomb returns an archive with one deflated member of n zero bytes
// (a well-compressible "bomb"), and its central directory offset.
func deflateBomb(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "a.npy", Method: zip.Deflate})
	require.NoError(t, err)
	_, err = w.Write(make([]byte, n))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestNpzBombs(t *testing.T) {
	// A member claiming far more than deflate can produce from its bytes
	// is refused at open, before inflating.
	b := deflateBomb(t, 1<<20)
	cd := centralOffset(b)
	binary.LittleEndian.PutUint32(b[cd+24:], 0xFFFFFFF0)
	_, err := openNpzBytes(b)
	assert.ErrorIs(t, err, ErrBadZip)
	assert.Contains(t, err.Error(), "zip bomb")

	// A member that inflates to more than it declares is cut at the
	// declared size and reported.
	b = deflateBomb(t, 1<<20)
	cd = centralOffset(b)
	binary.LittleEndian.PutUint32(b[cd+24:], 1000)
	binary.LittleEndian.PutUint32(b[cd+16:], crc32.ChecksumIEEE(make([]byte, 1000)))
	z, err := openNpzBytes(b)
	require.NoError(t, err)
	raw, err := z.OpenRaw("a")
	require.NoError(t, err)
	got, err := io.ReadAll(raw)
	assert.ErrorIs(t, err, ErrBadZip)
	assert.LessOrEqual(t, len(got), 1000)
}

func TestNpzInnerHeaderTooLarge(t *testing.T) {
	// An .npy whose header length field is 4 GiB - 1 (v2): refused on
	// member access with npy's own error, before reading it.
	huge := []byte("\x93NUMPY\x02\x00\xff\xff\xff\xff")
	z, err := openNpzBytes(zipWith(t, [2]string{"a.npy", string(huge)}))
	require.NoError(t, err)
	_, err = z.Open("a")
	assert.ErrorIs(t, err, npy.ErrHeaderTooLarge)
}

func TestNpzZip64(t *testing.T) {
	// 70000 members force ZIP64 end records (count above 0xFFFF).
	var buf bytes.Buffer
	z, err := NewWriter(&buf)
	require.NoError(t, err)
	const n = 70000
	for i := 0; i < n; i++ {
		require.NoError(t, writeArray(z, fmt.Sprintf("arr_%d", i), []uint8{uint8(i)}))
	}
	require.NoError(t, z.Close())
	r, err := openNpzBytes(buf.Bytes())
	require.NoError(t, err)
	assert.Len(t, keys(r), n)
	v, _, err := Read[uint8](r, fmt.Sprintf("arr_%d", n-1))
	require.NoError(t, err)
	assert.Equal(t, []uint8{uint8((n - 1) % 256)}, v)
	_, err = openNpzBytes(buf.Bytes(), WithMaxMembers(n-1))
	assert.ErrorIs(t, err, ErrTooManyMembers)
	// archive/zip agrees.
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	assert.Len(t, zr.File, n)
}

func TestNpzStdlibReadsOurs(t *testing.T) {
	for _, opts := range [][]WriterOption{nil, {WithDeflate(6)}, {WithAlignment(64)}} {
		var buf bytes.Buffer
		writeTestNpz(t, &buf, opts...)
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		require.NoError(t, err)
		for _, f := range zr.File {
			rc, err := f.Open()
			require.NoError(t, err)
			_, h, err := npy.ReadAll(rc)
			require.NoError(t, err, f.Name)
			assert.NotNil(t, h)
			_, err = io.Copy(io.Discard, rc)
			assert.NoError(t, err)
			rc.Close()
		}
	}
}

// TestNpzChecksOnTopOfArchiveZip covers what archive/zip alone accepts and
// the Reader refuses (or the reverse).
func TestNpzChecksOnTopOfArchiveZip(t *testing.T) {
	a := npyOf(t, []int16{1, 2, 3, 4})
	good := zipWith(t, [2]string{"a.npy", a}, [2]string{"b.npy", a})
	cd := bytes.Index(good, []byte("PK\x01\x02"))
	eocd := bytes.LastIndex(good, []byte("PK\x05\x06"))

	t.Run("directory CRC-32 of 0", func(t *testing.T) {
		// archive/zip skips the check for a CRC-32 of 0 when the member
		// has no data descriptor: store the member that way.
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "a.npy", Method: zip.Store, CompressedSize64: uint64(len(a)), UncompressedSize64: uint64(len(a))})
		require.NoError(t, err)
		_, err = io.WriteString(w, a)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		require.NoError(t, err)
		rc, err := zr.File[0].Open()
		require.NoError(t, err)
		_, err = io.ReadAll(rc)
		require.NoError(t, err, "archive/zip does not check")
		z, err := openNpzBytes(buf.Bytes())
		require.NoError(t, err)
		assert.ErrorIs(t, z.Verify(), ErrChecksum)
		_, _, err = Read[int16](z, "a")
		assert.ErrorIs(t, err, ErrChecksum)
	})
	t.Run("bytes after the end record", func(t *testing.T) {
		_, err := openNpzBytes(append(append([]byte(nil), good...), "junk"...))
		assert.ErrorIs(t, err, ErrBadZip)
	})
	t.Run("end record count below the entries", func(t *testing.T) {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint16(b[eocd+8:], 1)
		binary.LittleEndian.PutUint16(b[eocd+10:], 1)
		_, err := openNpzBytes(b)
		assert.ErrorIs(t, err, ErrBadZip)
	})
	t.Run("entry runs past the directory", func(t *testing.T) {
		// The last entry's comment length reaches into the end record.
		b := append([]byte(nil), good...)
		c2 := bytes.LastIndex(b, []byte("PK\x01\x02"))
		binary.LittleEndian.PutUint16(b[c2+32:], 10)
		_, err := openNpzBytes(b)
		assert.ErrorIs(t, err, ErrBadZip)
	})
	t.Run("data prepended", func(t *testing.T) {
		// archive/zip would shift every offset by the prefix; we refuse.
		_, err := openNpzBytes(append([]byte("#!/bin/sh\n"), good...))
		assert.ErrorIs(t, err, ErrBadZip)
	})
	t.Run("encrypted and unknown methods", func(t *testing.T) {
		for name, patch := range map[string]func(b []byte){
			"encrypted": func(b []byte) { b[cd+8] |= 1 },
			"method 12": func(b []byte) { b[cd+10] = 12; b[8] = 12 },
		} {
			b := append([]byte(nil), good...)
			patch(b)
			z, err := openNpzBytes(b)
			require.NoError(t, err, "the archive opens: %s", name)
			_, err = z.Open("a")
			assert.ErrorIs(t, err, ErrUnsupported, name)
			_, err = z.OpenRaw("a")
			assert.ErrorIs(t, err, ErrUnsupported, name)
			v, _, err := Read[int16](z, "b")
			require.NoError(t, err, "other members read: %s", name)
			assert.Equal(t, []int16{1, 2, 3, 4}, v)
		}
	})
	t.Run("insecure names with zipinsecurepath=0", func(t *testing.T) {
		t.Setenv("GODEBUG", "zipinsecurepath=0")
		b := zipWith(t, [2]string{"../x.npy", a})
		_, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		require.ErrorIs(t, err, zip.ErrInsecurePath)
		z, err := openNpzBytes(b)
		require.NoError(t, err)
		v, _, err := Read[int16](z, "../x")
		require.NoError(t, err)
		assert.Equal(t, []int16{1, 2, 3, 4}, v)
	})
	t.Run("errors name the archive once", func(t *testing.T) {
		b := append([]byte(nil), good...)
		b[cd+16] ^= 1
		path := filepath.Join(t.TempDir(), "crc.npz")
		require.NoError(t, os.WriteFile(path, b, 0o644))
		z, err := OpenReader(path)
		require.NoError(t, err)
		defer z.Close()
		for _, err := range []error{z.Verify(), func() error { _, _, err := Read[int16](z, "a"); return err }()} {
			var pe *fs.PathError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, path, pe.Path)
			assert.ErrorIs(t, pe.Err, ErrChecksum)
			assert.Equal(t, 1, strings.Count(err.Error(), path), err)
		}
		_, err = z.Open("nope")
		assert.ErrorIs(t, err, ErrNoMember)
		assert.Equal(t, "open "+path+`: npz: no such archive member: "nope"`, err.Error())
		_, err = OpenReader(filepath.Join(t.TempDir(), "missing.npz"))
		assert.ErrorIs(t, err, fs.ErrNotExist)
	})
}
