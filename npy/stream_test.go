package npy_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func roundTrip[T npy.Elem](t *testing.T, data []T, shape ...int) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, npy.Write(&buf, data, shape...))
	assert.Zero(t, (buf.Len()-len(npy.Bytes(data)))%64, "data must start 64-byte aligned")
	got, h, err := npy.Read[T](bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, data, got)
	if shape == nil {
		shape = []int{len(data)}
	}
	assert.Equal(t, shape, h.Shape)
	// Unknown-size reader path (grows as it reads), one byte at a time.
	got, _, err = npy.Read[T](iotest.HalfReader(bytes.NewReader(buf.Bytes())))
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

func TestRoundTripTypes(t *testing.T) {
	roundTrip(t, []bool{true, false, true})
	roundTrip(t, []int8{-128, 0, 127})
	roundTrip(t, []int16{-32768, 1, 32767}, 3, 1)
	roundTrip(t, []int32{math.MinInt32, 0, math.MaxInt32, 4}, 2, 2)
	roundTrip(t, []int64{math.MinInt64, math.MaxInt64})
	roundTrip(t, []uint8{0, 255})
	roundTrip(t, []uint16{0, 65535})
	roundTrip(t, []uint32{0, math.MaxUint32})
	roundTrip(t, []uint64{0, math.MaxUint64})
	roundTrip(t, []npy.Float16{npy.Float16From(1.5), npy.Float16From(math.Copysign(0, -1))})
	roundTrip(t, []float32{1.5, float32(math.Inf(-1))})
	roundTrip(t, []float64{math.Pi, math.MaxFloat64, math.SmallestNonzeroFloat64, 0, 1, 2}, 1, 2, 3)
	roundTrip(t, []complex64{complex(1, -2)})
	roundTrip(t, []complex128{complex(math.Inf(1), math.Pi)})
	roundTrip(t, []float64{42}, []int{}...) // 0-d
	roundTrip(t, []float64{}, 3, 0)
}

func TestZeroDimAndEmpty(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, npy.Write(&buf, []float64{7}, []int{}...))
	got, h, err := npy.Read[float64](&buf)
	require.NoError(t, err)
	assert.Equal(t, []float64{7}, got)
	assert.Empty(t, h.Shape)
	assert.EqualValues(t, 1, h.NumElements())

	assert.ErrorIs(t, npy.Write(io.Discard, []float64{1, 2, 3}, 2, 2), npy.ErrSize)
	assert.ErrorIs(t, npy.Write(io.Discard, []float64{}, -1), npy.ErrBadShape)
}

func TestReadConvertsByteOrderAndChecksType(t *testing.T) {
	h := &npy.Header{DType: &npy.DType{Kind: 'f', Order: '>', Size: 8}, Shape: []int{2}}
	var buf bytes.Buffer
	w, err := npy.NewWriter(&buf, h)
	require.NoError(t, err)
	_, err = w.Write([]byte{0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	raw := buf.Bytes()
	got, hh, err := npy.Read[float64](bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, []float64{1, -2}, got)
	assert.Equal(t, ">f8", hh.DType.String())

	_, _, err = npy.Read[float32](bytes.NewReader(raw))
	assert.ErrorIs(t, err, npy.ErrTypeMismatch)
	_, _, err = npy.Read[int64](bytes.NewReader(raw))
	assert.ErrorIs(t, err, npy.ErrTypeMismatch)
}

func TestWriterChecksSize(t *testing.T) {
	h := &npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{2}}
	w, err := npy.NewWriter(io.Discard, h)
	require.NoError(t, err)
	_, err = w.Write(make([]byte, 4))
	require.NoError(t, err)
	assert.ErrorIs(t, w.Close(), npy.ErrSize)
	n, err := w.Write(make([]byte, 8))
	assert.Equal(t, 4, n)
	assert.ErrorIs(t, err, npy.ErrSize)
	assert.NoError(t, w.Close())
}

func TestTruncatedData(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, npy.Write(&buf, []float64{1, 2, 3}))
	full := buf.Bytes()
	for cut := 0; cut < len(full); cut++ {
		_, _, err := npy.Read[float64](bytes.NewReader(full[:cut]))
		require.Error(t, err, "cut at %d", cut)
		assert.ErrorIs(t, err, npy.ErrTruncated, "cut at %d", cut)
		_, _, err = npy.Read[float64](iotest.OneByteReader(bytes.NewReader(full[:cut])))
		assert.ErrorIs(t, err, npy.ErrTruncated, "cut at %d (stream)", cut)
	}
}

func TestHugeDeclaredShapeDoesNotAllocate(t *testing.T) {
	h := &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{1_000_000_000_000}}
	hdr, err := npy.AppendHeader(nil, h)
	require.NoError(t, err)
	in := append(hdr, make([]byte, 64)...)
	allocs := testing.AllocsPerRun(1, func() {
		_, _, err = npy.Read[float64](bytes.NewReader(in))
	})
	assert.ErrorIs(t, err, npy.ErrTruncated)
	assert.Less(t, allocs, 100.0)
	// A stream of unknown size: reads in bounded chunks and fails at the end.
	var ms1, ms2 runtimeMem
	ms1.read()
	_, _, err = npy.Read[float64](iotest.HalfReader(bytes.NewReader(in)))
	ms2.read()
	assert.ErrorIs(t, err, npy.ErrTruncated)
	assert.Less(t, ms2.total-ms1.total, uint64(1<<20), "allocated %d bytes", ms2.total-ms1.total)
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.npy")
	require.NoError(t, writeFile(name, []int32{1, 2, 3, 4, 5, 6}, 2, 3))
	got, h, err := npy.ReadFile[int32](name)
	require.NoError(t, err)
	assert.Equal(t, []int32{1, 2, 3, 4, 5, 6}, got)
	assert.Equal(t, []int{2, 3}, h.Shape)

	// A shape that does not hold the data is refused before writing.
	var buf bytes.Buffer
	assert.ErrorIs(t, npy.Write(&buf, []int32{1, 2}, 3), npy.ErrSize)
	assert.Zero(t, buf.Len())

	// Errors name the file: a *fs.PathError wrapping the sentinel.
	require.NoError(t, os.WriteFile(name, []byte("PK\x03\x04 not npy"), 0o644))
	_, _, err = npy.ReadFile[int32](name)
	assert.ErrorIs(t, err, npy.ErrBadMagic)
	var pe *fs.PathError
	if assert.ErrorAs(t, err, &pe) {
		assert.Equal(t, name, pe.Path)
		assert.Equal(t, "read", pe.Op)
		assert.ErrorIs(t, pe.Err, npy.ErrBadMagic)
	}
	assert.Contains(t, err.Error(), name)
	assert.Contains(t, err.Error(), "zip")
	_, _, err = npy.ReadFile[int32](filepath.Join(dir, "missing.npy"))
	assert.ErrorIs(t, err, fs.ErrNotExist)

	// The reader on an io.Reader names no file.
	_, _, err = npy.Read[int32](bytes.NewReader([]byte("PK\x03\x04 not npy")))
	assert.ErrorIs(t, err, npy.ErrBadMagic)
	assert.False(t, errors.As(err, &pe), "no path for an io.Reader")
}

func TestMaxHeaderSize(t *testing.T) {
	b, err := npy.AppendHeader(nil, &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{3}})
	require.NoError(t, err)
	b = append(b, make([]byte, 24)...)
	_, err = npy.ReadHeader(bytes.NewReader(b), npy.WithMaxHeaderSize(len(b)-24-10))
	assert.NoError(t, err, "a header exactly at the cap")
	for _, read := range []func(...npy.ReadOption) error{
		func(o ...npy.ReadOption) error { _, err := npy.ReadHeader(bytes.NewReader(b), o...); return err },
		func(o ...npy.ReadOption) error { _, err := npy.NewReader(bytes.NewReader(b), o...); return err },
		func(o ...npy.ReadOption) error { _, _, err := npy.Read[float64](bytes.NewReader(b), o...); return err },
		func(o ...npy.ReadOption) error { _, _, err := npy.ReadAll(bytes.NewReader(b), o...); return err },
	} {
		assert.NoError(t, read())
		assert.ErrorIs(t, read(npy.WithMaxHeaderSize(len(b)-24-11)), npy.ErrHeaderTooLarge)
		assert.Error(t, read(npy.WithMaxHeaderSize(0)), "the cap must be positive")
	}
	name := filepath.Join(t.TempDir(), "a.npy")
	require.NoError(t, os.WriteFile(name, b, 0o644))
	_, _, err = npy.ReadFile[float64](name, npy.WithMaxHeaderSize(16))
	assert.ErrorIs(t, err, npy.ErrHeaderTooLarge)
	assert.Contains(t, err.Error(), name)
}

func TestView(t *testing.T) {
	buf := make([]byte, 8*4+8)
	f, err := npy.View[float64](buf[:32], npy.DTypeOf[float64]())
	require.NoError(t, err)
	f[1] = 2.5
	assert.Equal(t, 2.5, math.Float64frombits(leU64(buf[8:])))
	_, err = npy.View[float64](buf[1:33], npy.DTypeOf[float64]())
	assert.ErrorIs(t, err, npy.ErrAlignment)
	_, err = npy.View[float64](buf[:31], npy.DTypeOf[float64]())
	assert.ErrorIs(t, err, npy.ErrSize)
	_, err = npy.View[float32](buf[:32], npy.DTypeOf[float64]())
	assert.ErrorIs(t, err, npy.ErrTypeMismatch)
	other := npy.DTypeOf[float64]().WithOrder('>')
	if npy.DTypeOf[uint16]().Order == '>' {
		other = other.WithOrder('<')
	}
	_, err = npy.View[float64](buf[:32], other)
	assert.ErrorIs(t, err, npy.ErrByteOrder)
	// explicit conversion, then view
	other.SwapBytes(buf[:32])
	_, err = npy.View[float64](buf[:32], other.WithOrder('='))
	assert.NoError(t, err)
	// datetime64 as int64
	dt, err := npy.ParseDType("M8[ns]")
	require.NoError(t, err)
	_, err = npy.View[int64](buf[:32], dt)
	assert.NoError(t, err)
	e, err := npy.View[int64](nil, dt)
	require.NoError(t, err)
	assert.Empty(t, e)
}

func leU64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func TestCanonicalFortranAndBigEndian(t *testing.T) {
	// 2x3 C-order int32 and its F-order big-endian twin.
	c := []int32{1, 2, 3, 4, 5, 6}
	hc := &npy.Header{DType: npy.DTypeOf[int32]().WithOrder('<'), Shape: []int{2, 3}}
	cb := make([]byte, 0, 24)
	for _, v := range c {
		cb = append(cb, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	fOrder := []int32{1, 4, 2, 5, 3, 6}
	hf := &npy.Header{DType: hc.DType.WithOrder('>'), Shape: []int{2, 3}, FortranOrder: true}
	fb := make([]byte, 0, 24)
	for _, v := range fOrder {
		fb = append(fb, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	a, err := canonical(hc, cb)
	require.NoError(t, err)
	b, err := canonical(hf, fb)
	require.NoError(t, err)
	assert.Equal(t, cb, a)
	assert.Equal(t, cb, b)
	assert.Equal(t, []byte{0, 0, 0, 1}, fb[:4], "input not modified")

	// 3-D Fortran
	h3 := &npy.Header{DType: npy.DTypeOf[uint8](), Shape: []int{2, 3, 4}, FortranOrder: true}
	in := make([]byte, 24)
	for i := range 2 {
		for j := range 3 {
			for k := range 4 {
				in[i+2*j+6*k] = byte(i*12 + j*4 + k)
			}
		}
	}
	out, err := canonical(h3, in)
	require.NoError(t, err)
	for i := range out {
		assert.Equal(t, byte(i), out[i])
	}
}

func TestFloat16(t *testing.T) {
	cases := map[float32]uint16{
		0: 0, 1: 0x3c00, -2: 0xc000, 65504: 0x7bff, 65520: 0x7c00, 1e-8: 0,
		5.960464477539063e-08: 0x0001, 0.00006103515625: 0x0400, 0.333251953125: 0x3555,
		float32(math.Inf(1)): 0x7c00,
	}
	for in, want := range cases {
		got := npy.Float16From(float64(in))
		assert.Equal(t, want, uint16(got), "%v", in)
		if want != 0x7c00 || math.IsInf(float64(in), 1) {
			v := npy.Float16(want).Float64()
			assert.Equal(t, float64(float32(v)), v, "a Float16 is exact as a float32")
		}
	}
	assert.True(t, math.IsNaN(npy.Float16From(math.NaN()).Float64()))
	// every half value converts to float32 and back exactly
	for u := 0; u < 1<<16; u++ {
		h := npy.Float16(u)
		f := h.Float64()
		if math.IsNaN(f) {
			continue
		}
		if float64(float32(f)) != f {
			t.Fatalf("Float64 of %#x = %v is not a float32", u, f)
		}
		if h != npy.Float16From(f) {
			t.Fatalf("Float16From(%v) != %#x", f, u)
		}
	}
	// ties to even
	assert.Equal(t, uint16(0x3c00), uint16(npy.Float16From(1+1.0/2048)))
	assert.Equal(t, uint16(0x3c02), uint16(npy.Float16From(1+3.0/2048)))
	// double rounding: the float64 just above the tie must round up
	assert.Equal(t, uint16(0x3c01), uint16(npy.Float16From(1+1.0/2048+1e-12)))
}

func TestCheckFileSize(t *testing.T) {
	h := &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{3}, DataOffset: 128}
	assert.NoError(t, h.CheckFileSize(152, true))
	assert.NoError(t, h.CheckFileSize(160, false))
	assert.ErrorIs(t, h.CheckFileSize(160, true), npy.ErrTrailingData)
	assert.ErrorIs(t, h.CheckFileSize(151, false), npy.ErrTruncated)
	assert.ErrorIs(t, h.CheckFileSize(10, false), npy.ErrTruncated)
	huge := &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{1 << 59}, DataOffset: 128}
	assert.ErrorIs(t, huge.CheckFileSize(1<<40, false), npy.ErrTruncated)
}
