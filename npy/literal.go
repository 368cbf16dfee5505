package npy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/arrfile/arrfile/internal/pyliteral"
)

// parseLiteral parses a header dict or descr list; py2Longs accepts
// Python 2 long integers ('3L'), which NumPy filters out of headers up to
// version 2.0. Syntax errors wrap ErrBadHeader.
func parseLiteral(s string, py2Longs bool) (pyliteral.Value, error) {
	v, err := pyliteral.Parse(s, py2Longs)
	var se *pyliteral.SyntaxError
	if errors.As(err, &se) {
		return v, fmt.Errorf("%w: %s at offset %d", ErrBadHeader, se.Msg, se.Offset)
	}
	return v, err
}

// repr returns Python's repr() of a str, as NumPy writes names in headers.
func repr(s string) string { return string(pyliteral.AppendStr(nil, s)) }

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
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
