package npy

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/arrfile/arrfile/internal/pyliteral"
)

// nativeOrder is the byte-order character of this machine: '<' on
// little-endian machines, '>' on big-endian ones (DTypeOf's order for
// multi-byte types).
var nativeOrder = func() byte {
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		return '<'
	}
	return '>'
}()

// maxItemSize is NumPy's limit on a dtype's itemsize (a C int).
const maxItemSize = math.MaxInt32

// DType describes the type of one array element, as a NumPy dtype does.
//
// Simple dtypes have a Kind, a byte Order and a Size: '<f8' is
// {Kind: 'f', Order: '<', Size: 8}. Structured dtypes have Kind 'V',
// Order '|' and a list of Fields. A DType is a plain value description:
// build one with [ParseDType] or [DTypeOf], or as a literal; values that
// this package returns are never modified by it afterwards and may be
// shared between goroutines.
type DType struct {
	// Kind is NumPy's kind character: 'b' bool, 'i' signed integer,
	// 'u' unsigned integer, 'f' floating point, 'c' complex, 'S' byte
	// string, 'U' UTF-32 string, 'V' raw bytes or structured record,
	// 'M' datetime64, 'm' timedelta64.
	Kind byte
	// Order is the byte order: '<' little-endian, '>' big-endian, or '|'
	// when byte order does not apply (one-byte types, S, V, records).
	Order byte
	// Size is the item size in bytes (for 'U', four bytes per character).
	Size int
	// Unit is the datetime64/timedelta64 unit, such as "ns", "D" or
	// "10us"; empty for the generic unit and for other kinds.
	Unit string
	// Fields lists a structured dtype's fields in order, padding included.
	Fields []Field
}

// Field is one field of a structured dtype.
type Field struct {
	// Name is the field name; empty for padding (NumPy's unnamed void
	// fields, which it writes to keep offsets of aligned records).
	Name string
	// Title is NumPy's optional field title, empty when there is none.
	Title string
	// Type is the field's element type.
	Type *DType
	// Shape is the sub-array shape of the field, nil for a scalar field.
	Shape []int
	// Offset is the field's byte offset within the record.
	Offset int
}

// Len returns the number of elements of Type in the field (the product of
// Shape, 1 for a scalar field).
func (f *Field) Len() int {
	n := 1
	for _, d := range f.Shape {
		n *= d
	}
	return n
}

// Structured reports whether d is a record type with fields.
func (d *DType) Structured() bool { return d != nil && d.Fields != nil }

// String returns NumPy's dtype.str for simple dtypes, such as "<f8",
// "|S7" or "<M8[ns]". For a structured dtype it returns the descriptor
// list as NumPy writes it for the header's 'descr' key, such as
// "[('x', '<f8'), ('n', '<i4', (2,))]"; a simple dtype's 'descr' is the
// quoted String ('<f8').
func (d *DType) String() string {
	if d == nil {
		return "<nil>"
	}
	if d.Structured() {
		return d.descr()
	}
	return d.str()
}

func (d *DType) str() string {
	s := string([]byte{d.Order, d.Kind})
	switch d.Kind {
	case 'U':
		s += strconv.Itoa(d.Size / 4)
	case 'M', 'm':
		s += "8"
		if d.Unit != "" {
			s += "[" + d.Unit + "]"
		}
	default:
		s += strconv.Itoa(d.Size)
	}
	return s
}

// descr returns the dtype as NumPy writes it for the 'descr' key of a
// header: a quoted type string ('<f8') for simple dtypes, or a list of
// (name, type[, shape]) tuples for structured ones.
func (d *DType) descr() string {
	if !d.Structured() {
		return repr(d.str())
	}
	var b strings.Builder
	d.appendDescrList(&b)
	return b.String()
}

func (d *DType) appendDescrList(b *strings.Builder) {
	b.WriteByte('[')
	for i := range d.Fields {
		f := &d.Fields[i]
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		if f.Title != "" {
			b.WriteString("(" + repr(f.Title) + ", " + repr(f.Name) + ")")
		} else {
			b.WriteString(repr(f.Name))
		}
		b.WriteString(", ")
		if f.Type.Structured() {
			f.Type.appendDescrList(b)
		} else {
			b.WriteString(repr(f.Type.str()))
		}
		if f.Shape != nil {
			b.WriteString(", " + pyIntTuple(f.Shape))
		}
		b.WriteByte(')')
	}
	b.WriteByte(']')
}

// Native reports whether every multi-byte component of d is stored in the
// machine's byte order, so that its bytes can be used in place.
func (d *DType) Native() bool {
	if d.Structured() {
		for i := range d.Fields {
			if !d.Fields[i].Type.Native() {
				return false
			}
		}
		return true
	}
	return d.Order == '|' || d.Order == nativeOrder
}

// Equal reports whether d and o describe the same dtype (including byte
// order, field names, titles, offsets and shapes).
func (d *DType) Equal(o *DType) bool {
	if d == nil || o == nil {
		return d == o
	}
	if d.Kind != o.Kind || d.Order != o.Order || d.Size != o.Size || d.Unit != o.Unit ||
		len(d.Fields) != len(o.Fields) || d.Structured() != o.Structured() {
		return false
	}
	for i := range d.Fields {
		a, b := &d.Fields[i], &o.Fields[i]
		if a.Name != b.Name || a.Title != b.Title || a.Offset != b.Offset ||
			!equalInts(a.Shape, b.Shape) || (a.Shape == nil) != (b.Shape == nil) || !a.Type.Equal(b.Type) {
			return false
		}
	}
	return true
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// swappable reports whether d's elements have a byte order at all.
func (d *DType) swappable() bool {
	switch d.Kind {
	case 'i', 'u', 'f', 'c', 'M', 'm':
		return d.Size > 1
	case 'U':
		return true
	}
	return false
}

// WithOrder returns a copy of d whose multi-byte components all use byte
// order o ('<', '>', or '=' for the native order). One-byte, string and
// void components keep '|'. d itself is not changed.
func (d *DType) WithOrder(o byte) *DType {
	if o == '=' {
		o = nativeOrder
	}
	c := *d
	if d.Structured() {
		c.Fields = make([]Field, len(d.Fields))
		for i, f := range d.Fields {
			f.Type = f.Type.WithOrder(o)
			c.Fields[i] = f
		}
		return &c
	}
	if d.swappable() {
		c.Order = o
	}
	return &c
}

// SwapBytes reverses, in place, the byte order of every multi-byte
// component of every element in data, which holds len(data)/d.Size
// elements of type d. It turns '<' data into '>' data and back; use
// [DType.WithOrder] to describe the result. Record fields and sub-arrays
// are swapped component by component; strings of kind 'S' and raw bytes
// are left alone, 'U' strings are swapped per UTF-32 code unit.
func (d *DType) SwapBytes(data []byte) {
	d.swapIf(data, func(*DType) bool { return true })
}

// toLittle converts every big-endian component of data to little-endian.
func (d *DType) toLittle(data []byte) {
	d.swapIf(data, func(t *DType) bool { return t.Order == '>' })
}

// toNative converts every component of data to the machine's byte order.
func (d *DType) toNative(data []byte) {
	d.swapIf(data, func(t *DType) bool { return t.Order != nativeOrder })
}

func (d *DType) swapIf(data []byte, pred func(*DType) bool) {
	if d.Size <= 0 {
		return
	}
	n := len(data) / d.Size
	if !d.Structured() {
		if d.swappable() && pred(d) {
			swapScalars(data[:n*d.Size], d.swapUnit())
		}
		return
	}
	for i := range d.Fields {
		f := &d.Fields[i]
		if !f.Type.needsSwapping(pred) {
			continue
		}
		cnt := f.Len()
		fs := f.Type.Size * cnt
		for e := 0; e < n; e++ {
			off := e*d.Size + f.Offset
			f.Type.swapIf(data[off:off+fs], pred)
		}
	}
}

func (d *DType) needsSwapping(pred func(*DType) bool) bool {
	if d.Structured() {
		for i := range d.Fields {
			if d.Fields[i].Type.needsSwapping(pred) {
				return true
			}
		}
		return false
	}
	return d.swappable() && pred(d)
}

// swapUnit is the size of the units whose bytes are reversed.
func (d *DType) swapUnit() int {
	switch d.Kind {
	case 'c':
		return d.Size / 2
	case 'U':
		return 4
	}
	return d.Size
}

func swapScalars(b []byte, unit int) {
	switch unit {
	case 2:
		for i := 0; i+2 <= len(b); i += 2 {
			binary.LittleEndian.PutUint16(b[i:], bits.ReverseBytes16(binary.LittleEndian.Uint16(b[i:])))
		}
	case 4:
		for i := 0; i+4 <= len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], bits.ReverseBytes32(binary.LittleEndian.Uint32(b[i:])))
		}
	case 8:
		for i := 0; i+8 <= len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], bits.ReverseBytes64(binary.LittleEndian.Uint64(b[i:])))
		}
	default:
		for i := 0; i+unit <= len(b); i += unit {
			e := b[i : i+unit]
			for l, r := 0, unit-1; l < r; l, r = l+1, r-1 {
				e[l], e[r] = e[r], e[l]
			}
		}
	}
}

// ParseDType parses a dtype as NumPy spells it: a type string with an
// optional byte-order prefix ('<f8', '>i2', '|S5', 'f8', '=u4', '<U10',
// '<M8[ns]', 'V16'), a one-character type code ('d', 'i', '?'), or a type
// name ('float64', 'int32', 'bool', 'complex128', 'float16',
// 'datetime64[ms]', 'S5', 'U3'). Without a byte-order prefix the native
// order is used. Object ('O') is refused with [ErrObjectDType].
// Structured dtypes are written as a descr list literal, as in a header:
// "[('x', '<f8'), ('y', '<i4', (2,))]".
func ParseDType(s string) (*DType, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "[") {
		v, err := parseLiteral(t, true)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadDType, clip(s), err)
		}
		return dtypeFromDescr(v)
	}
	return parseTypeString(t)
}

var typeNames = map[string]string{
	"bool": "|b1", "bool_": "|b1", "bool8": "|b1",
	"int8": "|i1", "byte": "|i1", "uint8": "|u1", "ubyte": "|u1",
	"int16": "=i2", "short": "=i2", "uint16": "=u2", "ushort": "=u2",
	"int32": "=i4", "intc": "=i4", "uint32": "=u4", "uintc": "=u4",
	"int64": "=i8", "int": "=i8", "int_": "=i8", "long": "=i8", "longlong": "=i8", "intp": "=i8",
	"uint64": "=u8", "uint": "=u8", "ulonglong": "=u8", "uintp": "=u8",
	"float16": "=f2", "half": "=f2", "float32": "=f4", "single": "=f4",
	"float64": "=f8", "float": "=f8", "double": "=f8", "float_": "=f8",
	"longdouble": "=f16", "float128": "=f16",
	"complex64": "=c8", "csingle": "=c8", "complex128": "=c16", "complex": "=c16", "cdouble": "=c16",
	"complex_": "=c16", "clongdouble": "=c32", "complex256": "=c32",
	"datetime64": "=M8", "timedelta64": "=m8",
	// one-character type codes
	"?": "|b1", "b": "|i1", "B": "|u1", "h": "=i2", "H": "=u2", "i": "=i4", "I": "=u4",
	"l": "=i8", "L": "=u8", "q": "=i8", "Q": "=u8", "p": "=i8", "P": "=u8",
	"e": "=f2", "f": "=f4", "d": "=f8", "g": "=f16", "F": "=c8", "D": "=c16", "G": "=c32",
	"M": "=M8", "m": "=m8",
}

func parseTypeString(s string) (*DType, error) {
	bad := func(why string) (*DType, error) {
		return nil, fmt.Errorf("%w: %q: %s", ErrBadDType, clip(s), why)
	}
	if s == "" {
		return bad("empty type string")
	}
	t := s
	order := byte('=')
	switch t[0] {
	case '<', '>', '|', '=':
		order = t[0]
		t = t[1:]
	}
	// names with a datetime unit: datetime64[ns]
	unit := ""
	if i := strings.IndexByte(t, '['); i >= 0 {
		if !strings.HasSuffix(t, "]") {
			return bad("unterminated datetime unit")
		}
		unit = t[i+1 : len(t)-1]
		t = t[:i]
		if !validUnit(unit) {
			return bad("unknown datetime unit " + strconv.Quote(unit))
		}
	}
	if alias, ok := typeNames[t]; ok {
		if alias[0] != '=' && order == '=' || (alias[0] == '|') {
			order = alias[0]
		}
		t = alias[1:]
	} else if strings.HasPrefix(t, "str") || strings.HasPrefix(t, "bytes") || strings.HasPrefix(t, "void") {
		// NumPy 'str'/'bytes'/'void' need a size; written as U5/S5/V5.
		return bad("give the size as U<n>, S<n> or V<n>")
	}
	if t == "" {
		return bad("missing type code")
	}
	kind := t[0]
	if kind == 'a' { // old alias of S
		kind = 'S'
	}
	if kind == 'O' {
		return nil, fmt.Errorf("%w: %q", ErrObjectDType, s)
	}
	digits := t[1:]
	if !strings.ContainsRune("biufcSUVMm", rune(kind)) {
		return bad("unknown type code " + strconv.QuoteRune(rune(kind)))
	}
	size := 0
	if digits != "" {
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || n < 0 || n > maxItemSize {
			return bad("bad item size " + strconv.Quote(clip(digits)))
		}
		size = int(n)
	}
	if unit != "" && kind != 'M' && kind != 'm' {
		return bad("only datetime64 and timedelta64 take a unit")
	}
	d := &DType{Kind: kind, Unit: unit}
	switch kind {
	case 'b':
		if digits != "" && size != 1 {
			return bad("bool is 1 byte")
		}
		d.Size = 1
	case 'i', 'u':
		if size != 1 && size != 2 && size != 4 && size != 8 {
			return bad("integers are 1, 2, 4 or 8 bytes")
		}
		d.Size = size
	case 'f':
		if size != 2 && size != 4 && size != 8 && size != 16 {
			return bad("floats are 2, 4, 8 or 16 bytes")
		}
		d.Size = size
	case 'c':
		if size != 8 && size != 16 && size != 32 {
			return bad("complex numbers are 8, 16 or 32 bytes")
		}
		d.Size = size
	case 'M', 'm':
		if digits != "" && size != 8 {
			return bad("datetime64 and timedelta64 are 8 bytes")
		}
		d.Size = 8
	case 'S', 'V':
		if size == 0 {
			return bad("unsized type: give the length, e.g. S10")
		}
		d.Size = size
	case 'U':
		if size == 0 {
			return bad("unsized type: give the length, e.g. U10")
		}
		if size > maxItemSize/4 {
			return bad("string too long")
		}
		d.Size = size * 4
	}
	switch {
	case !d.swappable():
		d.Order = '|'
	case order == '=' || order == '|':
		d.Order = nativeOrder
	default:
		d.Order = order
	}
	return d, nil
}

var baseUnits = map[string]bool{
	"Y": true, "M": true, "W": true, "D": true, "h": true, "m": true, "s": true,
	"ms": true, "us": true, "μs": true, "ns": true, "ps": true, "fs": true, "as": true,
}

func validUnit(u string) bool {
	if u == "generic" {
		return false
	}
	i := 0
	for i < len(u) && u[i] >= '0' && u[i] <= '9' {
		i++
	}
	if i > 0 {
		if n, err := strconv.Atoi(u[:i]); err != nil || n <= 0 {
			return false
		}
	}
	return baseUnits[u[i:]]
}

// dtypeFromDescr converts a header 'descr' value: a type string or a list
// of field tuples.
func dtypeFromDescr(v pyliteral.Value) (*DType, error) {
	switch v.Kind {
	case pyliteral.Str:
		return parseTypeString(v.Str)
	case pyliteral.List:
		return structFromList(v)
	}
	return nil, fmt.Errorf("%w: descr must be a string or a list of fields, not a %v", ErrBadDType, v.Kind)
}

func structFromList(v pyliteral.Value) (*DType, error) {
	bad := func(format string, args ...any) (*DType, error) {
		return nil, fmt.Errorf("%w: structured descr: %s", ErrBadDType, fmt.Sprintf(format, args...))
	}
	if len(v.Items) == 0 {
		return bad("no fields")
	}
	d := &DType{Kind: 'V', Order: '|', Fields: make([]Field, 0, len(v.Items))}
	seen := make(map[string]bool, len(v.Items))
	off := 0
	for i, it := range v.Items {
		if it.Kind != pyliteral.Tuple || (len(it.Items) != 2 && len(it.Items) != 3) {
			return bad("field %d is not a (name, type) or (name, type, shape) tuple", i)
		}
		var f Field
		switch nm := it.Items[0]; nm.Kind {
		case pyliteral.Str:
			f.Name = nm.Str
		case pyliteral.Tuple:
			if len(nm.Items) != 2 || nm.Items[0].Kind != pyliteral.Str || nm.Items[1].Kind != pyliteral.Str {
				return bad("field %d: title must be a (title, name) pair of strings", i)
			}
			f.Title, f.Name = nm.Items[0].Str, nm.Items[1].Str
		default:
			return bad("field %d: name must be a string", i)
		}
		ft, err := dtypeFromDescr(it.Items[1])
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		f.Type = ft
		count := int64(1)
		if len(it.Items) == 3 {
			sv := it.Items[2]
			dims := []pyliteral.Value{sv}
			if sv.Kind == pyliteral.Tuple {
				dims = sv.Items
			}
			f.Shape = make([]int, 0, len(dims))
			for _, dv := range dims {
				n, ok := dv.Int64()
				if dv.Kind != pyliteral.Int || !ok || n < 0 || n > maxItemSize {
					return bad("field %q: bad sub-array shape", f.Name)
				}
				f.Shape = append(f.Shape, int(n))
				count *= n
				if count > maxItemSize {
					return bad("field %q: sub-array too large", f.Name)
				}
			}
		}
		size := count * int64(ft.Size)
		if size > maxItemSize || int64(off)+size > maxItemSize {
			return bad("record larger than %d bytes", maxItemSize)
		}
		if f.Name == "" {
			if ft.Kind != 'V' || ft.Structured() {
				return bad("field %d: only padding (void) fields may be unnamed", i)
			}
		} else {
			if seen[f.Name] {
				return bad("duplicate field name %q", f.Name)
			}
			seen[f.Name] = true
		}
		f.Offset = off
		off += int(size)
		d.Fields = append(d.Fields, f)
	}
	if off == 0 {
		return bad("record of size 0")
	}
	d.Size = off
	return d, nil
}
