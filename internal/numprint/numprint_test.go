package numprint_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"testing"

	"github.com/arrfile/arrfile/internal/numprint"
	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// whole is the whole array of h over data.
func whole(h *npy.Header, data io.ReaderAt) numprint.Array {
	a := numprint.Array{DType: h.DType, Shape: h.Shape, Data: data}
	for _, s := range h.Strides() {
		a.Strides = append(a.Strides, int64(s))
	}
	return a
}

// sprint returns what Fprint writes for a, failing the test on an error.
func sprint(t testing.TB, a numprint.Array, opt numprint.Options) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, numprint.Fprint(&b, a, opt))
	return b.String()
}

func ExampleFprint() {
	var raw bytes.Buffer
	if err := npy.Write(&raw, []float64{1, 2.5, 3, math.NaN(), 1e-3, math.Copysign(0, -1)}, 2, 3); err != nil {
		panic(err)
	}
	data, h, err := npy.ReadAll(&raw)
	if err != nil {
		panic(err)
	}
	a := numprint.Array{DType: h.DType, Shape: h.Shape, Strides: []int64{24, 8}, Data: bytes.NewReader(data)}
	if err := numprint.Fprint(os.Stdout, a, numprint.Defaults); err != nil {
		panic(err)
	}
	// The second row, reversed: a[1, ::-1].
	a = numprint.Array{DType: h.DType, Shape: []int{3}, Strides: []int64{-8}, Offset: 40, Data: a.Data}
	if err := numprint.Fprint(os.Stdout, a, numprint.Defaults); err != nil {
		panic(err)
	}
	// Output:
	// [[ 1.0e+00  2.5e+00  3.0e+00]
	//  [     nan  1.0e-03 -0.0e+00]]
	// [-0.     0.001    nan]
}

// countingReaderAt counts the bytes read through it and fails reads
// behind one already made, as a decompressing stream does.
type countingReaderAt struct {
	r     io.ReaderAt
	bytes int64
	pos   int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < c.pos {
		return 0, fmt.Errorf("backward read at %d after %d", off, c.pos)
	}
	c.bytes += int64(len(p))
	c.pos = off + int64(len(p))
	return c.r.ReadAt(p, off)
}

// TestFprintReadsOnlyShownElements: printing a large array reads only the
// values shown, in increasing order, so a compressed file decompresses
// only their frames, front to back.
func TestFprintReadsOnlyShownElements(t *testing.T) {
	dt, err := npy.ParseDType("<f8")
	require.NoError(t, err)
	c := func(shape ...int) numprint.Array {
		return whole(&npy.Header{DType: dt, Shape: shape}, nil)
	}
	f := func(shape ...int) numprint.Array {
		return whole(&npy.Header{DType: dt, Shape: shape, FortranOrder: true}, nil)
	}
	row500 := c(1000, 1000) // a[500]
	row500.Shape, row500.Strides, row500.Offset = row500.Shape[1:], row500.Strides[1:], 500*8000
	rows7to9 := c(1000, 1000) // a[7:9]
	rows7to9.Shape, rows7to9.Offset = []int{2, 1000}, 7*8000
	reversed := c(1 << 20) // a[::-1]
	reversed.Strides, reversed.Offset = []int64{-8}, (1<<20-1)*8
	for _, tc := range []struct {
		name string
		a    numprint.Array
		max  int64 // bytes
	}{
		{"1d", c(1 << 20), 6 * 8},
		{"2d", c(1000, 1000), 36 * 8},
		{"2d fortran", f(1000, 1000), 36 * 8},
		{"3d", c(100, 100, 100), 216 * 8},
		{"a[500]", row500, 1000 * 8}, // 1000 values: not summarised
		{"a[7:9]", rows7to9, 12 * 8},
		{"a[::-1]", reversed, 6 * 8},
	} {
		cr := &countingReaderAt{r: bytes.NewReader(make([]byte, 1<<23))}
		tc.a.Data = cr
		sprint(t, tc.a, numprint.Defaults)
		assert.Equal(t, tc.max, cr.bytes, tc.name)
	}
}

// TestFprintReadError: a short or failing read is returned, and nothing
// is written.
func TestFprintReadError(t *testing.T) {
	var raw bytes.Buffer
	require.NoError(t, npy.Write(&raw, []int32{1, 2, 3, 4}))
	data, h, err := npy.ReadAll(&raw)
	require.NoError(t, err)
	for _, n := range []int{0, 3, 15} {
		var out bytes.Buffer
		err := numprint.Fprint(&out, whole(h, bytes.NewReader(data[:n])), numprint.Defaults)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, n)
		assert.Zero(t, out.Len(), n)
	}
	h.Shape = nil // 0-d
	err = numprint.Fprint(io.Discard, whole(h, bytes.NewReader(data[:2])), numprint.Defaults)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, "1\n", sprint(t, whole(h, bytes.NewReader(data)), numprint.Defaults))
}

// TestFprintOptions: threshold, edgeitems and linewidth as NumPy's
// np.set_printoptions (the values from NumPy 1.24).
func TestFprintOptions(t *testing.T) {
	var raw bytes.Buffer
	vals := make([]int16, 40)
	for i := range vals {
		vals[i] = int16(i * i)
	}
	require.NoError(t, npy.Write(&raw, vals, 4, 10))
	data, h, err := npy.ReadAll(&raw)
	require.NoError(t, err)
	a := whole(h, bytes.NewReader(data))
	for _, tc := range []struct {
		opt  numprint.Options
		want string
	}{
		// np.set_printoptions(threshold=10, edgeitems=1); print(a)
		{numprint.Options{Threshold: 10, EdgeItems: 1, LineWidth: 75}, "[[   0 ...   81]\n ...\n [ 900 ... 1521]]\n"},
		// np.set_printoptions(threshold=40, linewidth=30); print(a)
		{numprint.Options{Threshold: 40, EdgeItems: 3, LineWidth: 30}, "[[   0    1    4    9   16\n    25   36   49   64   81]\n" +
			" [ 100  121  144  169  196\n   225  256  289  324  361]\n" +
			" [ 400  441  484  529  576\n   625  676  729  784  841]\n" +
			" [ 900  961 1024 1089 1156\n  1225 1296 1369 1444 1521]]\n"},
		// np.set_printoptions(threshold=0, edgeitems=2, linewidth=1); print(a)
		{numprint.Options{Threshold: 0, EdgeItems: 2, LineWidth: 1}, "[[   0\n     1\n  ...\n    64\n    81]\n" +
			" [ 100\n   121\n  ...\n   324\n   361]\n" +
			" [ 400\n   441\n  ...\n   784\n   841]\n" +
			" [ 900\n   961\n  ...\n  1444\n  1521]]\n"},
		// np.set_printoptions(threshold=10, edgeitems=0); print(a): NumPy
		// shows "..." and the last element of each summarised axis
		{numprint.Options{Threshold: 10, EdgeItems: 0, LineWidth: 75}, "[...\n [... 1521]]\n"},
		// the same with linewidth=8
		{numprint.Options{Threshold: 10, EdgeItems: 0, LineWidth: 8}, "[...\n [...\n  1521]]\n"},
	} {
		assert.Equal(t, tc.want, sprint(t, a, tc.opt), "%+v", tc.opt)
	}
	// With edgeitems 0 the format depends on every element, as in NumPy:
	// np.set_printoptions(threshold=3, edgeitems=0); print(np.arange(7.)/3)
	f := make([]float64, 7)
	for i := range f {
		f[i] = float64(i) / 3
	}
	raw.Reset()
	require.NoError(t, npy.Write(&raw, f))
	fdata, fh, err := npy.ReadAll(&raw)
	require.NoError(t, err)
	assert.Equal(t, "[... 2.        ]\n", sprint(t, whole(fh, bytes.NewReader(fdata)), numprint.Options{Threshold: 3, EdgeItems: 0, LineWidth: 75}))
}

// oddStringsPy prints NumPy 1.24's str() of 'U' and 'S' arrays with
// characters at the edges of Python's repr: U+FFFD, controls, format and
// private-use characters, lone surrogates and code units above U+10FFFF
// (which NumPy keeps), quotes around them, and bytes that are not UTF-8.
// For each it gives the dtype, shape, data (hex) and text. (Characters
// that Unicode 15.0 added print as they are, as Python 3.12 and Go's
// tables have them, where NumPy 1.24 on Python 3.11 escapes them: see
// pyliteral.AppendStr.)
const oddStringsPy = `
import json, sys
import numpy as np
def units(*rows, order='<'):
    n = max(len(r) for r in rows)
    u = np.zeros((len(rows), n), dtype=order + 'u4')
    for i, r in enumerate(rows):
        u[i, :len(r)] = r
    return u.view(order + 'U%d' % n).reshape(len(rows))
s = lambda t: [ord(c) for c in t]
cases = [
    np.array(['\ufffd']),
    np.array(['\ufffd', 'a\ufffdb', '\ufffd\x00']),
    np.array('\ufffd'),
    np.array('it\'s \ufffd'),
    np.array(['\x00a', 'a\x00b', '\x85', '\xa0', '\xad', '\u200b', '\u2028', '\ue000', '\U000e0001', '\u0378', '\U0010ffff', '\ufeff']),
    np.array(['it\'s', 'say "hi"', 'both \' "', '\\', '\t\n\r\x1b']),
    units([0xd800, 0x41], [0xdfff], s("it's") + [0xdc80], s('"') + [0xd83d, 0xde00]),
    units([0xd800, 0x41], [0xdfff], order='>'),
    units([0x110000, 0x41], [0xffffffff, 0x41], [0x80000000, 0x41]),
    np.array([b'\xef\xbf\xbd', b'\xff', b'it\'s', b'\x00a', b'"\'', b'\x7f\x80']),
    np.array(b'\xef\xbf\xbd'),
    np.zeros(2, dtype=[('u', '<U2'), ('b', 'S2')]),
]
cases[-1]['u'] = ['\ufffd', '\ud800']
cases[-1]['b'] = [b'\xff', b"'"]
out = []
for a in cases:
    out.append({'dtype': a.dtype.descr[0][1] if a.dtype.names is None else str(a.dtype.descr), 'shape': a.shape, 'data': a.tobytes().hex(), 'text': str(a)})
json.dump(out, sys.stdout)
`

// TestOddStringsMatchNumPy prints the arrays of oddStringsPy and compares
// with NumPy.
func TestOddStringsMatchNumPy(t *testing.T) {
	var cases []struct {
		DType string
		Shape []int
		Data  string
		Text  string
	}
	require.NoError(t, json.Unmarshal(pytest.Run(t, oddStringsPy), &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		dt, err := npy.ParseDType(c.DType)
		require.NoError(t, err, c.DType)
		data, err := hex.DecodeString(c.Data)
		require.NoError(t, err)
		a := whole(&npy.Header{DType: dt, Shape: c.Shape}, bytes.NewReader(data))
		assert.Equal(t, c.Text+"\n", sprint(t, a, numprint.Defaults), "%s %v % x", c.DType, c.Shape, data)
	}
}

// TestOddStrings: a few of the cases above as NumPy 1.24 prints them, for
// machines without NumPy.
func TestOddStrings(t *testing.T) {
	units := func(dtype string, us ...uint32) numprint.Array {
		dt, err := npy.ParseDType(dtype)
		require.NoError(t, err)
		b := make([]byte, 4*len(us))
		for i, u := range us {
			binary.LittleEndian.PutUint32(b[4*i:], u)
		}
		n := len(us) / (dt.Size / 4)
		return numprint.Array{DType: dt, Shape: []int{n}, Strides: []int64{int64(dt.Size)}, Data: bytes.NewReader(b)}
	}
	for _, tc := range []struct {
		a    numprint.Array
		want string
	}{
		{units("<U1", 0xfffd), "['\ufffd']"},
		{units("<U3", 0xfffd, 0, 0, 'a', 0xfffd, 'b'), "['\ufffd' 'a\ufffdb']"},
		{units("<U2", 0xd800, 'A', 0xdfff, 0), `['\ud800A' '\udfff']`},
		{units("<U2", '\'', 0xdc80), `["'\udc80"]`},
		{units("<U2", 0x110000, 'A', 0xffffffff, 'A'), `['\U00110000A' '\UffffffffA']`},
		{units("<U1", 0x85, 0xad, 0x200b, 0xe000, 0xe0001), `['\x85' '\xad' '\u200b' '\ue000' '\U000e0001']`},
	} {
		assert.Equal(t, tc.want+"\n", sprint(t, tc.a, numprint.Defaults))
	}
	dt, err := npy.ParseDType("|S3")
	require.NoError(t, err)
	a := numprint.Array{DType: dt, Shape: []int{2}, Strides: []int64{3}, Data: bytes.NewReader([]byte("\xef\xbf\xbd\xff\x00\x00"))}
	assert.Equal(t, `[b'\xef\xbf\xbd' b'\xff']`+"\n", sprint(t, a, numprint.Defaults))
}
