package npy_test

// Checks the reader, writer and canonical bytes against the fixtures in
// ../testdata, written by real NumPy 1.24 (see testdata/README.md and
// testdata/gen.py). No Python is needed: the manifests hold what NumPy said.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
	"unsafe"

	"github.com/arrfile/arrfile/internal/descr"
	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fxDir = "../testdata"

// fxField is a structured dtype's field as NumPy sees it after loading
// (padding fields dropped).
type fxField struct {
	Name     string    `json:"name"`
	Title    *string   `json:"title"`
	Offset   int       `json:"offset"`
	DType    string    `json:"dtype"`
	Shape    []int     `json:"shape"`
	Itemsize int       `json:"itemsize"`
	Fields   []fxField `json:"fields"`
}

// fxGood is one entry of testdata/npy/manifest.json.
type fxGood struct {
	Name            string            `json:"name"`
	DType           json.RawMessage   `json:"dtype"`
	DTypeStr        string            `json:"dtype_str"`
	Kind            string            `json:"kind"`
	Descr           string            `json:"descr"`
	Shape           []int             `json:"shape"`
	FortranOrder    bool              `json:"fortran_order"`
	Version         string            `json:"version"`
	HeaderLen       int64             `json:"header_len"`
	DataOffset      int64             `json:"data_offset"`
	Itemsize        int               `json:"itemsize"`
	Nbytes          int64             `json:"nbytes"`
	Legacy          bool              `json:"legacy"`
	ExplicitVersion bool              `json:"explicit_version"`
	HeaderHex       string            `json:"header_hex"`
	NumPyHeaderHex  string            `json:"numpy_header_hex"`
	SHA256          string            `json:"sha256"`
	Fields          []fxField         `json:"fields"`
	HasPadding      bool              `json:"has_padding"`
	ValuesEncoding  string            `json:"values_encoding"`
	Values          []json.RawMessage `json:"values"`
}

// fxBad is one entry of testdata/bad/manifest.json.
type fxBad struct {
	Name        string   `json:"name"`
	Error       string   `json:"error"`
	Stage       string   `json:"stage"`
	Description string   `json:"description"`
	Size        int      `json:"size"`
	AlsoOK      []string `json:"also_ok"`
	NumPy       string   `json:"numpy"`
}

// fxErrors maps the manifests' error classes to the package's sentinels.
var fxErrors = map[string]error{
	"bad_magic":           npy.ErrBadMagic,
	"unsupported_version": npy.ErrUnsupportedVersion,
	"truncated":           npy.ErrTruncated,
	"header_too_large":    npy.ErrHeaderTooLarge,
	"bad_header":          npy.ErrBadHeader,
	"bad_shape":           npy.ErrBadShape,
	"bad_dtype":           npy.ErrBadDType,
	"object_dtype":        npy.ErrObjectDType,
	"trailing_data":       npy.ErrTrailingData,
}

func fxManifest[E any](t *testing.T, sub string) []E {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fxDir, sub, "manifest.json"))
	require.NoError(t, err, "fixtures missing: regenerate with cd testdata && /usr/bin/python3 gen.py")
	var m struct {
		NumPyVersion string `json:"numpy_version"`
		Files        []E    `json:"files"`
	}
	require.NoError(t, json.Unmarshal(b, &m))
	require.NotEmpty(t, m.Files)
	return m.Files
}

// fxSameFiles checks the manifest lists exactly the .npy files in the folder.
func fxSameFiles(t *testing.T, sub string, names []string) {
	t.Helper()
	onDisk, err := filepath.Glob(filepath.Join(fxDir, sub, "*.npy"))
	require.NoError(t, err)
	for i := range onDisk {
		onDisk[i] = filepath.Base(onDisk[i])
	}
	sort.Strings(onDisk)
	names = append([]string(nil), names...)
	sort.Strings(names)
	assert.Equal(t, names, onDisk, "testdata/%s: manifest and files disagree; rerun gen.py", sub)
}

// fxInts turns nil into an empty slice so shapes compare with the manifest's.
func fxInts(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

func TestTestdataGood(t *testing.T) {
	files := fxManifest[fxGood](t, "npy")
	names := make([]string, len(files))
	for i, e := range files {
		names[i] = e.Name
	}
	fxSameFiles(t, "npy", names)
	for _, e := range files {
		t.Run(e.Name, func(t *testing.T) { fxCheckGood(t, e) })
	}
}

func fxCheckGood(t *testing.T, e fxGood) {
	raw, err := os.ReadFile(filepath.Join(fxDir, "npy", e.Name))
	require.NoError(t, err)

	// Header fields, read from a stream that must be left at the data.
	r := bytes.NewReader(raw)
	h, err := npy.ReadHeader(r)
	require.NoError(t, err)
	assert.Equal(t, int64(len(raw))-e.DataOffset, int64(r.Len()), "ReadHeader must stop at the first data byte")
	assert.Equal(t, e.Version, h.Version.String())
	assert.Equal(t, e.Shape, fxInts(h.Shape))
	assert.Equal(t, e.FortranOrder, h.FortranOrder)
	assert.Equal(t, e.DataOffset, h.DataOffset)
	assert.Equal(t, e.Nbytes, h.DataSize())
	assert.Equal(t, int64(len(raw)), h.DataOffset+h.DataSize(), "file size")
	require.Equal(t, e.HeaderHex, hex.EncodeToString(raw[:e.DataOffset]), "fixture header bytes")

	// The dtype: item size, kind, NumPy's spellings.
	dt := h.DType
	assert.Equal(t, e.Itemsize, dt.Size)
	assert.Equal(t, e.Kind, string(dt.Kind))
	ds := dt.String() // a simple dtype's descr is its quoted String
	if !dt.Structured() {
		ds = "'" + ds + "'"
	}
	assert.Equal(t, e.Descr, ds, "descr")
	if dt.Structured() {
		assert.Equal(t, strings.TrimSpace(e.Descr), dt.String(), "String of a structured dtype is its descr")
		fxCheckFields(t, e.Fields, dt, "")
	} else {
		assert.Equal(t, e.DTypeStr, dt.String(), "String")
		assert.Nil(t, e.Fields)
	}
	js, err := json.Marshal(descr.JSON(dt))
	require.NoError(t, err)
	assert.JSONEq(t, string(e.DType), string(js), "DescrJSON")
	back, err := npy.ParseDType(dt.String())
	if assert.NoError(t, err, "ParseDType(%q)", dt.String()) {
		assert.True(t, back.Equal(dt), "ParseDType(String()) = %v, want %v", back, dt)
	}

	// Writing the header back: byte-identical to what NumPy 1.24 writes.
	fresh := func(v npy.Version) *npy.Header {
		return &npy.Header{Version: v, DType: dt, FortranOrder: h.FortranOrder, Shape: h.Shape}
	}
	if !e.Legacy {
		got, err := npy.AppendHeader(nil, fresh(h.Version))
		require.NoError(t, err)
		assert.Equal(t, e.HeaderHex, hex.EncodeToString(got), "AppendHeader with version %s", h.Version)
		if !e.ExplicitVersion {
			got, err := npy.AppendHeader([]byte("prefix"), fresh(npy.Version{}))
			require.NoError(t, err)
			assert.Equal(t, "prefix", string(got[:6]), "AppendHeader must append")
			assert.Equal(t, e.HeaderHex, hex.EncodeToString(got[6:]), "AppendHeader choosing the version")
			assert.EqualValues(t, e.DataOffset, len(got)-6, "header size")
		}
	} else {
		got, err := npy.AppendHeader(nil, fresh(npy.Version{}))
		require.NoError(t, err)
		assert.Equal(t, e.NumPyHeaderHex, hex.EncodeToString(got), "legacy file re-encoded as NumPy 1.24 would")
	}

	// Data: canonical bytes and their checksum.
	data := raw[h.DataOffset:]
	canon, err := canonical(h, data)
	require.NoError(t, err)
	sum := sha256.Sum256(canon)
	assert.Equal(t, e.SHA256, hex.EncodeToString(sum[:]), "sha256 of the canonical bytes")
	assert.Len(t, canon, int(e.Nbytes))

	// Streaming: the Reader yields exactly the data bytes, whatever the read sizes.
	for _, wrap := range []func(io.Reader) io.Reader{
		func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader,
	} {
		nr, err := npy.NewReader(wrap(bytes.NewReader(raw)))
		require.NoError(t, err)
		got, err := io.ReadAll(nr)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, got), "Reader data differs")
	}
	all, ha, err := npy.ReadAll(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, all), "ReadAll data differs")
	assert.Equal(t, h, ha)

	if e.ValuesEncoding != "" {
		fxCheckValues(t, e, h, raw, canon)
	} else {
		assert.True(t, dt.Structured(), "only structured fixtures come without values")
	}
}

// fxCheckFields compares the non-padding fields of dt with NumPy's view.
func fxCheckFields(t *testing.T, want []fxField, dt *npy.DType, path string) {
	t.Helper()
	var got []npy.Field
	for _, f := range dt.Fields {
		if f.Name != "" {
			got = append(got, f)
		}
	}
	if !assert.Len(t, got, len(want), "fields of %q", path) {
		return
	}
	for i, w := range want {
		g := got[i]
		where := path + "." + w.Name
		assert.Equal(t, w.Name, g.Name, where)
		title := ""
		if w.Title != nil {
			title = *w.Title
		}
		assert.Equal(t, title, g.Title, "%s title", where)
		assert.Equal(t, w.Offset, g.Offset, "%s offset", where)
		assert.Equal(t, w.Shape, fxInts(g.Shape), "%s shape", where)
		assert.Equal(t, w.Itemsize, g.Type.Size, "%s itemsize", where)
		if w.Fields != nil {
			fxCheckFields(t, w.Fields, g.Type, where)
		} else {
			assert.Equal(t, w.DType, g.Type.String(), "%s dtype", where)
		}
	}
}

// fxRead reads the file's values as T through Read (sized and unsized
// paths) and View, and returns them in C order.
func fxRead[T npy.Elem](t *testing.T, raw []byte, h *npy.Header) []T {
	t.Helper()
	vals, h1, err := npy.Read[T](bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, h, h1)
	vals2, _, err := npy.Read[T](iotest.HalfReader(bytes.NewReader(raw)))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(npy.Bytes(vals), npy.Bytes(vals2)), "Read sized and unsized paths differ")

	data := raw[h.DataOffset:]
	view, err := npy.View[T](data, h.DType)
	var z T
	switch {
	case !h.DType.Native():
		assert.ErrorIs(t, err, npy.ErrByteOrder)
	case len(data) > 0 && uintptr(unsafe.Pointer(&data[0]))%unsafe.Alignof(z) != 0:
		assert.ErrorIs(t, err, npy.ErrAlignment)
	default:
		require.NoError(t, err)
		assert.True(t, bytes.Equal(npy.Bytes(vals), npy.Bytes(view)), "View and Read differ")
	}
	return fxToC(vals, h)
}

// fxToC reorders Fortran-order values into C order.
func fxToC[T any](vals []T, h *npy.Header) []T {
	if !h.FortranOrder || len(h.Shape) < 2 {
		return vals
	}
	out := make([]T, len(vals))
	idx := make([]int, len(h.Shape))
	for c := range out {
		rem := c
		for k := len(h.Shape) - 1; k >= 0; k-- {
			idx[k] = rem % h.Shape[k]
			rem /= h.Shape[k]
		}
		f, stride := 0, 1
		for k := range h.Shape {
			f += idx[k] * stride
			stride *= h.Shape[k]
		}
		out[c] = vals[f]
	}
	return out
}

// fxStrings decodes the manifest's values as JSON strings.
func fxStrings(t *testing.T, raw []json.RawMessage) []string {
	t.Helper()
	out := make([]string, len(raw))
	for i, r := range raw {
		require.NoError(t, json.Unmarshal(r, &out[i]))
	}
	return out
}

func fxInt[T int8 | int16 | int32 | int64](v []T) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatInt(int64(x), 10)
	}
	return out
}

func fxUint[T uint8 | uint16 | uint32 | uint64](v []T) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatUint(uint64(x), 10)
	}
	return out
}

func fxBits(bits uint64, size int) string { return fmt.Sprintf("%0*x", 2*size, bits) }

// fxCheckValues compares the elements with the manifest's values, decoded
// without Python: numbers through Read/View, strings from the canonical bytes.
func fxCheckValues(t *testing.T, e fxGood, h *npy.Header, raw, canon []byte) {
	dt := h.DType
	n := int(h.NumElements())
	require.Len(t, e.Values, n, "manifest values")
	got := []string{}
	switch dt.Kind {
	case 'b':
		require.Equal(t, "bool", e.ValuesEncoding)
		want := make([]bool, n)
		for i, r := range e.Values {
			require.NoError(t, json.Unmarshal(r, &want[i]))
		}
		assert.Equal(t, want, fxRead[bool](t, raw, h))
		return
	case 'i', 'M', 'm':
		require.Equal(t, "int", e.ValuesEncoding)
		switch dt.Size {
		case 1:
			got = fxInt(fxRead[int8](t, raw, h))
		case 2:
			got = fxInt(fxRead[int16](t, raw, h))
		case 4:
			got = fxInt(fxRead[int32](t, raw, h))
		case 8:
			got = fxInt(fxRead[int64](t, raw, h))
		}
	case 'u':
		require.Equal(t, "int", e.ValuesEncoding)
		switch dt.Size {
		case 1:
			got = fxUint(fxRead[uint8](t, raw, h))
		case 2:
			got = fxUint(fxRead[uint16](t, raw, h))
		case 4:
			got = fxUint(fxRead[uint32](t, raw, h))
		case 8:
			got = fxUint(fxRead[uint64](t, raw, h))
		}
	case 'f':
		require.Equal(t, "float_bits", e.ValuesEncoding)
		switch dt.Size {
		case 2:
			for _, v := range fxRead[npy.Float16](t, raw, h) {
				got = append(got, fxBits(uint64(v), 2))
			}
		case 4:
			for _, v := range fxRead[float32](t, raw, h) {
				got = append(got, fxBits(uint64(math.Float32bits(v)), 4))
			}
		case 8:
			for _, v := range fxRead[float64](t, raw, h) {
				got = append(got, fxBits(math.Float64bits(v), 8))
			}
		}
	case 'c':
		require.Equal(t, "complex_bits", e.ValuesEncoding)
		want := make([][2]string, n)
		for i, r := range e.Values {
			require.NoError(t, json.Unmarshal(r, &want[i]))
		}
		gotc := make([][2]string, 0, n)
		switch dt.Size {
		case 8:
			for _, v := range fxRead[complex64](t, raw, h) {
				gotc = append(gotc, [2]string{fxBits(uint64(math.Float32bits(real(v))), 4),
					fxBits(uint64(math.Float32bits(imag(v))), 4)})
			}
		case 16:
			for _, v := range fxRead[complex128](t, raw, h) {
				gotc = append(gotc, [2]string{fxBits(math.Float64bits(real(v)), 8), fxBits(math.Float64bits(imag(v)), 8)})
			}
		}
		assert.Equal(t, want, gotc)
		return
	case 'S', 'V':
		require.Equal(t, "bytes_hex", e.ValuesEncoding)
		for i := 0; i < n; i++ {
			got = append(got, hex.EncodeToString(canon[i*dt.Size:(i+1)*dt.Size]))
		}
	case 'U':
		require.Equal(t, "str", e.ValuesEncoding)
		for i := 0; i < n; i++ {
			item := canon[i*dt.Size : (i+1)*dt.Size]
			var rs []rune
			for j := 0; j < len(item); j += 4 {
				c := rune(uint32(item[j]) | uint32(item[j+1])<<8 | uint32(item[j+2])<<16 | uint32(item[j+3])<<24)
				require.True(t, c == 0 || utf8.ValidRune(c), "element %d: bad code point %#x", i, c)
				rs = append(rs, c)
			}
			for len(rs) > 0 && rs[len(rs)-1] == 0 { // NumPy strips trailing NULs
				rs = rs[:len(rs)-1]
			}
			got = append(got, string(rs))
		}
	default:
		t.Fatalf("manifest has values for unexpected kind %q", dt.Kind)
	}
	assert.Equal(t, fxStrings(t, e.Values), got)
}

func fxTotalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// fxKnownBugs lists bad fixtures the package does not yet handle as the
// manifest expects (reported to the package owner). Empty when all pass.
var fxKnownBugs = map[string]string{}

func TestTestdataBad(t *testing.T) {
	files := fxManifest[fxBad](t, "bad")
	names := make([]string, len(files))
	classes := map[string]int{}
	for i, e := range files {
		names[i] = e.Name
		classes[e.Error]++
	}
	fxSameFiles(t, "bad", names)
	for c := range fxErrors {
		assert.NotZero(t, classes[c], "no bad fixture for class %s", c)
	}
	for _, e := range files {
		t.Run(e.Name, func(t *testing.T) {
			if why, ok := fxKnownBugs[e.Name]; ok {
				t.Skip("known npy bug: " + why)
			}
			fxCheckBad(t, e)
		})
	}
}

func fxCheckBad(t *testing.T, e fxBad) {
	path := filepath.Join(fxDir, "bad", e.Name)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Len(t, raw, e.Size)
	want := []error{fxErrors[e.Error]}
	for _, c := range e.AlsoOK {
		want = append(want, fxErrors[c])
	}
	for _, w := range want {
		require.NotNil(t, w, "unknown error class in manifest")
	}
	is := func(what string, err error) {
		t.Helper()
		if !assert.Error(t, err, "%s: %s must fail (%s)", what, e.Description, e.Error) {
			return
		}
		for _, w := range want {
			if errors.Is(err, w) {
				return
			}
		}
		t.Errorf("%s: %s: got %v, want %s (%v)", what, e.Description, err, e.Error, want)
	}

	var (
		herr, perr, aerr, serr, oerr, ferr error
		h                                  *npy.Header
		data                               []byte
	)
	before := fxTotalAlloc()
	require.NotPanics(t, func() {
		h, herr = npy.ReadHeader(bytes.NewReader(raw))
		_, perr = npy.ReadHeader(iotest.OneByteReader(bytes.NewReader(raw)))
		data, _, aerr = npy.ReadAll(bytes.NewReader(raw))
		_, _, serr = npy.ReadAll(iotest.HalfReader(bytes.NewReader(raw))) // size unknown to the reader
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		_, _, oerr = npy.ReadAll(f)
		_, _, ferr = npy.ReadFile[float64](path)
	})
	// No allocation sized from the header's claims (GiB lengths, TB shapes).
	alloc := fxTotalAlloc() - before
	assert.Less(t, alloc, uint64(4<<20+8*len(raw)), "allocated %d bytes for a %d-byte file", alloc, len(raw))

	switch e.Stage {
	case "header":
		is("ReadHeader", herr)
		is("ReadHeader(one byte)", perr)
		is("ReadAll", aerr)
		is("ReadAll(unsized)", serr)
		is("ReadAll(file)", oerr)
		is("ReadFile", ferr)
		if ferr != nil {
			assert.Contains(t, ferr.Error(), path, "errors must name the file")
		}
	case "data":
		require.NoError(t, herr, "the header of %s is valid", e.Name)
		require.NoError(t, perr)
		if e.Error == "trailing_data" {
			// No API of the package rejects trailing bytes (ErrTrailingData is
			// for strict verifiers); readers take exactly the data and stop.
			require.NoError(t, aerr)
			require.NoError(t, serr)
			require.NoError(t, oerr)
			assert.Equal(t, raw[h.DataOffset:h.DataOffset+h.DataSize()], data)
			assert.Greater(t, int64(len(raw)), h.DataOffset+h.DataSize(), "fixture must have trailing bytes")
			return
		}
		is("ReadAll", aerr)
		is("ReadAll(unsized)", serr)
		is("ReadAll(file)", oerr)
		if h.DType.Kind == 'f' && h.DType.Size == 8 {
			is("ReadFile", ferr)
			assert.Contains(t, ferr.Error(), path, "errors must name the file")
		}
	default:
		t.Fatalf("unknown stage %q", e.Stage)
	}
}
