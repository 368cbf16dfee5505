package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/arrfile/arrfile/npy"
)

// This file prints array elements the way NumPy 1.24's print(array) does
// (numpy/core/arrayprint.py with the default print options): one formatter
// per array, chosen by dtype and fitted to all the values that are shown, so
// that columns line up ("[1.  2.5 3. ]", "[ True False]", "[-1 10]").

// elemFmt formats one element given its bytes.
type elemFmt func(b []byte) string

// uintAt reads an unsigned integer of n bytes (1, 2, 4 or 8) in the byte
// order of dt.
func uintAt(b []byte, n int, order byte) uint64 {
	bo := binary.ByteOrder(binary.LittleEndian)
	if order == '>' {
		bo = binary.BigEndian
	}
	switch n {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(bo.Uint16(b))
	case 4:
		return uint64(bo.Uint32(b))
	}
	return bo.Uint64(b)
}

func intAt(b []byte, n int, order byte) int64 {
	u := uintAt(b, n, order)
	shift := 64 - 8*uint(n)
	return int64(u<<shift) >> shift
}

// floatAt decodes a float of the given size ('f2', 'f4', 'f8', or an x87
// long double stored in 12 or 16 bytes).
func floatAt(b []byte, size int, order byte) floatParts {
	switch size {
	case 2:
		return decodeIEEE(uintAt(b, 2, order), 5, 10)
	case 4:
		return decodeIEEE(uintAt(b, 4, order), 8, 23)
	case 8:
		return decodeIEEE(uintAt(b, 8, order), 11, 52)
	}
	// Long double: x87 80-bit extended, padded to 12 or 16 bytes.
	le := make([]byte, size)
	copy(le, b[:size])
	if order == '>' {
		for i, j := 0, size-1; i < j; i, j = i+1, j-1 {
			le[i], le[j] = le[j], le[i]
		}
	}
	return decodeX87(binary.LittleEndian.Uint64(le), binary.LittleEndian.Uint16(le[8:]))
}

// buildFormat returns the formatter NumPy would use for an array of dtype dt
// holding the given elements. zeroD reports that the array is 0-d (which
// changes how booleans are padded).
func buildFormat(dt *npy.DType, elems [][]byte, zeroD bool) elemFmt {
	switch dt.Kind {
	case 'b':
		t := " True"
		if zeroD {
			t = "True"
		}
		return func(b []byte) string {
			if b[0] != 0 {
				return t
			}
			return "False"
		}
	case 'i', 'u':
		return intFormat(dt, elems)
	case 'f':
		vals := make([]floatParts, len(elems))
		for i, e := range elems {
			vals[i] = floatAt(e, dt.Size, dt.Order)
		}
		ff := newFloatFormat(vals, dt.Size, false)
		return func(b []byte) string {
			p := floatAt(b, dt.Size, dt.Order)
			return ff.format(&p)
		}
	case 'c':
		half := dt.Size / 2
		re := make([]floatParts, len(elems))
		im := make([]floatParts, len(elems))
		for i, e := range elems {
			re[i] = floatAt(e, half, dt.Order)
			im[i] = floatAt(e[half:], half, dt.Order)
		}
		rf := newFloatFormat(re, half, false)
		imf := newFloatFormat(im, half, true)
		return func(b []byte) string {
			r := floatAt(b, half, dt.Order)
			i := floatAt(b[half:], half, dt.Order)
			is := imf.format(&i)
			sp := len(strings.TrimRight(is, " "))
			return rf.format(&r) + is[:sp] + "j" + is[sp:]
		}
	case 'S':
		return func(b []byte) string { return pyBytesRepr(trimNUL(b[:dt.Size])) }
	case 'U':
		return func(b []byte) string { return pyStrRepr(ucs4(b[:dt.Size], dt.Order)) }
	case 'V':
		if dt.Structured() {
			return structFormat(dt, elems, zeroD)
		}
		return func(b []byte) string { return voidStr(b[:dt.Size]) }
	case 'M':
		return timeFormat(dt, elems, func(v int64) string {
			return "'" + datetimeString(v, dt.Unit) + "'"
		})
	case 'm':
		return timeFormat(dt, elems, func(v int64) string { return strconv.FormatInt(v, 10) })
	}
	return func(b []byte) string { return voidStr(b[:dt.Size]) }
}

func intFormat(dt *npy.DType, elems [][]byte) elemFmt {
	str := func(b []byte) string {
		if dt.Kind == 'u' {
			return strconv.FormatUint(uintAt(b, dt.Size, dt.Order), 10)
		}
		return strconv.FormatInt(intAt(b, dt.Size, dt.Order), 10)
	}
	width := 0
	if len(elems) > 0 {
		// NumPy pads to the longer of str(max) and str(min).
		var lo, hi []byte = elems[0], elems[0]
		for _, e := range elems[1:] {
			if dt.Kind == 'u' {
				v := uintAt(e, dt.Size, dt.Order)
				if v < uintAt(lo, dt.Size, dt.Order) {
					lo = e
				}
				if v > uintAt(hi, dt.Size, dt.Order) {
					hi = e
				}
			} else {
				v := intAt(e, dt.Size, dt.Order)
				if v < intAt(lo, dt.Size, dt.Order) {
					lo = e
				}
				if v > intAt(hi, dt.Size, dt.Order) {
					hi = e
				}
			}
		}
		width = max(len(str(lo)), len(str(hi)))
	}
	return func(b []byte) string {
		s := str(b)
		return spaces(width-len(s)) + s
	}
}

// timeFormat is NumPy's _TimelikeFormat: values right-aligned to the longer
// of the strings of the largest and smallest value, NaT as 'NaT'.
func timeFormat(dt *npy.DType, elems [][]byte, str func(int64) string) elemFmt {
	const nat = math.MinInt64
	var lo, hi int64
	seen, hasNaT := false, false
	for _, e := range elems {
		v := intAt(e, 8, dt.Order)
		if v == nat {
			hasNaT = true
			continue
		}
		if !seen || v < lo {
			lo = v
		}
		if !seen || v > hi {
			hi = v
		}
		seen = true
	}
	width := 0
	if seen {
		width = max(runeLen(str(lo)), runeLen(str(hi)))
	}
	if hasNaT {
		width = max(width, 5)
	}
	return func(b []byte) string {
		v := intAt(b, 8, dt.Order)
		s := "'NaT'"
		if v != nat {
			s = str(v)
		}
		return spaces(width-runeLen(s)) + s
	}
}

// structFormat is NumPy's StructuredVoidFormat: a formatter per named field,
// fitted to that field's values in every element (sub-array fields as
// nested lists), joined as a tuple.
func structFormat(dt *npy.DType, elems [][]byte, zeroD bool) elemFmt {
	type fieldFmt struct {
		f   npy.Field
		fmt elemFmt
	}
	var fields []fieldFmt
	for _, f := range dt.Fields {
		if f.Name == "" { // padding: not a field after loading
			continue
		}
		n, size := f.Len(), f.Type.Size
		col := make([][]byte, 0, len(elems)*n)
		for _, e := range elems {
			for k := 0; k < n; k++ {
				off := f.Offset + k*size
				col = append(col, e[off:off+size])
			}
		}
		fields = append(fields, fieldFmt{f, buildFormat(f.Type, col, zeroD && len(f.Shape) == 0)})
	}
	return func(b []byte) string {
		parts := make([]string, len(fields))
		for i, ff := range fields {
			if len(ff.f.Shape) == 0 {
				parts[i] = ff.fmt(b[ff.f.Offset:])
				continue
			}
			parts[i] = subArray(b[ff.f.Offset:], ff.f.Type.Size, ff.f.Shape, ff.fmt)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
}

// subArray formats a sub-array field as nested lists, as NumPy's
// SubArrayFormat.
func subArray(b []byte, size int, shape []int, f elemFmt) string {
	n := 1
	for _, d := range shape[1:] {
		n *= d
	}
	parts := make([]string, shape[0])
	for i := range parts {
		off := i * n * size
		if len(shape) == 1 {
			parts[i] = f(b[off:])
		} else {
			parts[i] = subArray(b[off:], size, shape[1:], f)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// floatFormat is NumPy's FloatingFormat with floatmode 'maxprec' and
// precision 8: positional unless the values span too wide a range,
// at most 8 fraction digits (9 significant digits in scientific notation),
// columns aligned on the decimal point.
type floatFormat struct {
	exp       bool
	padLeft   int
	padRight  int
	precision int
	minDigits int
	trim      trimMode
	expSize   int
	sign      bool // print '+' for non-negative values (imaginary parts)
}

func newFloatFormat(vals []floatParts, size int, sign bool) *floatFormat {
	ff := &floatFormat{precision: 8, sign: sign, trim: trimZeros, expSize: -1}
	var finite []*floatParts
	var maxv, minv *floatParts
	nonFinite, negInf := false, false
	for i := range vals {
		v := &vals[i]
		if !v.finite() {
			nonFinite = true
			if v.inf && v.neg {
				negInf = true
			}
			continue
		}
		finite = append(finite, v)
		if v.mant == 0 {
			continue
		}
		if maxv == nil || cmpMag(v, maxv) > 0 {
			maxv = v
		}
		if minv == nil || cmpMag(v, minv) < 0 {
			minv = v
		}
	}
	if maxv != nil {
		ff.exp = cmpAbs(maxv, 1e8) >= 0 || cmpAbs(minv, 1e-4) < 0 || ratioOver1000(maxv, minv, size)
	}
	switch {
	case len(finite) == 0:
		ff.padLeft, ff.padRight = 0, 0
	case ff.exp:
		intLen, fracLen, expLen := 0, 0, 0
		for _, v := range finite {
			s := formatScientific(v, fmtOpts{unique: true, precision: 8, minDigits: -1, sign: sign, trim: trimZeros, padLeft: -1, padRight: -1, expDigits: -1})
			mant, e, _ := strings.Cut(s, "e")
			ip, fp, _ := strings.Cut(mant, ".")
			intLen, fracLen, expLen = max(intLen, len(ip)), max(fracLen, len(fp)), max(expLen, len(e))
		}
		ff.expSize = expLen - 1
		ff.trim = trimNone
		ff.precision = fracLen
		ff.minDigits = fracLen
		ff.padLeft = intLen
		ff.padRight = ff.expSize + 2 + ff.precision
	default:
		intLen, fracLen := 0, 0
		for _, v := range finite {
			s := formatPositional(v, fmtOpts{unique: true, precision: 8, minDigits: -1, sign: sign, trim: trimZeros, padLeft: -1, padRight: -1, expDigits: -1})
			ip, fp, _ := strings.Cut(s, ".")
			intLen, fracLen = max(intLen, len(ip)), max(fracLen, len(fp))
		}
		ff.padLeft, ff.padRight = intLen, fracLen
		ff.minDigits = 0
	}
	if nonFinite {
		infLen := 3
		if sign || negInf {
			infLen++
		}
		off := ff.padRight + 1
		ff.padLeft = max(ff.padLeft, 3-off, infLen-off)
	}
	return ff
}

func (ff *floatFormat) format(p *floatParts) string {
	if !p.finite() {
		s := "nan"
		if p.inf {
			s = "inf"
			if p.neg {
				s = "-inf"
			} else if ff.sign {
				s = "+inf"
			}
		} else if ff.sign {
			s = "+nan"
		}
		return spaces(ff.padLeft+ff.padRight+1-len(s)) + s
	}
	o := fmtOpts{unique: true, precision: ff.precision, minDigits: ff.minDigits, sign: ff.sign, trim: ff.trim, padLeft: ff.padLeft, padRight: -1, expDigits: ff.expSize}
	if ff.exp {
		return formatScientific(p, o)
	}
	o.padRight = ff.padRight
	return formatPositional(p, o)
}

// cmpMag compares the magnitudes of two finite values.
func cmpMag(a, b *floatParts) int {
	if a.mantBit <= 52 && b.mantBit <= 52 {
		x, y := math.Ldexp(float64(a.mant), a.exp), math.Ldexp(float64(b.mant), b.exp)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return a.rat().Cmp(b.rat())
}

// ratioOver1000 computes max/min in the array's own precision, as NumPy
// does, and reports whether it exceeds 1000.
func ratioOver1000(maxv, minv *floatParts, size int) bool {
	x, y := math.Ldexp(float64(maxv.mant), maxv.exp), math.Ldexp(float64(minv.mant), minv.exp)
	switch size {
	case 2:
		q := float32(x) / float32(y)
		return npy.Float16From(float64(q)).Float64() > 1000
	case 4:
		return float64(float32(x)/float32(y)) > 1000
	case 8:
		return x/y > 1000
	}
	q := new(big.Float).SetPrec(64).Quo(maxv.rat(), minv.rat())
	return q.Cmp(big.NewFloat(1000)) > 0
}

// scalarStr formats the single element of a 0-d array of a non-structured
// dtype as NumPy's str() of the scalar does.
func scalarStr(dt *npy.DType, b []byte) string {
	switch dt.Kind {
	case 'b':
		if b[0] != 0 {
			return "True"
		}
		return "False"
	case 'i':
		return strconv.FormatInt(intAt(b, dt.Size, dt.Order), 10)
	case 'u':
		return strconv.FormatUint(uintAt(b, dt.Size, dt.Order), 10)
	case 'f':
		p := floatAt(b, dt.Size, dt.Order)
		return formatFloatScalar(&p, trimLeaveOneZero, trimDptZeros, false)
	case 'c':
		half := dt.Size / 2
		r, i := floatAt(b, half, dt.Order), floatAt(b[half:], half, dt.Order)
		if r.finite() && r.mant == 0 && !r.neg {
			return formatFloatScalar(&i, trimDptZeros, trimDptZeros, false) + "j"
		}
		return "(" + formatFloatScalar(&r, trimDptZeros, trimDptZeros, false) +
			formatFloatScalar(&i, trimDptZeros, trimDptZeros, true) + "j)"
	case 'S':
		return pyBytesRepr(trimNUL(b[:dt.Size]))
	case 'U':
		return string(ucs4(b[:dt.Size], dt.Order))
	case 'M':
		v := intAt(b, 8, dt.Order)
		if v == math.MinInt64 {
			return "NaT"
		}
		return datetimeString(v, dt.Unit)
	case 'm':
		v := intAt(b, 8, dt.Order)
		if v == math.MinInt64 {
			return "NaT"
		}
		return timedeltaString(v, dt.Unit)
	}
	return voidStr(b[:dt.Size])
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// ucs4 decodes a 'U' element (UTF-32 code units), without trailing NULs.
func ucs4(b []byte, order byte) []rune {
	rs := make([]rune, 0, len(b)/4)
	for i := 0; i+4 <= len(b); i += 4 {
		rs = append(rs, rune(uintAt(b[i:], 4, order)))
	}
	for len(rs) > 0 && rs[len(rs)-1] == 0 {
		rs = rs[:len(rs)-1]
	}
	return rs
}

// pyBytesRepr is Python's repr() of a bytes object.
func pyBytesRepr(b []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(b), '\'') >= 0 && strings.IndexByte(string(b), '"') < 0 {
		quote = '"'
	}
	var s strings.Builder
	s.WriteString("b")
	s.WriteByte(quote)
	for _, c := range b {
		switch {
		case c == quote || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c == '\t':
			s.WriteString(`\t`)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\r':
			s.WriteString(`\r`)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(&s, `\x%02x`, c)
		default:
			s.WriteByte(c)
		}
	}
	s.WriteByte(quote)
	return s.String()
}

// pyStrRepr is Python's repr() of a str.
func pyStrRepr(rs []rune) string {
	quote := '\''
	hasSingle, hasDouble := false, false
	for _, r := range rs {
		hasSingle = hasSingle || r == '\''
		hasDouble = hasDouble || r == '"'
	}
	if hasSingle && !hasDouble {
		quote = '"'
	}
	var s strings.Builder
	s.WriteRune(quote)
	for _, r := range rs {
		switch {
		case r == quote || r == '\\':
			s.WriteByte('\\')
			s.WriteRune(r)
		case r == '\t':
			s.WriteString(`\t`)
		case r == '\n':
			s.WriteString(`\n`)
		case r == '\r':
			s.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&s, `\x%02x`, r)
		case r < 0x7f:
			s.WriteRune(r)
		case r <= unicode.MaxRune && utf8.ValidRune(r) && unicode.IsPrint(r):
			s.WriteRune(r)
		case r >= 0 && r <= 0xff:
			fmt.Fprintf(&s, `\x%02x`, r)
		case r >= 0 && r <= 0xffff:
			fmt.Fprintf(&s, `\u%04x`, r)
		default:
			fmt.Fprintf(&s, `\U%08x`, uint32(r))
		}
	}
	s.WriteRune(quote)
	return s.String()
}

// voidStr is NumPy's str() of an unstructured void scalar: every byte as
// an upper-case \x escape.
func voidStr(b []byte) string {
	var s strings.Builder
	s.WriteString("b'")
	for _, c := range b {
		fmt.Fprintf(&s, `\x%02X`, c)
	}
	s.WriteString("'")
	return s.String()
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
