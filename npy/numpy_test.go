package npy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/arrfile/arrfile/internal/descr"
	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// interopCase is one array that Go writes and NumPy checks.
type interopCase struct {
	Name    string `json:"name"`
	DType   string `json:"dtype"`
	Fortran bool   `json:"fortran"`
	Shape   []int  `json:"shape"`
}

func interopCases() []interopCase {
	dtypes := []string{
		"|b1", "|i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8", ">i8", "<u8", ">u8",
		"<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "<c8", ">c8", "<c16", ">c16",
		"|S1", "|S7", "<U1", "<U5", ">U5", "|V3", "|V16",
		"<M8[ns]", ">M8[D]", "<M8[s]", "<M8[10ms]", "<m8[us]", ">m8[h]", "<M8",
		"[('x', '<i4', (2,)), ('y', '<f8'), ('s', '|S3')]",
		"[('a', '|i1'), ('', '|V3'), ('b', '>i4'), ('c', '<f2', (2, 2))]",
		"[('pos', '<f8', (3,)), ('rec', [('t', '<M8[us]'), ('v', '>u2')]), ('u', '>U2')]",
		"[(('the title', 'w'), '<f4'), ('é', '<i2')]",
		"[('温度', '<f4')]",
	}
	shapes := [][]int{{5}, {2, 3}, {2, 3, 4}, {}, {0}, {3, 0}}
	var out []interopCase
	for i, d := range dtypes {
		for j, s := range shapes {
			if (i+j)%3 != 0 && len(s) != 2 { // every dtype with 2-D, a third with the rest
				continue
			}
			for _, f := range []bool{false, true} {
				if f && len(s) < 2 {
					continue
				}
				out = append(out, interopCase{fmt.Sprintf("c%03d", len(out)), d, f, s})
			}
		}
	}
	return out
}

// fillBytes makes deterministic data that is valid for the dtype.
func fillBytes(dt *npy.DType, data []byte, r *rand.Rand) {
	if dt.Structured() {
		for e := 0; e < len(data)/dt.Size; e++ {
			for _, f := range dt.Fields {
				off := e*dt.Size + f.Offset
				fillBytes(f.Type, data[off:off+f.Type.Size*f.Len()], r)
			}
		}
		return
	}
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	switch dt.Kind {
	case 'b':
		for i := range data {
			data[i] &= 1
		}
	case 'U': // printable ASCII code points
		for i := 0; i+4 <= len(data); i += 4 {
			c := byte(0x20 + r.IntN(95))
			if dt.Order == '<' {
				data[i], data[i+1], data[i+2], data[i+3] = c, 0, 0, 0
			} else {
				data[i], data[i+1], data[i+2], data[i+3] = 0, 0, 0, c
			}
		}
	}
}

const interopScript = `
import sys, json, hashlib, numpy as np
d = sys.argv[1]
cases = json.load(open(d + '/cases.json'))
out = {}
for c in cases:
    p = d + '/' + c['name']
    a = np.load(p + '.go.npy', mmap_mode='r')
    want = np.fromfile(p + '.bin', dtype=np.uint8).tobytes()
    got = np.asarray(a).tobytes(order='A')
    canon = np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<')))
    if a.dtype.fields is not None:
        # NumPy leaves padding of the copy uninitialised; assign into zeros.
        z = np.zeros(a.shape, dtype=canon.dtype)
        z[...] = a
        canon = z
    canon = canon.tobytes()
    np.save(p + '.py.npy', np.asarray(a))
    out[c['name']] = {
        'str': a.dtype.str, 'descr': np.lib.format.dtype_to_descr(a.dtype),
        'shape': list(a.shape), 'fortran': bool(a.flags.f_contiguous and not a.flags.c_contiguous),
        'same_bytes': got == want,
        'canonical_sha256': hashlib.sha256(canon).hexdigest(),
    }
json.dump(out, sys.stdout)
`

// TestNumPyInterop has Go write arrays of every dtype (both byte orders,
// both memory orders, 0-d and empty), NumPy load them (mmap_mode='r') and
// compare bytes and canonical checksums, then NumPy save them again and Go
// compare NumPy's whole file with its own, byte for byte.
func TestNumPyInterop(t *testing.T) {
	pytest.Require(t)
	dir := t.TempDir()
	cases := interopCases()
	r := rand.New(rand.NewPCG(7, 7))
	files := map[string][]byte{}
	canon := map[string]string{}
	for _, c := range cases {
		dt, err := npy.ParseDType(c.DType)
		require.NoError(t, err, c.DType)
		h := &npy.Header{DType: dt, Shape: c.Shape, FortranOrder: c.Fortran}
		data := make([]byte, h.DataSize())
		fillBytes(dt, data, r)
		var buf bytes.Buffer
		w, err := npy.NewWriter(&buf, h)
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		files[c.Name] = buf.Bytes()
		cb, err := canonical(h, data)
		require.NoError(t, err)
		sum := sha256.Sum256(cb)
		canon[c.Name] = hex.EncodeToString(sum[:])
		require.NoError(t, os.WriteFile(filepath.Join(dir, c.Name+".go.npy"), buf.Bytes(), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, c.Name+".bin"), data, 0o644))
	}
	js, err := json.Marshal(cases)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cases.json"), js, 0o644))

	var res map[string]struct {
		Str       string          `json:"str"`
		Descr     json.RawMessage `json:"descr"`
		Shape     []int           `json:"shape"`
		Fortran   bool            `json:"fortran"`
		SameBytes bool            `json:"same_bytes"`
		Canonical string          `json:"canonical_sha256"`
	}
	require.NoError(t, json.Unmarshal(pytest.Run(t, interopScript, dir), &res))
	require.Len(t, res, len(cases))
	for _, c := range cases {
		got := res[c.Name]
		dt, _ := npy.ParseDType(c.DType)
		label := fmt.Sprintf("%s %s %v F=%v", c.Name, c.DType, c.Shape, c.Fortran)
		if !dt.Structured() {
			assert.Equal(t, dt.String(), got.Str, label)
		}
		wantDescr, _ := json.Marshal(descr.JSON(dt))
		assert.JSONEq(t, string(wantDescr), string(got.Descr), label)
		assert.Equal(t, c.Shape, got.Shape, label)
		assert.True(t, got.SameBytes, "NumPy sees other bytes: %s", label)
		assert.Equal(t, canon[c.Name], got.Canonical, "canonical bytes differ: %s", label)
		py, err := os.ReadFile(filepath.Join(dir, c.Name+".py.npy"))
		require.NoError(t, err)
		if c.Fortran && (len(c.Shape) < 2 || h0(c.Shape)) {
			continue // NumPy saves arrays that are both C- and F-contiguous as C order
		}
		assert.Equal(t, string(files[c.Name]), string(py), "np.save wrote other bytes: %s", label)
	}
}

// h0 reports whether an array of this shape is both C- and F-contiguous
// (at most one dimension longer than 1, or empty).
func h0(shape []int) bool {
	big := 0
	for _, d := range shape {
		if d == 0 {
			return true
		}
		if d > 1 {
			big++
		}
	}
	return big <= 1
}

// TestNumPyWritesGoReads has NumPy write arrays of every Go element type
// with known values and Go read them back, in both byte orders and memory
// orders.
func TestNumPyWritesGoReads(t *testing.T) {
	dir := t.TempDir()
	pytest.Run(t, `
import sys, numpy as np
d = sys.argv[1]
for code in ['?','i1','i2','i4','i8','u1','u2','u4','u8','f2','f4','f8','c8','c16']:
    for bo in '<>':
        dt = np.dtype(code).newbyteorder(bo) if np.dtype(code).itemsize > 1 else np.dtype(code)
        a = (np.arange(24) % 7).astype(dt).reshape(2, 3, 4)
        np.save(d + '/%s%s_c.npy' % ('lt' if bo == '<' else 'gt', code), a)
        np.save(d + '/%s%s_f.npy' % ('lt' if bo == '<' else 'gt', code), np.asfortranarray(a))
`, dir)
	check := func(t *testing.T, code string, read func(name string) ([]float64, *npy.Header, error)) {
		for _, bo := range []string{"lt", "gt"} {
			for _, order := range []string{"c", "f"} {
				name := filepath.Join(dir, bo+code+"_"+order+".npy")
				got, h, err := read(name)
				require.NoError(t, err, name)
				assert.Equal(t, []int{2, 3, 4}, h.Shape)
				assert.Equal(t, order == "f", h.FortranOrder)
				for i := range 2 {
					for j := range 3 {
						for k := range 4 {
							var idx int
							if order == "c" {
								idx = i*12 + j*4 + k
							} else {
								idx = i + 2*j + 6*k
							}
							want := float64((i*12 + j*4 + k) % 7)
							if code == "?" {
								want = min(want, 1)
							}
							assert.Equal(t, want, got[idx], "%s[%d,%d,%d]", name, i, j, k)
						}
					}
				}
			}
		}
	}
	t.Run("bool", func(t *testing.T) { check(t, "?", readAs[bool]) })
	t.Run("int8", func(t *testing.T) { check(t, "i1", readAs[int8]) })
	t.Run("int16", func(t *testing.T) { check(t, "i2", readAs[int16]) })
	t.Run("int32", func(t *testing.T) { check(t, "i4", readAs[int32]) })
	t.Run("int64", func(t *testing.T) { check(t, "i8", readAs[int64]) })
	t.Run("uint8", func(t *testing.T) { check(t, "u1", readAs[uint8]) })
	t.Run("uint16", func(t *testing.T) { check(t, "u2", readAs[uint16]) })
	t.Run("uint32", func(t *testing.T) { check(t, "u4", readAs[uint32]) })
	t.Run("uint64", func(t *testing.T) { check(t, "u8", readAs[uint64]) })
	t.Run("float16", func(t *testing.T) { check(t, "f2", readAs[npy.Float16]) })
	t.Run("float32", func(t *testing.T) { check(t, "f4", readAs[float32]) })
	t.Run("float64", func(t *testing.T) { check(t, "f8", readAs[float64]) })
	t.Run("complex64", func(t *testing.T) { check(t, "c8", readAs[complex64]) })
	t.Run("complex128", func(t *testing.T) { check(t, "c16", readAs[complex128]) })
}

func readAs[T npy.Elem](name string) ([]float64, *npy.Header, error) {
	d, h, err := npy.ReadFile[T](name)
	if err != nil {
		return nil, h, err
	}
	out := make([]float64, len(d))
	for i, v := range d {
		switch x := any(v).(type) {
		case bool:
			if x {
				out[i] = 1
			}
		case int8:
			out[i] = float64(x)
		case int16:
			out[i] = float64(x)
		case int32:
			out[i] = float64(x)
		case int64:
			out[i] = float64(x)
		case uint8:
			out[i] = float64(x)
		case uint16:
			out[i] = float64(x)
		case uint32:
			out[i] = float64(x)
		case uint64:
			out[i] = float64(x)
		case npy.Float16:
			out[i] = x.Float64()
		case float32:
			out[i] = float64(x)
		case float64:
			out[i] = x
		case complex64:
			out[i] = float64(real(x)) + 100*float64(imag(x))
		case complex128:
			out[i] = real(x) + 100*imag(x)
		}
	}
	return out, h, nil
}

// TestNumPyFieldNames has NumPy save records whose field names and titles
// need Python's repr (quotes, escapes, non-printable and non-BMP code
// points, U+FFFD, lone surrogates) and checks that Go reads the names and
// writes NumPy's header back byte for byte, version included.
func TestNumPyFieldNames(t *testing.T) {
	names := []string{"it's", `say "hi"`, `both '"`, `back\slash`, "tab\there", "nul\x00", "\u007f\u0080\u00a0\u00ad",
		"é", "ÿ¡", "温度", "\ufffd", "😀", "\U000e0001", "\u2028", "\xed\xa0\x80", "\xed\xb3\xbf", "a\xed\xbf\xbfb"}
	// Code points for Python (the names hold surrogates, which JSON and
	// UTF-8 cannot carry).
	var cps [][]int
	for _, n := range names {
		var cp []int
		for i := 0; i < len(n); {
			r, size := utf8.DecodeRuneInString(n[i:])
			if r == utf8.RuneError && size == 1 { // a surrogate's 3 bytes
				r, size = rune(n[i]&0x0f)<<12|rune(n[i+1]&0x3f)<<6|rune(n[i+2]&0x3f), 3
			}
			cp = append(cp, int(r))
			i += size
		}
		cps = append(cps, cp)
	}
	dir := t.TempDir()
	js, err := json.Marshal(cps)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "names.json"), js, 0o644))
	pytest.Run(t, `
import sys, json, numpy as np
d = sys.argv[1]
for i, cp in enumerate(json.load(open(d + '/names.json'))):
    n = ''.join(map(chr, cp))
    np.save(d + '/n%d.npy' % i, np.zeros(2, dtype=[(n, '<f4'), (('x' + n, 't%d' % i), '<i2')]))
`, dir)
	for i, n := range names {
		raw, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("n%d.npy", i)))
		require.NoError(t, err)
		h, err := npy.ReadHeader(bytes.NewReader(raw))
		require.NoError(t, err, "%q", n)
		require.Len(t, h.DType.Fields, 2)
		assert.Equal(t, n, h.DType.Fields[0].Name, "name")
		assert.Equal(t, "x"+n, h.DType.Fields[1].Title, "title")
		got, err := npy.AppendHeader(nil, &npy.Header{DType: h.DType, Shape: h.Shape})
		require.NoError(t, err)
		assert.Equal(t, string(raw[:h.DataOffset]), string(got), "header for %q", n)
	}
}

// TestNumPyFloat16From compares Float16From with NumPy's float64 ->
// float16 and float32 -> float16 conversions, near every rounding
// boundary and on random bit patterns.
func TestNumPyFloat16From(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var f64 []float64
	for u := 0; u < 1<<16; u += 7 {
		v := npy.Float16(u).Float64()
		next := npy.Float16(u + 1).Float64()
		mid := v + (next-v)/2
		f64 = append(f64, v, mid, math.Nextafter(mid, math.Inf(1)), math.Nextafter(mid, math.Inf(-1)),
			float64(math.Nextafter32(float32(mid), float32(math.Inf(1)))))
	}
	for range 20000 {
		f64 = append(f64, math.Float64frombits(r.Uint64()), float64(math.Float32frombits(r.Uint32())))
	}
	f64 = append(f64, 65504, 65519.99, 65520, 1e300, -1e-300, 5.960464477539063e-08/2, math.Inf(-1), 0, math.Copysign(0, -1))
	f32 := make([]float32, len(f64))
	for i, v := range f64 {
		f32[i] = float32(v)
	}
	dir := t.TempDir()
	require.NoError(t, writeFile(filepath.Join(dir, "f64.npy"), f64))
	require.NoError(t, writeFile(filepath.Join(dir, "f32.npy"), f32))
	pytest.Run(t, `
import sys, numpy as np
d = sys.argv[1]
for n in ('f64', 'f32'):
    np.save(d + '/' + n + '_half.npy', np.load(d + '/' + n + '.npy').astype(np.float16))
`, dir)
	h64, _, err := npy.ReadFile[npy.Float16](filepath.Join(dir, "f64_half.npy"))
	require.NoError(t, err)
	h32, _, err := npy.ReadFile[npy.Float16](filepath.Join(dir, "f32_half.npy"))
	require.NoError(t, err)
	bad := 0
	for i, v := range f64 {
		if math.IsNaN(v) {
			continue // NaN payloads are not compared
		}
		if got := npy.Float16From(v); got != h64[i] && bad < 10 {
			bad++
			t.Errorf("Float16From(%v) = %#04x, NumPy float64 -> float16 gives %#04x", v, uint16(got), uint16(h64[i]))
		}
		if got := npy.Float16From(float64(f32[i])); got != h32[i] && bad < 10 {
			bad++
			t.Errorf("Float16From(float64(float32 %v)) = %#04x, NumPy float32 -> float16 gives %#04x", f32[i], uint16(got), uint16(h32[i]))
		}
	}
}
