package npy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds a small, bounded parser for the subset of Python literal
// syntax that .npy headers use (dicts, lists, tuples, strings, integers,
// True/False/None), and the matching repr functions for writing. It never
// evaluates anything: input that is not a literal is an error.

type pyKind uint8

const (
	pyStr pyKind = iota + 1
	pyInt
	pyBool
	pyNone
	pyTuple
	pyList
	pyDict
	pyFloat
)

func (k pyKind) String() string {
	switch k {
	case pyStr:
		return "string"
	case pyInt:
		return "integer"
	case pyBool:
		return "bool"
	case pyNone:
		return "None"
	case pyTuple:
		return "tuple"
	case pyList:
		return "list"
	case pyDict:
		return "dict"
	case pyFloat:
		return "float"
	}
	return "?"
}

// pyVal is a parsed literal. For ints, text holds the digits (with a leading
// '-' when negative) so that huge values are reported, not wrapped.
type pyVal struct {
	kind  pyKind
	str   string
	text  string
	b     bool
	items []pyVal // tuple, list; dict: keys and values alternate
}

// int64 returns the integer value, or ok=false when it does not fit.
func (v pyVal) int64() (int64, bool) {
	n, err := strconv.ParseInt(v.text, 10, 64)
	return n, err == nil
}

const maxLiteralDepth = 32

type pyParser struct {
	s       string
	pos     int
	depth   int
	noLongs bool // refuse Python 2 'L' suffixes (version 3.0 headers)
}

func (p *pyParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrBadHeader, fmt.Sprintf(format, args...), p.pos)
}

func (p *pyParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

// parseLiteral parses s as one Python literal, allowing surrounding space.
func parseLiteral(s string) (pyVal, error) { return parseLiteralOpt(s, false) }

// parseLiteralOpt is parseLiteral; noLongs refuses Python 2 long suffixes.
func parseLiteralOpt(s string, noLongs bool) (pyVal, error) {
	p := &pyParser{s: s, noLongs: noLongs}
	v, err := p.value()
	if err != nil {
		return pyVal{}, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return pyVal{}, p.errorf("unexpected %q after the literal", clip(p.s[p.pos:]))
	}
	return v, nil
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

func (p *pyParser) value() (pyVal, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return pyVal{}, p.errorf("unexpected end of header")
	}
	c := p.s[p.pos]
	switch {
	case c == '{':
		return p.container('{', '}', pyDict)
	case c == '[':
		return p.container('[', ']', pyList)
	case c == '(':
		return p.container('(', ')', pyTuple)
	case c == '\'' || c == '"':
		return p.str()
	case (c == 'u' || c == 'U') && p.pos+1 < len(p.s) && (p.s[p.pos+1] == '\'' || p.s[p.pos+1] == '"'):
		p.pos++
		return p.str()
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		return p.integer()
	case isIdentStart(c):
		start := p.pos
		for p.pos < len(p.s) && isIdentChar(p.s[p.pos]) {
			p.pos++
		}
		switch word := p.s[start:p.pos]; word {
		case "True":
			return pyVal{kind: pyBool, b: true}, nil
		case "False":
			return pyVal{kind: pyBool, b: false}, nil
		case "None":
			return pyVal{kind: pyNone}, nil
		default:
			p.pos = start
			return pyVal{}, p.errorf("%q is not a literal", clip(word))
		}
	}
	return pyVal{}, p.errorf("unexpected character %q", c)
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func (p *pyParser) container(open, close byte, kind pyKind) (pyVal, error) {
	if p.depth >= maxLiteralDepth {
		return pyVal{}, p.errorf("literal nested more than %d deep", maxLiteralDepth)
	}
	p.depth++
	defer func() { p.depth-- }()
	p.pos++ // open
	v := pyVal{kind: kind}
	sawComma := false
	for {
		p.skipSpace()
		if p.pos >= len(p.s) {
			return pyVal{}, p.errorf("unclosed %q", open)
		}
		if p.s[p.pos] == close {
			p.pos++
			break
		}
		if len(v.items) > 0 && !sawComma {
			return pyVal{}, p.errorf("expected ',' or %q", close)
		}
		item, err := p.value()
		if err != nil {
			return pyVal{}, err
		}
		v.items = append(v.items, item)
		if kind == pyDict {
			p.skipSpace()
			if p.pos >= len(p.s) || p.s[p.pos] != ':' {
				return pyVal{}, p.errorf("expected ':' after dict key")
			}
			p.pos++
			val, err := p.value()
			if err != nil {
				return pyVal{}, err
			}
			v.items = append(v.items, val)
		}
		p.skipSpace()
		sawComma = false
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
			sawComma = true
		}
	}
	// (x) without a comma is just x in Python, not a tuple.
	if kind == pyTuple && len(v.items) == 1 && !sawComma {
		return v.items[0], nil
	}
	return v, nil
}

func (p *pyParser) integer() (pyVal, error) {
	start := p.pos
	neg := false
	if c := p.s[p.pos]; c == '-' || c == '+' {
		neg = c == '-'
		p.pos++
		p.skipSpace()
	}
	ds := p.pos
	for p.pos < len(p.s) && (p.s[p.pos] >= '0' && p.s[p.pos] <= '9' || p.s[p.pos] == '_') {
		p.pos++
	}
	digits := strings.ReplaceAll(p.s[ds:p.pos], "_", "")
	if digits == "" {
		p.pos = start
		return pyVal{}, p.errorf("malformed number")
	}
	// Python 2 long suffix, as in shapes written by NumPy under Python 2.
	if !p.noLongs && p.pos < len(p.s) && (p.s[p.pos] == 'L' || p.s[p.pos] == 'l') {
		p.pos++
		return p.intVal(neg, digits), nil
	}
	// Floats and complex numbers are literals too; they are kept as text
	// (never evaluated) so that callers can say what they got.
	fl := false
	if p.pos < len(p.s) && p.s[p.pos] == '.' {
		fl = true
		p.pos++
		for p.pos < len(p.s) && (p.s[p.pos] >= '0' && p.s[p.pos] <= '9' || p.s[p.pos] == '_') {
			p.pos++
		}
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'e' || p.s[p.pos] == 'E') {
		fl = true
		p.pos++
		if p.pos < len(p.s) && (p.s[p.pos] == '+' || p.s[p.pos] == '-') {
			p.pos++
		}
		es := p.pos
		for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
		}
		if es == p.pos {
			return pyVal{}, p.errorf("malformed number")
		}
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'j' || p.s[p.pos] == 'J') {
		fl = true
		p.pos++
	}
	if p.pos < len(p.s) && isIdentChar(p.s[p.pos]) {
		return pyVal{}, p.errorf("malformed number")
	}
	if fl {
		return pyVal{kind: pyFloat, text: p.s[start:p.pos]}, nil
	}
	return p.intVal(neg, digits), nil
}

func (p *pyParser) intVal(neg bool, digits string) pyVal {
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		digits = "0"
	}
	if neg && digits != "0" {
		digits = "-" + digits
	}
	return pyVal{kind: pyInt, text: digits}
}

func (p *pyParser) str() (pyVal, error) {
	q := p.s[p.pos]
	p.pos++
	var b strings.Builder
	for {
		if p.pos >= len(p.s) {
			return pyVal{}, p.errorf("unterminated string")
		}
		c := p.s[p.pos]
		switch {
		case c == q:
			p.pos++
			return pyVal{kind: pyStr, str: b.String()}, nil
		case c == '\n':
			return pyVal{}, p.errorf("newline in string")
		case c != '\\':
			b.WriteByte(c)
			p.pos++
			continue
		}
		// escape
		p.pos++
		if p.pos >= len(p.s) {
			return pyVal{}, p.errorf("unterminated string")
		}
		e := p.s[p.pos]
		p.pos++
		switch e {
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\n':
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if p.pos+n > len(p.s) {
				return pyVal{}, p.errorf("truncated \\%c escape", e)
			}
			r, err := strconv.ParseUint(p.s[p.pos:p.pos+n], 16, 32)
			if err != nil || r > unicode.MaxRune {
				return pyVal{}, p.errorf("bad \\%c escape", e)
			}
			p.pos += n
			b.WriteRune(rune(r))
		case '0', '1', '2', '3', '4', '5', '6', '7':
			r := rune(e - '0')
			for i := 0; i < 2 && p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '7'; i++ {
				r = r*8 + rune(p.s[p.pos]-'0')
				p.pos++
			}
			b.WriteRune(r)
		default:
			// Python keeps unknown escapes as they are.
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
}

// pyRepr returns Python's repr() of a str.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x80 || pyPrintable(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyPrintable approximates Python's str.isprintable for one non-ASCII rune.
func pyPrintable(r rune) bool {
	if r == utf8.RuneError {
		return false
	}
	return unicode.IsPrint(r)
}

// pyIntTuple returns Python's repr() of a tuple of ints: (), (3,), (2, 3).
func pyIntTuple(dims []int) string {
	switch len(dims) {
	case 0:
		return "()"
	case 1:
		return "(" + strconv.Itoa(dims[0]) + ",)"
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range dims {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(d))
	}
	b.WriteByte(')')
	return b.String()
}
