package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/arrfile/arrfile/internal/pyliteral"
)

// Magic is the string every .npy file starts with.
const Magic = "\x93NUMPY"

// DefaultMaxHeaderSize is the largest header length (the value of the
// header length field, in bytes) that the readers accept unless told
// otherwise with [WithMaxHeaderSize].
//
// NumPy's np.load refuses headers over 10000 bytes unless told otherwise,
// but np.save writes longer ones for dtypes with many fields (a 2000-field
// record needs about 30 KB). 1 MiB reads every header NumPy writes for any
// dtype it can build in practice while keeping the work for an untrusted
// file small.
const DefaultMaxHeaderSize = 1 << 20

// MaxDims is the most dimensions a header may have: NPY_MAXDIMS of NumPy
// 1.24, the NumPy this module is tested against, which cannot load or make
// an array with more (NumPy 2 raised its limit to 64). Reading or writing a
// header with more dimensions is ErrBadShape.
const MaxDims = 32

// arrayAlign is the alignment, in bytes, of the data section in the files
// this package writes, as NumPy writes them.
const arrayAlign = 64

// growthAxisMaxDigits is NumPy's GROWTH_AXIS_MAX_DIGITS: the header keeps
// room for the growth axis length to reach this many digits in place.
const growthAxisMaxDigits = 21

// Version is a .npy format version: {1, 0} has a 2-byte header length and
// a latin-1 header; {2, 0} a 4-byte length; {3, 0} a 4-byte length and a
// UTF-8 header. The zero Version in a Header given to a writer means the
// smallest version that can hold the header, as NumPy chooses.
type Version struct {
	Major, Minor uint8
}

// String returns the version as "1.0", "2.0" or "3.0".
func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// The format versions.
var (
	v1 = Version{1, 0}
	v2 = Version{2, 0}
	v3 = Version{3, 0}
)

func (v Version) lenFieldSize() int {
	if v.Major == 1 {
		return 2
	}
	return 4
}

// Header describes an array stored in a .npy file.
type Header struct {
	// Version is the format version. When writing, the zero value means
	// "the lowest version that can hold the header", as NumPy chooses.
	Version Version
	// DType is the element type.
	DType *DType
	// FortranOrder is true when the data is stored in column-major
	// (Fortran) order, false for row-major (C) order.
	FortranOrder bool
	// Shape is the array's shape; empty for a 0-d array (one element).
	Shape []int
	// DataOffset is the file offset of the first data byte, the total size
	// of the header. Readers set it; writers ignore it (the header
	// [AppendHeader] writes is the data offset of the file it starts).
	DataOffset int64
}

// NumElements returns the number of elements: the product of Shape.
// Headers returned by the readers are checked not to overflow.
func (h *Header) NumElements() int64 {
	n := int64(1)
	for _, d := range h.Shape {
		n *= int64(d)
	}
	return n
}

// DataSize returns the size of the data section in bytes.
func (h *Header) DataSize() int64 { return h.NumElements() * int64(h.DType.Size) }

// Strides returns the byte step between consecutive elements along each
// axis, for the header's order (C or Fortran).
func (h *Header) Strides() []int {
	st := make([]int, len(h.Shape))
	step := h.DType.Size
	if h.FortranOrder {
		for i := range h.Shape {
			st[i] = step
			step *= max(h.Shape[i], 1)
		}
		return st
	}
	for i := len(h.Shape) - 1; i >= 0; i-- {
		st[i] = step
		step *= max(h.Shape[i], 1)
	}
	return st
}

// String returns a one-line summary, e.g. "npy 1.0 <f8 (3, 4) C".
func (h *Header) String() string {
	o := "C"
	if h.FortranOrder {
		o = "F"
	}
	return fmt.Sprintf("npy %s %s %s %s", h.Version, h.DType, pyIntTuple(h.Shape), o)
}

// validate checks the shape and the sizes derived from it.
func (h *Header) validate() error {
	if h.DType == nil {
		return fmt.Errorf("%w: no dtype", ErrBadDType)
	}
	if h.DType.Size <= 0 {
		return fmt.Errorf("%w: item size %d", ErrBadDType, h.DType.Size)
	}
	if len(h.Shape) > MaxDims {
		return fmt.Errorf("%w: %d dimensions, NumPy allows at most %d", ErrBadShape, len(h.Shape), MaxDims)
	}
	n := int64(1)
	for _, d := range h.Shape {
		if d < 0 {
			return fmt.Errorf("%w: negative dimension %d in %s", ErrBadShape, d, pyIntTuple(h.Shape))
		}
		if d != 0 && n > math.MaxInt64/int64(d) {
			return fmt.Errorf("%w: element count of %s overflows int64", ErrBadShape, pyIntTuple(h.Shape))
		}
		n *= int64(d)
	}
	if n > math.MaxInt64/int64(h.DType.Size) {
		return fmt.Errorf("%w: byte size of %s x %d-byte items overflows int64", ErrBadShape, pyIntTuple(h.Shape), h.DType.Size)
	}
	return nil
}

// dictText returns the header dict as NumPy writes it, without padding.
func (h *Header) dictText() string {
	var b strings.Builder
	b.WriteString("{'descr': ")
	b.WriteString(h.DType.descr())
	b.WriteString(", 'fortran_order': ")
	if h.FortranOrder {
		b.WriteString("True")
	} else {
		b.WriteString("False")
	}
	b.WriteString(", 'shape': ")
	b.WriteString(pyIntTuple(h.Shape))
	b.WriteString(", }")
	if n := len(h.Shape); n > 0 {
		grow := h.Shape[0]
		if h.FortranOrder {
			grow = h.Shape[n-1]
		}
		if pad := growthAxisMaxDigits - len(strconv.Itoa(grow)); pad > 0 {
			b.WriteString(strings.Repeat(" ", pad))
		}
	}
	return b.String()
}

func isLatin1(s string) bool {
	for _, r := range s {
		if r > 0xff {
			return false
		}
	}
	return true
}

func latin1Bytes(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

// encodedFor returns the dict text encoded for version v, with the header
// length it needs, or ok=false if v cannot hold it.
func encodedFor(text string, v Version) (enc []byte, hlen int, ok bool) {
	switch v {
	case v1, v2:
		if !isLatin1(text) {
			return nil, 0, false
		}
		enc = latin1Bytes(text)
	case v3:
		enc = []byte(text)
	default:
		return nil, 0, false
	}
	pre := len(Magic) + 2 + v.lenFieldSize()
	hlen = len(enc) + 1
	hlen += arrayAlign - (pre+hlen)%arrayAlign
	if v == v1 && hlen > math.MaxUint16 {
		return nil, 0, false
	}
	if int64(hlen) > math.MaxUint32 {
		return nil, 0, false
	}
	return enc, hlen, true
}

// AppendHeader appends the .npy header for h to dst and returns the
// extended slice. The bytes are identical to what NumPy >= 1.24 writes with
// np.save for the same dtype, order and shape: dict keys in sorted order,
// spare spaces so the growth axis can grow in place, space padding so the
// data starts at a multiple of 64 bytes, and a final newline. With a zero
// h.Version the version is chosen as NumPy does (1.0 if the header fits
// and is latin-1, else 2.0, else 3.0); an explicit version that cannot hold
// the header is an error. h.DataOffset is ignored.
func AppendHeader(dst []byte, h *Header) ([]byte, error) {
	if err := h.validate(); err != nil {
		return dst, err
	}
	text := h.dictText()
	versions := []Version{v1, v2, v3}
	if h.Version != (Version{}) {
		versions = []Version{h.Version}
	}
	for _, v := range versions {
		enc, hlen, ok := encodedFor(text, v)
		if !ok {
			continue
		}
		dst = append(dst, Magic...)
		dst = append(dst, v.Major, v.Minor)
		if v == v1 {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(hlen))
		} else {
			dst = binary.LittleEndian.AppendUint32(dst, uint32(hlen))
		}
		dst = append(dst, enc...)
		for i := len(enc) + 1; i < hlen; i++ {
			dst = append(dst, ' ')
		}
		return append(dst, '\n'), nil
	}
	if h.Version != (Version{}) {
		return dst, fmt.Errorf("%w: header for %s cannot be written as version %s", ErrBadHeader, h.DType, h.Version)
	}
	return dst, fmt.Errorf("%w: header too long for any version", ErrBadHeader)
}

// ReadOption changes how the readers ([ReadHeader], [NewReader], [Read],
// [ReadAll] and [ReadFile]) read a header.
type ReadOption func(*readOptions) error

type readOptions struct {
	maxHeader int
}

// WithMaxHeaderSize sets the largest header length field accepted, in
// bytes, from 1 up; the default is [DefaultMaxHeaderSize]. A larger field
// is [ErrHeaderTooLarge], detected before the header bytes are read.
func WithMaxHeaderSize(n int) ReadOption {
	return func(o *readOptions) error {
		if n < 1 {
			return fmt.Errorf("npy: WithMaxHeaderSize(%d): the size must be at least 1", n)
		}
		o.maxHeader = n
		return nil
	}
}

func readOptionsOf(opts []ReadOption) (readOptions, error) {
	o := readOptions{maxHeader: DefaultMaxHeaderSize}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// ReadHeader reads a .npy header from r, leaving r positioned at the first
// data byte. It reads exactly the header's bytes and allocates no more
// than it has read. To parse a header held in memory (such as a mapped
// file), pass a bytes.Reader.
func ReadHeader(r io.Reader, opts ...ReadOption) (*Header, error) {
	o, err := readOptionsOf(opts)
	if err != nil {
		return nil, err
	}
	return readHeader(r, o)
}

func readHeader(r io.Reader, o readOptions) (*Header, error) {
	maxHeader := o.maxHeader
	var pre [12]byte
	if n, err := io.ReadFull(r, pre[:8]); err != nil {
		// Too short to hold the magic string and version: not an .npy
		// file (NumPy: "EOF: reading magic string").
		return nil, fmt.Errorf("%w (%w): %d bytes, an .npy file starts with 8 (\\x93NUMPY and the version)", ErrBadMagic, ErrTruncated, n)
	}
	if string(pre[:len(Magic)]) != Magic {
		return nil, badMagic(pre[:8])
	}
	v := Version{pre[6], pre[7]}
	if v != v1 && v != v2 && v != v3 {
		return nil, fmt.Errorf("%w: %d.%d (1.0, 2.0 and 3.0 are supported)", ErrUnsupportedVersion, v.Major, v.Minor)
	}
	lf := v.lenFieldSize()
	if n, err := io.ReadFull(r, pre[8:8+lf]); err != nil {
		return nil, fmt.Errorf("%w: expected a %d-byte header length, got %d bytes", ErrTruncated, lf, n)
	}
	var hlen int64
	if lf == 2 {
		hlen = int64(binary.LittleEndian.Uint16(pre[8:]))
	} else {
		hlen = int64(binary.LittleEndian.Uint32(pre[8:]))
	}
	if hlen > int64(maxHeader) {
		return nil, fmt.Errorf("%w: header length %d exceeds the limit of %d bytes", ErrHeaderTooLarge, hlen, maxHeader)
	}
	// Grow with the data actually read, so a lying length field costs
	// nothing beyond the file's own bytes.
	var buf bytes.Buffer
	if hlen <= 4096 {
		buf.Grow(int(hlen))
	}
	got, err := io.Copy(&buf, io.LimitReader(r, hlen))
	if err != nil {
		return nil, err
	}
	if got < hlen {
		return nil, fmt.Errorf("%w: header: expected %d bytes, got %d", ErrTruncated, hlen, got)
	}
	h, err := parseDict(buf.Bytes(), v)
	if err != nil {
		return nil, err
	}
	h.Version = v
	h.DataOffset = int64(8+lf) + hlen
	return h, nil
}

func badMagic(b []byte) error {
	hint := ""
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06")):
		hint = " (this is a zip archive: an .npz?)"
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		hint = " (this is zstd-compressed data: an .npy.zst?)"
	case bytes.HasPrefix(b, []byte{0x80}):
		hint = " (this looks like a Python pickle)"
	}
	return fmt.Errorf("%w: file starts with % x%s", ErrBadMagic, b, hint)
}

// parseDict parses the header text (the bytes after the length field).
func parseDict(raw []byte, v Version) (*Header, error) {
	var text string
	if v == v3 {
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("%w: version 3.0 header is not valid UTF-8", ErrBadHeader)
		}
		text = string(raw)
	} else {
		var sb strings.Builder
		sb.Grow(len(raw))
		for _, c := range raw {
			sb.WriteRune(rune(c))
		}
		text = sb.String()
	}
	// The header ends in a newline, then maybe nothing else; NumPy itself
	// tolerates a missing newline (files from some other writers).
	// NumPy accepts Python 2 'L' suffixes only up to version 2.0.
	lit, err := parseLiteral(text, v != v3)
	if err != nil {
		return nil, err
	}
	if lit.Kind != pyliteral.Dict {
		return nil, fmt.Errorf("%w: header is a %v, not a dict", ErrBadHeader, lit.Kind)
	}
	h := &Header{}
	var haveDescr, haveOrder, haveShape bool
	var descr pyliteral.Value
	for i := 0; i < len(lit.Items); i += 2 {
		k, val := lit.Items[i], lit.Items[i+1]
		if k.Kind != pyliteral.Str {
			return nil, fmt.Errorf("%w: header key is a %v, not a string", ErrBadHeader, k.Kind)
		}
		switch k.Str {
		case "descr":
			if haveDescr {
				return nil, fmt.Errorf("%w: duplicate key 'descr'", ErrBadHeader)
			}
			haveDescr, descr = true, val
		case "fortran_order":
			if haveOrder {
				return nil, fmt.Errorf("%w: duplicate key 'fortran_order'", ErrBadHeader)
			}
			if val.Kind != pyliteral.Bool {
				return nil, fmt.Errorf("%w: 'fortran_order' is a %v, not True or False", ErrBadHeader, val.Kind)
			}
			haveOrder, h.FortranOrder = true, val.Bool
		case "shape":
			if haveShape {
				return nil, fmt.Errorf("%w: duplicate key 'shape'", ErrBadHeader)
			}
			haveShape = true
			if val.Kind != pyliteral.Tuple {
				return nil, fmt.Errorf("%w: shape is a %v, not a tuple", ErrBadShape, val.Kind)
			}
			h.Shape = make([]int, 0, len(val.Items))
			for _, d := range val.Items {
				if d.Kind != pyliteral.Int {
					return nil, fmt.Errorf("%w: dimension is a %v, not an integer", ErrBadShape, d.Kind)
				}
				n, ok := d.Int64()
				if !ok || n > math.MaxInt || n < math.MinInt {
					return nil, fmt.Errorf("%w: dimension %s does not fit in 64 bits", ErrBadShape, clip(d.Text))
				}
				if n < 0 {
					return nil, fmt.Errorf("%w: negative dimension %d", ErrBadShape, n)
				}
				h.Shape = append(h.Shape, int(n))
			}
		default:
			return nil, fmt.Errorf("%w: unexpected key %s", ErrBadHeader, repr(clip(k.Str)))
		}
	}
	switch {
	case !haveDescr:
		return nil, fmt.Errorf("%w: missing key 'descr'", ErrBadHeader)
	case !haveOrder:
		return nil, fmt.Errorf("%w: missing key 'fortran_order'", ErrBadHeader)
	case !haveShape:
		return nil, fmt.Errorf("%w: missing key 'shape'", ErrBadHeader)
	}
	dt, err := dtypeFromDescr(descr)
	if err != nil {
		return nil, err
	}
	h.DType = dt
	if err := h.validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// CheckFileSize checks a file of size bytes against the header: the file
// must hold the whole data section ([ErrTruncated] otherwise). Bytes after
// the data are accepted, as NumPy accepts them, unless strict is set, when
// they are [ErrTrailingData]. Call it before mapping or allocating.
func (h *Header) CheckFileSize(size int64, strict bool) error {
	end := h.DataOffset + h.DataSize()
	switch {
	case end < h.DataOffset || size < end:
		return fmt.Errorf("%w: data: expected %d bytes, got %d", ErrTruncated, h.DataSize(), max(0, size-h.DataOffset))
	case strict && size > end:
		return fmt.Errorf("%w: %d bytes after the %d data bytes", ErrTrailingData, size-end, h.DataSize())
	}
	return nil
}
