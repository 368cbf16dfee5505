package numprint

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/arrfile/arrfile/internal/pyliteral"
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
		return func(b []byte) string { return bytesRepr(b[:dt.Size]) }
	case 'U':
		return func(b []byte) string { return string(appendStrRepr(nil, ucs4(b[:dt.Size], dt.Order))) }
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
		return bytesRepr(b[:dt.Size])
	case 'U':
		return ucs4String(ucs4(b[:dt.Size], dt.Order))
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

// bytesRepr is NumPy's repr of an 'S' element: Python's repr of the bytes
// without trailing NULs.
func bytesRepr(b []byte) string {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return string(pyliteral.AppendBytes(nil, b))
}

// ucs4 decodes a 'U' element (UTF-32 code units), without trailing NULs.
func ucs4(b []byte, order byte) []uint32 {
	us := make([]uint32, 0, len(b)/4)
	for i := 0; i+4 <= len(b); i += 4 {
		us = append(us, uint32(uintAt(b[i:], 4, order)))
	}
	for len(us) > 0 && us[len(us)-1] == 0 {
		us = us[:len(us)-1]
	}
	return us
}

// ucs4String is str() of a 0-d 'U' array: the text itself, with code
// units that are not Unicode scalar values (which Python cannot print)
// as U+FFFD.
func ucs4String(us []uint32) string {
	b := make([]byte, 0, len(us))
	for _, u := range us {
		b = utf8.AppendRune(b, rune(u)) // U+FFFD for surrogates and out of range
	}
	return string(b)
}

// appendStrRepr appends Python's repr() of a NumPy 'U' element whose code
// units are us. pyliteral.AppendStr takes lone surrogates in its
// generalized UTF-8 (pyliteral.AppendRune). Units above U+10FFFF, which
// NumPy keeps unchecked and Python's repr writes as \UXXXXXXXX whatever
// the quotes, no string carries: the runs between them go through
// AppendStr followed by the quote it must not choose (which it then leaves
// unescaped), so that it quotes them as the whole element is quoted, and
// the quotes it adds are cut off again.
func appendStrRepr(dst []byte, us []uint32) []byte {
	q, other := byte('\''), "\""
	var single, double bool
	for _, u := range us {
		single = single || u == '\''
		double = double || u == '"'
	}
	if single && !double {
		q, other = '"', "'"
	}
	dst = append(dst, q)
	var run []byte
	for i := 0; i <= len(us); i++ {
		if i < len(us) && us[i] <= unicode.MaxRune {
			run = pyliteral.AppendRune(run, rune(us[i]))
			continue
		}
		if len(run) > 0 {
			r := pyliteral.AppendStr(nil, string(run)+other)
			dst = append(dst, r[1:len(r)-2]...)
			run = run[:0]
		}
		if i < len(us) {
			const hex = "0123456789abcdef"
			dst = append(dst, '\\', 'U')
			for shift := 28; shift >= 0; shift -= 4 {
				dst = append(dst, hex[us[i]>>shift&15])
			}
		}
	}
	return append(dst, q)
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

func spaces(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat(" ", n)
}
