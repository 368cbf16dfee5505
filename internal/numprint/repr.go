package numprint

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Python's repr() of str and bytes, as NumPy prints 'U' and 'S' elements.

// AppendStr appends Python 3's repr() of the str s to dst: quoted with '
// (with " when s holds a ' and no "), a backslash before the quote and
// before \, \t \n \r as such, the other characters that Python's
// str.isprintable rejects as \xNN, \uNNNN or \UNNNNNNNN, and the others
// as they are. Printable is as Python 3.11 (the newest Python NumPy 1.24
// runs on, with Unicode 14.0) has it. A byte of s that is not part of valid UTF-8 stands
// for the lone surrogate U+DC80+byte, as Python's surrogateescape error
// handler decodes it, and prints as \udcNN.
func AppendStr(dst []byte, s string) []byte {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	dst = append(dst, q)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = appendEscape(dst, 0xdc00|rune(s[i]))
		case r == rune(q) || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r < 0x80 && r >= ' ' && r != 0x7f:
			dst = append(dst, byte(r))
		case r >= 0x80 && pyPrintable(r):
			dst = append(dst, s[i:i+n]...)
		default:
			dst = appendEscape(dst, r)
		}
		i += n
	}
	return append(dst, q)
}

// AppendBytes appends Python's repr() of the bytes b to dst: b'...'
// (b"..." when b holds a ' and no "), a backslash before the quote and
// before \, \t \n \r as such, bytes outside ' ' to '~' as \xNN, and the
// others as they are.
func AppendBytes(dst []byte, b []byte) []byte {
	q := byte('\'')
	if bytes.IndexByte(b, '\'') >= 0 && bytes.IndexByte(b, '"') < 0 {
		q = '"'
	}
	dst = append(dst, 'b', q)
	for _, c := range b {
		switch {
		case c == q || c == '\\':
			dst = append(dst, '\\', c)
		case c >= ' ' && c < 0x7f:
			dst = append(dst, c)
		default:
			dst = appendEscape(dst, rune(c))
		}
	}
	return append(dst, q)
}

// appendStrRepr appends Python's repr() of the str whose code points are
// us: a NumPy 'U' element. Such an element can hold what no Go string
// can, lone surrogates and (NumPy does not check) values above U+10FFFF,
// which Python escapes as \udNNN and \UNNNNNNNN whatever the quotes. The
// runs of characters between them go through AppendStr, followed by the
// quote that AppendStr must not choose (which it then leaves unescaped),
// so that it quotes them as the whole string is quoted; its quotes are cut
// off again.
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
		if i < len(us) && isScalar(us[i]) {
			run = utf8.AppendRune(run, rune(us[i]))
			continue
		}
		if len(run) > 0 {
			r := AppendStr(nil, string(run)+other)
			dst = append(dst, r[1:len(r)-2]...)
			run = run[:0]
		}
		if i < len(us) {
			dst = appendEscape(dst, rune(us[i]))
		}
	}
	return append(dst, q)
}

// isScalar reports whether u is a Unicode scalar value, which a Go string
// can hold: at most U+10FFFF and not a surrogate.
func isScalar(u uint32) bool { return u <= unicode.MaxRune && (u < 0xd800 || u > 0xdfff) }

// appendEscape appends Python's escape of the code point u (taken as
// unsigned): \t, \n, \r, \xNN, \uNNNN or \UNNNNNNNN.
func appendEscape(dst []byte, u rune) []byte {
	const hex = "0123456789abcdef"
	x := uint32(u)
	switch {
	case x == '\t':
		return append(dst, `\t`...)
	case x == '\n':
		return append(dst, `\n`...)
	case x == '\r':
		return append(dst, `\r`...)
	case x <= 0xff:
		return append(dst, '\\', 'x', hex[x>>4], hex[x&15])
	case x <= 0xffff:
		return append(dst, '\\', 'u', hex[x>>12], hex[x>>8&15], hex[x>>4&15], hex[x&15])
	}
	dst = append(dst, '\\', 'U')
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, hex[x>>uint(shift)&15])
	}
	return dst
}

// pyPrintable is Python 3.11's str.isprintable for a non-ASCII code
// point: a letter, mark, number, punctuation or symbol of Unicode 14.0.
// Go's unicode.IsPrint is the same test over Go's newer Unicode tables,
// so the characters those added are taken out again.
func pyPrintable(r rune) bool {
	return unicode.IsPrint(r) && !unicode.Is(newerThanPython, r)
}

// newerThanPython holds the printable characters of Go's Unicode tables
// (15.0) that Unicode 14.0, Python 3.11's, does not have. A Go release
// with newer tables adds to them; TestAppendStrMatchesPython finds which.
var newerThanPython = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x0cf3, 0x0cf3, 1}, {0x0ece, 0x0ece, 1},
	},
	R32: []unicode.Range32{
		{0x10efd, 0x10eff, 1}, {0x1123f, 0x11241, 1}, {0x11b00, 0x11b09, 1},
		{0x11f00, 0x11f10, 1}, {0x11f12, 0x11f3a, 1}, {0x11f3e, 0x11f59, 1},
		{0x1342f, 0x1342f, 1}, {0x13440, 0x13455, 1}, {0x1b132, 0x1b132, 1},
		{0x1b155, 0x1b155, 1}, {0x1d2c0, 0x1d2d3, 1}, {0x1df25, 0x1df2a, 1},
		{0x1e030, 0x1e06d, 1}, {0x1e08f, 0x1e08f, 1}, {0x1e4d0, 0x1e4f9, 1},
		{0x1f6dc, 0x1f6dc, 1}, {0x1f774, 0x1f776, 1}, {0x1f77b, 0x1f77f, 1},
		{0x1f7d9, 0x1f7d9, 1}, {0x1fa75, 0x1fa77, 1}, {0x1fa87, 0x1fa88, 1},
		{0x1faad, 0x1faaf, 1}, {0x1fabb, 0x1fabd, 1}, {0x1fabf, 0x1fabf, 1},
		{0x1face, 0x1facf, 1}, {0x1fada, 0x1fadb, 1}, {0x1fae8, 0x1fae8, 1},
		{0x1faf7, 0x1faf8, 1}, {0x2b739, 0x2b739, 1}, {0x31350, 0x323af, 1},
	},
}
