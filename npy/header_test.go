package npy

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustDType(t testing.TB, s string) *DType {
	t.Helper()
	d, err := ParseDType(s)
	require.NoError(t, err, s)
	return d
}

// Golden headers from formats.md, checked against NumPy 1.24.2.
func TestAppendHeaderGolden(t *testing.T) {
	cases := []struct {
		descr   string
		fortran bool
		shape   []int
		dict    string
		total   int
	}{
		{"<f8", false, []int{3}, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 128},
		{"<f8", false, []int{}, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 128},
		{"<i4", false, []int{2, 3}, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", 128},
		{"<f8", true, []int{2, 3}, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", 128},
		{"[('x', '<i4', (2,)), ('y', '<f8'), ('s', '|S3')]", false, []int{2},
			"{'descr': [('x', '<i4', (2,)), ('y', '<f8'), ('s', '|S3')], 'fortran_order': False, 'shape': (2,), }", 192},
	}
	for _, c := range cases {
		h := &Header{DType: mustDType(t, c.descr), FortranOrder: c.fortran, Shape: c.shape}
		b, err := AppendHeader(nil, h)
		require.NoError(t, err)
		assert.Len(t, b, c.total, c.dict)
		assert.Equal(t, Magic+"\x01\x00", string(b[:8]))
		assert.True(t, strings.HasPrefix(string(b[10:]), c.dict), string(b))
		assert.Equal(t, byte('\n'), b[len(b)-1])
		assert.Zero(t, len(b)%64)

		back, err := ReadHeader(bytes.NewReader(b))
		require.NoError(t, err)
		assert.True(t, back.DType.Equal(h.DType))
		assert.Equal(t, c.shape, back.Shape)
		assert.Equal(t, c.fortran, back.FortranOrder)
		assert.EqualValues(t, c.total, back.DataOffset)
	}
}

func TestHeaderVersionChoice(t *testing.T) {
	// latin-1 name: stays 1.0
	d := mustDType(t, "[('é', '<f8')]")
	b, err := AppendHeader(nil, &Header{DType: d, Shape: []int{1}})
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 0}, b[6:8])
	assert.Contains(t, string(b), "\xe9") // latin-1 byte
	// non-latin-1 name: 3.0, UTF-8
	d = mustDType(t, "[('温度', '<f8')]")
	b, err = AppendHeader(nil, &Header{DType: d, Shape: []int{1}})
	require.NoError(t, err)
	assert.Equal(t, []byte{3, 0}, b[6:8])
	assert.Zero(t, len(b)%64)
	h, err := ReadHeader(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, "温度", h.DType.Fields[0].Name)
	// explicit 1.0 that cannot hold it
	_, err = AppendHeader(nil, &Header{Version: v1, DType: d, Shape: []int{1}})
	assert.ErrorIs(t, err, ErrBadHeader)
	// > 65535 bytes: 2.0
	var sb strings.Builder
	sb.WriteString("[")
	for i := 0; i < 5000; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("('field_number_" + strings.Repeat("x", 3) + strconv.Itoa(i) + "', '<f4')")
	}
	sb.WriteString("]")
	d = mustDType(t, sb.String())
	b, err = AppendHeader(nil, &Header{DType: d, Shape: []int{2}})
	require.NoError(t, err)
	assert.Equal(t, []byte{2, 0}, b[6:8])
	assert.Zero(t, len(b)%64)
	h, err = ReadHeader(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Len(t, h.DType.Fields, 5000)
}

func TestReadHeaderLenient(t *testing.T) {
	mk := func(v Version, dict string) []byte {
		var b bytes.Buffer
		b.WriteString(Magic)
		b.WriteByte(v.Major)
		b.WriteByte(v.Minor)
		n := len(dict)
		if v == v1 {
			b.Write([]byte{byte(n), byte(n >> 8)})
		} else {
			b.Write([]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)})
		}
		b.WriteString(dict)
		return b.Bytes()
	}
	ok := []string{
		`{"shape": (2, 3), "descr": "<i4", "fortran_order": False}`,
		"{'descr':'<i4','fortran_order':False,'shape':(2L, 3L)}\n",
		"  { 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , 'descr' : '<i4' , }   \n",
	}
	for _, s := range ok {
		h, err := ReadHeader(bytes.NewReader(mk(v1, s)))
		require.NoError(t, err, s)
		assert.Equal(t, []int{2, 3}, h.Shape)
		assert.Equal(t, "<i4", h.DType.String())
	}
	bad := map[string]error{
		"[1, 2]": ErrBadHeader,
		"{'descr': '<i4', 'fortran_order': False}":                                     ErrBadHeader,
		"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'extra': 1}":          ErrBadHeader,
		"{'descr': '<i4', 'fortran_order': 0, 'shape': (2,)}":                          ErrBadHeader,
		"{'descr': '<i4', 'fortran_order': False, 'shape': [2]}":                       ErrBadShape,
		"{'descr': '<i4', 'fortran_order': False, 'shape': (-1,)}":                     ErrBadShape,
		"{'descr': '<i4', 'fortran_order': False, 'shape': (2.0,)}":                    ErrBadShape,
		"{'descr': '<i4', 'fortran_order': False, 'shape': (2e3,)}":                    ErrBadShape,
		"{'descr': '<i4', 'fortran_order': False, 'shape': (2j,)}":                     ErrBadShape,
		"{'descr': '<i4', 'fortran_order': False, 'shape': (2x,)}":                     ErrBadHeader,
		"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 9223372036854775807)}":  ErrBadShape,
		"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 18446744073709551614)}": ErrBadShape,
		"{'descr': '|O', 'fortran_order': False, 'shape': (2,)}":                       ErrObjectDType,
		"{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (2,)}":              ErrObjectDType,
		"{'descr': '<x4', 'fortran_order': False, 'shape': (2,)}":                      ErrBadDType,
		"{'descr': '<f3', 'fortran_order': False, 'shape': (2,)}":                      ErrBadDType,
		"{'descr': __import__('os'), 'fortran_order': False, 'shape': (2,)}":           ErrBadHeader,
		"{'descr': '<f8', 'fortran_order': False, 'shape': (2,)":                       ErrBadHeader,
		strings.Repeat("(", 100) + strings.Repeat(")", 100):                            ErrBadHeader,
	}
	for s, want := range bad {
		_, err := ReadHeader(bytes.NewReader(mk(v1, s)))
		assert.ErrorIs(t, err, want, s)
	}
}

func TestReadHeaderErrors(t *testing.T) {
	good, err := AppendHeader(nil, &Header{DType: mustDType(t, "<f8"), Shape: []int{3}})
	require.NoError(t, err)
	cases := []struct {
		in   []byte
		want error
	}{
		{nil, ErrBadMagic},
		{[]byte("\x93NUM"), ErrBadMagic},
		{[]byte("\x93NUMPY"), ErrBadMagic},
		{[]byte("\x92NUMPY\x01\x00"), ErrBadMagic},
		{[]byte("PK\x03\x04abcdefgh"), ErrBadMagic},
		{[]byte("\x93NUMPY\x01\x01\x00\x00"), ErrUnsupportedVersion},
		{[]byte("\x93NUMPY\xff\xff\x00\x00"), ErrUnsupportedVersion},
		{[]byte("\x93NUMPY\x02\x00"), ErrTruncated},
		{[]byte("\x93NUMPY\x01\x00\x01"), ErrTruncated},
		{[]byte("\x93NUMPY\x02\x00\xff\xff\xff\xff"), ErrHeaderTooLarge},
		{good[:60], ErrTruncated},
	}
	for _, c := range cases {
		_, err := ReadHeader(bytes.NewReader(c.in))
		assert.ErrorIs(t, err, c.want, "%q", c.in)
	}
}

func TestParseDTypeSpellings(t *testing.T) {
	native := string(nativeOrder)
	cases := map[string]string{
		"<f8": "<f8", "f8": native + "f8", "float64": native + "f8", "int32": native + "i4",
		">i2": ">i2", "S5": "|S5", "U3": native + "U3", "bool": "|b1", "?": "|b1",
		"b1": "|b1", "i1": "|i1", "<u1": "|u1", "uint8": "|u1", "<M8[ns]": "<M8[ns]",
		"datetime64[ms]": native + "M8[ms]", "m8[10us]": native + "m8[10us]", "<M8": "<M8",
		"complex64": native + "c8", "c16": native + "c16", "V8": "|V8", "e": native + "f2",
		"float16": native + "f2", ">U10": ">U10", "a4": "|S4", "=i8": native + "i8",
	}
	for in, want := range cases {
		d, err := ParseDType(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, d.String(), in)
	}
	for _, in := range []string{"", "S", "U0", "V", "i3", "f1", "x8", "<f8x", "M8[parsec]", "i4[ns]", "S99999999999", "str", "!f4"} {
		_, err := ParseDType(in)
		assert.ErrorIs(t, err, ErrBadDType, in)
	}
	_, err := ParseDType("O")
	assert.ErrorIs(t, err, ErrObjectDType)
}

func TestStructuredDType(t *testing.T) {
	d := mustDType(t, "[(('Title', 'a'), '|i1'), ('', '|V3'), ('b', '>i4'), ('n', [('x', '<f8', (2, 3))], (2,))]")
	require.True(t, d.Structured())
	assert.Equal(t, 1+3+4+2*48, d.Size)
	assert.Equal(t, []int{0, 1, 4, 8}, []int{d.Fields[0].Offset, d.Fields[1].Offset, d.Fields[2].Offset, d.Fields[3].Offset})
	assert.Equal(t, "[(('Title', 'a'), '|i1'), ('', '|V3'), ('b', '>i4'), ('n', [('x', '<f8', (2, 3))], (2,))]", d.String())
	assert.False(t, d.Native())
	assert.True(t, d.WithOrder('<').Native() == (nativeOrder == '<'))
	_, err := ParseDType("[('a', '<i4'), ('a', '<f8')]")
	assert.ErrorIs(t, err, ErrBadDType)
}
