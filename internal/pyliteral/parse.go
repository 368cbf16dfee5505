package pyliteral

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Parse parses s as one Python literal with optional white space around
// it: a dict, list or tuple of literals, a string (with an optional u
// prefix), an integer (with '_' separators), a float or complex number,
// True, False or None. Python 2 long integers ('3L') are accepted only
// when py2Longs is set, as NumPy accepts them in version 1.0 and 2.0
// headers. A parenthesised single value without a comma is that value,
// not a tuple, as in Python. Any other input is a *SyntaxError.
func Parse(s string, py2Longs bool) (Value, error) {
	p := &parser{s: s, py2Longs: py2Longs}
	v, err := p.value()
	if err != nil {
		return Value{}, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return Value{}, p.errorf("unexpected %q after the literal", clip(p.s[p.pos:]))
	}
	return v, nil
}

type parser struct {
	s        string
	pos      int
	depth    int
	py2Longs bool
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Offset: p.pos}
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

func parseInt64(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (Value, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return Value{}, p.errorf("unexpected end of header")
	}
	c := p.s[p.pos]
	switch {
	case c == '{':
		return p.container('{', '}', Dict)
	case c == '[':
		return p.container('[', ']', List)
	case c == '(':
		return p.container('(', ')', Tuple)
	case c == '\'' || c == '"':
		return p.str()
	case (c == 'u' || c == 'U') && p.pos+1 < len(p.s) && (p.s[p.pos+1] == '\'' || p.s[p.pos+1] == '"'):
		p.pos++
		return p.str()
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		return p.number()
	case isIdentStart(c):
		start := p.pos
		for p.pos < len(p.s) && isIdentChar(p.s[p.pos]) {
			p.pos++
		}
		switch word := p.s[start:p.pos]; word {
		case "True":
			return Value{Kind: Bool, Bool: true}, nil
		case "False":
			return Value{Kind: Bool, Bool: false}, nil
		case "None":
			return Value{Kind: None}, nil
		default:
			p.pos = start
			return Value{}, p.errorf("%q is not a literal", clip(word))
		}
	}
	return Value{}, p.errorf("unexpected character %q", c)
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func (p *parser) container(open, close byte, kind Kind) (Value, error) {
	if p.depth >= MaxDepth {
		return Value{}, p.errorf("literal nested more than %d deep", MaxDepth)
	}
	p.depth++
	defer func() { p.depth-- }()
	p.pos++ // open
	v := Value{Kind: kind}
	sawComma := false
	for {
		p.skipSpace()
		if p.pos >= len(p.s) {
			return Value{}, p.errorf("unclosed %q", open)
		}
		if p.s[p.pos] == close {
			p.pos++
			break
		}
		if len(v.Items) > 0 && !sawComma {
			return Value{}, p.errorf("expected ',' or %q", close)
		}
		item, err := p.value()
		if err != nil {
			return Value{}, err
		}
		v.Items = append(v.Items, item)
		if kind == Dict {
			p.skipSpace()
			if p.pos >= len(p.s) || p.s[p.pos] != ':' {
				return Value{}, p.errorf("expected ':' after dict key")
			}
			p.pos++
			val, err := p.value()
			if err != nil {
				return Value{}, err
			}
			v.Items = append(v.Items, val)
		}
		p.skipSpace()
		sawComma = false
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
			sawComma = true
		}
	}
	// (x) without a comma is just x in Python, not a tuple.
	if kind == Tuple && len(v.Items) == 1 && !sawComma {
		return v.Items[0], nil
	}
	return v, nil
}

func (p *parser) number() (Value, error) {
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
		return Value{}, p.errorf("malformed number")
	}
	// Python 2 long suffix, as in shapes written by NumPy under Python 2.
	if p.py2Longs && p.pos < len(p.s) && (p.s[p.pos] == 'L' || p.s[p.pos] == 'l') {
		p.pos++
		return intVal(neg, digits), nil
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
			return Value{}, p.errorf("malformed number")
		}
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'j' || p.s[p.pos] == 'J') {
		fl = true
		p.pos++
	}
	if p.pos < len(p.s) && isIdentChar(p.s[p.pos]) {
		return Value{}, p.errorf("malformed number")
	}
	if fl {
		return Value{Kind: Float, Text: p.s[start:p.pos]}, nil
	}
	return intVal(neg, digits), nil
}

func intVal(neg bool, digits string) Value {
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		digits = "0"
	}
	if neg && digits != "0" {
		digits = "-" + digits
	}
	return Value{Kind: Int, Text: digits}
}

// escapeLen is the number of hex digits of the \x, \u and \U escapes.
var escapeLen = [256]int{'x': 2, 'u': 4, 'U': 8}

func (p *parser) str() (Value, error) {
	q := p.s[p.pos]
	p.pos++
	var b []byte
	for {
		if p.pos >= len(p.s) {
			return Value{}, p.errorf("unterminated string")
		}
		c := p.s[p.pos]
		switch {
		case c == q:
			p.pos++
			return Value{Kind: Str, Str: string(b)}, nil
		case c == '\n':
			return Value{}, p.errorf("newline in string")
		case c != '\\':
			b = append(b, c)
			p.pos++
			continue
		}
		// escape
		p.pos++
		if p.pos >= len(p.s) {
			return Value{}, p.errorf("unterminated string")
		}
		e := p.s[p.pos]
		p.pos++
		switch e {
		case '\\', '\'', '"':
			b = append(b, e)
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case 'a':
			b = append(b, '\a')
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'v':
			b = append(b, '\v')
		case '\n':
		case 'x', 'u', 'U':
			n := escapeLen[e]
			if p.pos+n > len(p.s) {
				return Value{}, p.errorf("truncated \\%c escape", e)
			}
			r, err := strconv.ParseUint(p.s[p.pos:p.pos+n], 16, 32)
			if err != nil || r > unicode.MaxRune {
				return Value{}, p.errorf("bad \\%c escape", e)
			}
			p.pos += n
			b = AppendRune(b, rune(r))
		case '0', '1', '2', '3', '4', '5', '6', '7':
			r := rune(e - '0')
			for i := 0; i < 2 && p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '7'; i++ {
				r = r*8 + rune(p.s[p.pos]-'0')
				p.pos++
			}
			b = AppendRune(b, r)
		default:
			// Python keeps unknown escapes as they are.
			b = append(b, '\\', e)
		}
	}
}
