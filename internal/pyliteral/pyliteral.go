// Package pyliteral reads and writes Python literals: a bounded parser for
// the literal subset that NumPy's .npy headers use, and Python 3's repr of
// str and bytes.
//
// Parse never evaluates anything: input that is not a literal is a
// *SyntaxError, containers nest at most MaxDepth deep, and the work is
// linear in the input. AppendStr and AppendBytes write exactly what
// Python 3's repr() writes, for the header writer and for printing arrays
// as NumPy prints them.
//
// Strings are Go strings holding UTF-8. A Python str may also hold lone
// surrogates (U+D800 to U+DFFF), which UTF-8 cannot; this package writes
// them in the generalized 3-byte form (WTF-8: "\ud800" is the bytes ED A0
// 80), both when Parse decodes an escape such as '\ud800' and when
// AppendStr reads its input, so that a literal survives Parse and
// AppendStr unchanged. [AppendRune] appends a code point in that form.
package pyliteral

import "fmt"

// MaxDepth is the deepest nesting of containers (dicts, lists, tuples)
// that Parse accepts.
const MaxDepth = 32

// Kind is the type of a parsed literal.
type Kind uint8

// Kinds of literals.
const (
	Str Kind = iota + 1
	Int
	Float // float and complex literals, kept as their text
	Bool
	None
	Tuple
	List
	Dict
)

var kindNames = [...]string{Str: "string", Int: "integer", Float: "float", Bool: "bool",
	None: "None", Tuple: "tuple", List: "list", Dict: "dict"}

// String returns the kind as error messages name it: "string", "integer",
// "float", "bool", "None", "tuple", "list" or "dict".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "?"
}

// Value is a parsed literal. Which fields are set depends on Kind.
type Value struct {
	Kind Kind
	// Str is a Str's value (see the package doc for surrogates).
	Str string
	// Text is an Int's decimal value, without '_' and leading zeros and
	// with a leading '-' when negative, so that integers of any size are
	// kept exactly; for a Float, the literal as written.
	Text string
	// Bool is a Bool's value.
	Bool bool
	// Items holds a Tuple's or List's elements, and a Dict's keys and
	// values alternately, in input order.
	Items []Value
}

// Int64 returns an Int's value, with ok false when it does not fit in an
// int64 or v is not an Int.
func (v Value) Int64() (n int64, ok bool) {
	if v.Kind != Int {
		return 0, false
	}
	n, err := parseInt64(v.Text)
	return n, err == nil
}

// SyntaxError reports input that is not a literal Parse accepts.
type SyntaxError struct {
	Msg    string // what is wrong, such as "unterminated string"
	Offset int    // byte offset in the input where it was found
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("pyliteral: %s at offset %d", e.Msg, e.Offset)
}
