package npyzst

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// npyBytes returns the .npy file for h and raw data.
func npyBytes(t testing.TB, h *npy.Header, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := npy.NewWriter(&buf, h)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func mustDType(t testing.TB, s string) *npy.DType {
	dt, err := npy.ParseDType(s)
	require.NoError(t, err)
	return dt
}

// compressNpy compresses an .npy file to .npy.zst.
func compressNpy(t testing.TB, file []byte, opts ...zstdseek.WriterOption) []byte {
	t.Helper()
	var out bytes.Buffer
	_, err := Compress(&out, bytes.NewReader(file), opts...)
	require.NoError(t, err)
	return out.Bytes()
}

func openNpyBytes(t testing.TB, file []byte, opts ...zstdseek.ReaderOption) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(file), int64(len(file)), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func TestNpyZstRoundTrip(t *testing.T) {
	f64 := make([]float64, 10_000)
	for i := range f64 {
		f64[i] = math.Sin(float64(i) / 100)
	}
	i32 := make([]int32, 3*1000*7)
	for i := range i32 {
		i32[i] = int32(i % 1013)
	}
	be := make([]byte, 4000*2)
	for i := 0; i < 4000; i++ {
		binary.BigEndian.PutUint16(be[2*i:], uint16(i))
	}
	rec := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 500)
	for _, tc := range []struct {
		name  string
		h     *npy.Header
		data  []byte
		frame int
	}{
		{"f8 1-d", &npy.Header{DType: mustDType(t, "<f8"), Shape: []int{len(f64)}}, npy.Bytes(f64), 1000},
		{"i4 3-d rows", &npy.Header{DType: mustDType(t, "<i4"), Shape: []int{3 * 1000, 7}}, npy.Bytes(i32), 1000},
		{"i4 row larger than frame", &npy.Header{DType: mustDType(t, "<i4"), Shape: []int{3, 7000}}, npy.Bytes(i32), 1000},
		{"fortran", &npy.Header{DType: mustDType(t, "<i4"), Shape: []int{7, 3000}, FortranOrder: true}, npy.Bytes(i32), 999},
		{"big-endian u2", &npy.Header{DType: mustDType(t, ">u2"), Shape: []int{4000}}, be, 1001},
		{"structured", &npy.Header{DType: mustDType(t, "[('a', '<i4'), ('b', '<f8'), ('c', '|S3')]"), Shape: []int{500}}, rec, 100},
		{"0-d", &npy.Header{DType: mustDType(t, "<f8"), Shape: []int{}}, npy.Bytes(f64[:1]), 1000},
		{"empty", &npy.Header{DType: mustDType(t, "<f8"), Shape: []int{0, 5}}, nil, 1000},
		{"default frame", &npy.Header{DType: mustDType(t, "<f8"), Shape: []int{len(f64)}}, npy.Bytes(f64), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := npyBytes(t, tc.h, tc.data)
			var opts []zstdseek.WriterOption
			if tc.frame > 0 {
				opts = append(opts, zstdseek.WithFrameSize(tc.frame))
			}
			zst := compressNpy(t, file, opts...)
			r := openNpyBytes(t, zst)
			assert.True(t, seekable(r))
			assert.Equal(t, tc.h.Shape, r.Header.Shape)
			assert.True(t, tc.h.DType.Equal(r.Header.DType))
			assert.Equal(t, int64(len(file)), r.Header.DataOffset+r.Header.DataSize())
			assert.Equal(t, int64(len(file)), r.Zstd().Size())

			// The header is alone in frame 0; data frames hold whole rows
			// (or whole elements).
			frames := r.Zstd().SeekTable().Frames
			assert.Equal(t, r.Header.DataOffset, frames[0].DecompressedSize)
			item := int64(tc.h.DType.Size)
			row := item * rowElements(r.Header)
			if tc.h.FortranOrder {
				row = item
			}
			for i := 1; i < len(frames)-1; i++ {
				fsz := frames[i].DecompressedSize
				if tc.frame == 0 || row <= int64(tc.frame) {
					assert.Zero(t, fsz%row, "frame %d size %d not whole rows of %d", i, fsz, row)
				} else {
					assert.Zero(t, fsz%item, "frame %d size %d not whole elements", i, fsz)
				}
			}

			var out bytes.Buffer
			n, err := r.WriteTo(&out)
			require.NoError(t, err)
			assert.Equal(t, int64(len(file)), n)
			assert.True(t, bytes.Equal(file, out.Bytes()))
			out.Reset()
			n, err = r.WriteDataTo(&out)
			require.NoError(t, err)
			assert.Equal(t, int64(len(tc.data)), n)
			assert.True(t, bytes.Equal(tc.data, out.Bytes()))
			fs := tc.frame
			if fs == 0 {
				fs = zstdseek.DefaultFrameSize
			}
			dfs := dataFrameSize(r.Header, fs)
			assert.Equal(t, 1+(len(tc.data)+dfs-1)/dfs, len(frames), "header frame + data frames")
			require.NoError(t, r.Verify())

			ne := r.Header.NumElements()
			raw := make([]byte, ne/4*item)
			d, err := r.Data()
			require.NoError(t, err)
			m, err := d.ReadAt(raw, ne/3*item)
			require.Equal(t, len(raw), m, "ReadAt: %v", err)
			assert.True(t, bytes.Equal(tc.data[ne/3*item:(ne/3+ne/4)*item], raw))
		})
	}
}

func TestNpyZstTypedAccess(t *testing.T) {
	data := make([]int32, 200*30)
	for i := range data {
		data[i] = int32(i*7 - 1000)
	}
	var buf bytes.Buffer
	require.NoError(t, npy.Write(&buf, data, 200, 30))
	r := openNpyBytes(t, compressNpy(t, buf.Bytes(), zstdseek.WithFrameSize(1000)))
	assert.Equal(t, int64(30), rowElements(r.Header))
	got, err := ReadElements[int32](r, 1234, 2345)
	require.NoError(t, err)
	assert.Equal(t, data[1234:2345], got)
	rows, err := ReadRows[int32](r, 17, 23)
	require.NoError(t, err)
	assert.Equal(t, data[17*30:23*30], rows)
	rows, err = ReadRows[int32](r, 200, 200)
	require.NoError(t, err)
	assert.Empty(t, rows)

	_, err = ReadElements[float32](r, 0, 1)
	assert.ErrorIs(t, err, npy.ErrTypeMismatch)
	_, err = ReadElements[int32](r, 10, 6001)
	assert.Error(t, err)
	_, err = ReadElements[int32](r, -1, 2)
	assert.Error(t, err)
	_, err = ReadRows[int32](r, 5, 201)
	assert.Error(t, err)
	_, err = ReadElements[int32](r, 3, 2)
	assert.Error(t, err)
	d, err := r.Data()
	require.NoError(t, err)
	n, err := d.ReadAt(make([]byte, 8), int64(len(data)*4-4))
	assert.Error(t, err)
	assert.Equal(t, 4, n)

	// Big-endian data is converted to native order.
	be := make([]byte, 8*100)
	for i := 0; i < 100; i++ {
		binary.BigEndian.PutUint64(be[8*i:], math.Float64bits(float64(i)/4))
	}
	br := openNpyBytes(t, compressNpy(t, npyBytes(t, &npy.Header{DType: mustDType(t, ">f8"), Shape: []int{100}}, be), zstdseek.WithFrameSize(64)))
	f, err := ReadElements[float64](br, 40, 43)
	require.NoError(t, err)
	assert.Equal(t, []float64{10, 10.25, 10.5}, f)

	// Rows of a Fortran-order array are refused.
	fr := openNpyBytes(t, compressNpy(t, npyBytes(t, &npy.Header{DType: mustDType(t, "<i4"), Shape: []int{2, 3}, FortranOrder: true}, make([]byte, 24))))
	_, err = ReadRows[int32](fr, 0, 1)
	assert.Error(t, err)
	zr := openNpyBytes(t, compressNpy(t, npyBytes(t, &npy.Header{DType: mustDType(t, "<i4"), Shape: []int{}}, make([]byte, 4))))
	_, err = ReadRows[int32](zr, 0, 1)
	assert.Error(t, err)
}

func TestNpyWriter(t *testing.T) {
	h := &npy.Header{DType: mustDType(t, "<f4"), Shape: []int{100, 3}}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h, zstdseek.WithFrameSize(100))
	require.NoError(t, err)
	data := make([]float32, 300)
	for i := range data {
		data[i] = float32(i)
	}
	_, err = w.Write(npy.Bytes(data[:100]))
	require.NoError(t, err)
	_, err = w.ReadFrom(bytes.NewReader(npy.Bytes(data[100:])))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	// 100-byte frames round down to 8 rows of 12 bytes.
	r := openNpyBytes(t, buf.Bytes())
	assert.Equal(t, int64(96), r.Zstd().SeekTable().Frames[1].DecompressedSize)
	got, err := ReadRows[float32](r, 99, 100)
	require.NoError(t, err)
	assert.Equal(t, []float32{297, 298, 299}, got)

	// Too much or too little data.
	w, err = NewWriter(io.Discard, h)
	require.NoError(t, err)
	_, err = w.Write(make([]byte, 1201))
	assert.ErrorIs(t, err, npy.ErrSize)
	w, err = NewWriter(io.Discard, h, zstdseek.WithName("short.npy.zst"))
	require.NoError(t, err)
	_, err = w.Write(make([]byte, 1199))
	require.NoError(t, err)
	err = w.Close()
	assert.ErrorIs(t, err, npy.ErrSize)
	assert.Contains(t, err.Error(), "short.npy.zst")
	w, err = NewWriter(io.Discard, h)
	require.NoError(t, err)
	_, err = w.ReadFrom(bytes.NewReader(make([]byte, 10)))
	assert.ErrorIs(t, err, npy.ErrTruncated)
	w.Close()
}

func TestCompressNpyErrors(t *testing.T) {
	h := &npy.Header{DType: mustDType(t, "<i2"), Shape: []int{10}}
	file := npyBytes(t, h, make([]byte, 20))
	_, err := Compress(io.Discard, bytes.NewReader(file[:len(file)-1]))
	assert.ErrorIs(t, err, npy.ErrTruncated)
	_, err = Compress(io.Discard, bytes.NewReader(append(file, 0)), zstdseek.WithName("x.npy"))
	assert.ErrorIs(t, err, npy.ErrTrailingData)
	assert.Contains(t, err.Error(), "x.npy")
	_, err = Compress(io.Discard, bytes.NewReader([]byte("not an npy file at all")))
	assert.ErrorIs(t, err, npy.ErrBadMagic)
}

func TestNpyZstKeepsForeignHeaderBytes(t *testing.T) {
	// A legacy header: 16-byte aligned, no growth spaces, keys in another
	// order (as old NumPy and other writers produce).
	dict := "{'shape': (4,), 'fortran_order': False, 'descr': '<i2'}"
	hlen := len(dict) + 1
	pad := (16 - (10+hlen)%16) % 16
	hdr := []byte("\x93NUMPY\x01\x00")
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(hlen+pad))
	hdr = append(hdr, dict...)
	hdr = append(hdr, bytes.Repeat([]byte{' '}, pad)...)
	hdr = append(hdr, '\n')
	file := append(hdr, 1, 0, 2, 0, 3, 0, 4, 0)
	zst := compressNpy(t, file)
	r := openNpyBytes(t, zst)
	var out bytes.Buffer
	_, err := r.WriteTo(&out)
	require.NoError(t, err)
	assert.Equal(t, file, out.Bytes())
	got, err := ReadElements[int16](r, 1, 4)
	require.NoError(t, err)
	assert.Equal(t, []int16{2, 3, 4}, got)
}

func TestNpyZstSizeMustMatchHeader(t *testing.T) {
	h := &npy.Header{DType: mustDType(t, "<f8"), Shape: []int{1000}}
	file := npyBytes(t, h, make([]byte, 8000))
	// Seekable files whose frames hold more or fewer bytes than the header
	// needs are refused at open, before any data is decompressed.
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"extra": {append(append([]byte(nil), file...), make([]byte, 1<<20)...), npy.ErrTrailingData},
		"short": {file[:len(file)-8], npy.ErrTruncated},
	} {
		t.Run(name, func(t *testing.T) {
			zst := compress(t, tc.b, zstdseek.WithFrameSize(4096))
			_, err := NewReader(bytes.NewReader(zst), int64(len(zst)))
			assert.ErrorIs(t, err, zstdseek.ErrBadSeekTable)
			assert.ErrorIs(t, err, tc.want)
			// The same bytes without seek table: found while streaming.
			plain := plainZstd(t, tc.b)
			r := openNpyBytes(t, plain)
			assert.False(t, seekable(r))
			_, err = r.WriteTo(io.Discard)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestNpyZstPlain(t *testing.T) {
	data := make([]float64, 5000)
	for i := range data {
		data[i] = float64(i) * 0.5
	}
	var buf bytes.Buffer
	require.NoError(t, npy.Write(&buf, data, 50, 100))
	file := buf.Bytes()
	r := openNpyBytes(t, plainZstd(t, file))
	assert.False(t, seekable(r))
	assert.Nil(t, r.Zstd().SeekTable())
	assert.Equal(t, []int{50, 100}, r.Header.Shape)
	_, err := r.Data()
	assert.ErrorIs(t, err, zstdseek.ErrNotSeekable)
	_, err = ReadElements[float64](r, 0, 1)
	assert.ErrorIs(t, err, zstdseek.ErrNotSeekable)
	var out bytes.Buffer
	_, err = r.WriteTo(&out)
	require.NoError(t, err)
	assert.Equal(t, file, out.Bytes())
	out.Reset()
	_, err = r.WriteDataTo(&out)
	require.NoError(t, err)
	assert.Equal(t, npy.Bytes(data), out.Bytes())
	assert.NoError(t, r.Verify())

	// Not an .npy inside.
	_, err = NewReader(bytes.NewReader(plainZstd(t, []byte("hello"))), int64(len(plainZstd(t, []byte("hello")))))
	assert.ErrorIs(t, err, npy.ErrBadMagic)
}

func TestCompressDecompressFile(t *testing.T) {
	dir := t.TempDir()
	data := make([]int64, 10_000)
	for i := range data {
		data[i] = int64(i / 3)
	}
	src := filepath.Join(dir, "a.npy")
	require.NoError(t, writeNpyFile(src, data, 100, 100))
	zst := filepath.Join(dir, "a.npy.zst")
	require.NoError(t, CompressFile(zst, src, zstdseek.WithLevel(zstd.SpeedBetterCompression), zstdseek.WithFrameSize(8000), zstdseek.WithConcurrency(2)))
	back := filepath.Join(dir, "b.npy")
	require.NoError(t, DecompressFile(back, zst))
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(back)
	assert.Equal(t, a, b)
	r, err := Open(zst)
	require.NoError(t, err)
	assert.Equal(t, zst, r.Zstd().Name())
	assert.Equal(t, 1+10_000*8/8000, len(r.Zstd().SeekTable().Frames), "header frame and 10 data frames")
	require.NoError(t, r.Close())

	// A failed conversion leaves the destination alone and no temp file.
	require.NoError(t, os.WriteFile(src+".bad", a[:len(a)-1], 0o644))
	err = CompressFile(zst, src+".bad")
	assert.ErrorIs(t, err, npy.ErrTruncated)
	r, err = Open(zst)
	require.NoError(t, err)
	require.NoError(t, r.Verify())
	r.Close()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), "arrtmp")
	}
	_, err = Open(filepath.Join(dir, "missing.npy.zst"))
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

func TestStockZstdRestoresNpy(t *testing.T) {
	zstdBin := zstdCLI(t)
	dir := t.TempDir()
	data := make([]float64, 100_000)
	for i := range data {
		data[i] = math.Round(math.Sin(float64(i)/1000)*1000) / 1000
	}
	src := filepath.Join(dir, "a.npy")
	require.NoError(t, writeNpyFile(src, data, 1000, 100))
	zst := filepath.Join(dir, "a.npy.zst")
	require.NoError(t, CompressFile(zst, src, zstdseek.WithFrameSize(64<<10)))
	out, err := exec.Command(zstdBin, "-q", "-d", "-c", zst).Output()
	require.NoError(t, err)
	want, _ := os.ReadFile(src)
	assert.True(t, bytes.Equal(want, out))

	// A .npy.zst made by stock zstd reads as not seekable.
	plain := filepath.Join(dir, "p.npy.zst")
	require.NoError(t, exec.Command(zstdBin, "-q", "-3", src, "-o", plain).Run())
	r, err := Open(plain)
	require.NoError(t, err)
	defer r.Close()
	assert.False(t, seekable(r))
	var buf bytes.Buffer
	_, err = r.WriteTo(&buf)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, buf.Bytes()))
}
