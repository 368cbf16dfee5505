package pyliteral

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendStr appends Python 3's repr() of the str s to dst and returns the
// extended slice. Like Python, it quotes with ' unless s holds ' and no ",
// escapes the quote, backslash, \t, \n and \r, writes other non-printable
// code points as \xhh, \uhhhh or \Uhhhhhhhh, and printable ones (letters,
// marks, numbers, punctuation, symbols and the ASCII space, as
// str.isprintable) as they are.
//
// Printability follows the Unicode edition of Go's unicode package
// (unicode.Version, 15.0.0 in Go 1.26, Python 3.12's edition): a code
// point assigned in a later or earlier edition than the running Python's
// is escaped by one and not the other, as it is between Python versions.
//
// A surrogate in its generalized UTF-8 form (see the package doc) is the
// surrogate, escaped as \udxxx. Any other byte that is not part of valid
// UTF-8 stands for the code point U+DC00 plus the byte, written \udcxx, as
// Python represents undecodable bytes (errors="surrogateescape").
func AppendStr(dst []byte, s string) []byte {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	dst = append(dst, q)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == q || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c < ' ' || c == 0x7f:
				dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			if sr, ok := surrogateAt(s[i:]); ok {
				r, n = sr, 3
			} else {
				r = 0xdc00 + rune(c)
			}
			dst = appendEscape(dst, r)
		case unicode.IsPrint(r):
			dst = append(dst, s[i:i+n]...)
		default:
			dst = appendEscape(dst, r)
		}
		i += n
	}
	return append(dst, q)
}

// AppendBytes appends Python 3's repr() of the bytes b to dst and returns
// the extended slice: b'...' (or b"..." when b holds ' and no "), with
// the quote, backslash, \t, \n and \r escaped, other bytes below 0x20 or
// from 0x7f on written as \xhh and the rest as they are.
func AppendBytes(dst []byte, b []byte) []byte {
	q := byte('\'')
	if strings.IndexByte(string(b), '\'') >= 0 && strings.IndexByte(string(b), '"') < 0 {
		q = '"'
	}
	dst = append(dst, 'b', q)
	for _, c := range b {
		switch {
		case c == q || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c < ' ' || c >= 0x7f:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, q)
}

// AppendRune appends r to dst as this package encodes strings: UTF-8,
// with a surrogate (U+D800 to U+DFFF) in its generalized 3-byte form, as
// Parse decodes '\ud800' and AppendStr reads it back. A value outside
// Unicode's range (below 0 or above U+10FFFF) is appended as U+FFFD.
func AppendRune(dst []byte, r rune) []byte {
	if r >= 0xd800 && r <= 0xdfff {
		return append(dst, 0xed, 0x80|byte(r>>6&0x3f), 0x80|byte(r&0x3f))
	}
	return utf8.AppendRune(dst, r)
}

// surrogateAt decodes a surrogate in generalized UTF-8 at the start of s.
func surrogateAt(s string) (rune, bool) {
	if len(s) < 3 || s[0] != 0xed || s[1] < 0xa0 || s[1] > 0xbf || s[2] < 0x80 || s[2] > 0xbf {
		return 0, false
	}
	return 0xd000 | rune(s[1]&0x3f)<<6 | rune(s[2]&0x3f), true
}

// appendEscape appends r as Python escapes a non-printable code point.
func appendEscape(dst []byte, r rune) []byte {
	switch {
	case r <= 0xff:
		return append(dst, '\\', 'x', hexDigits[r>>4], hexDigits[r&0xf])
	case r <= 0xffff:
		dst = append(dst, '\\', 'u')
		for sh := 12; sh >= 0; sh -= 4 {
			dst = append(dst, hexDigits[r>>sh&0xf])
		}
		return dst
	}
	dst = append(dst, '\\', 'U')
	for sh := 28; sh >= 0; sh -= 4 {
		dst = append(dst, hexDigits[r>>sh&0xf])
	}
	return dst
}
