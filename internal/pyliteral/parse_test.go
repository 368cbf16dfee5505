package pyliteral

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	v, err := Parse("{'descr': [('x', '<f8', (2,)), (('t', 'y'), u\"<i4\")], 'fortran_order': False, 'shape': (3, 4L), }   \n", true)
	require.NoError(t, err)
	require.Equal(t, Dict, v.Kind)
	require.Len(t, v.Items, 6)
	assert.Equal(t, Value{Kind: Str, Str: "descr"}, v.Items[0])
	descr := v.Items[1]
	require.Equal(t, List, descr.Kind)
	assert.Equal(t, Value{Kind: Tuple, Items: []Value{
		{Kind: Str, Str: "x"}, {Kind: Str, Str: "<f8"}, {Kind: Tuple, Items: []Value{{Kind: Int, Text: "2"}}},
	}}, descr.Items[0])
	assert.Equal(t, Value{Kind: Tuple, Items: []Value{
		{Kind: Tuple, Items: []Value{{Kind: Str, Str: "t"}, {Kind: Str, Str: "y"}}}, {Kind: Str, Str: "<i4"},
	}}, descr.Items[1])
	assert.Equal(t, Value{Kind: Bool, Bool: false}, v.Items[3])
	assert.Equal(t, Value{Kind: Tuple, Items: []Value{{Kind: Int, Text: "3"}, {Kind: Int, Text: "4"}}}, v.Items[5])
}

func TestParseScalars(t *testing.T) {
	cases := map[string]Value{
		"True":                     {Kind: Bool, Bool: true},
		"None":                     {Kind: None},
		"(5)":                      {Kind: Int, Text: "5"},
		"(5,)":                     {Kind: Tuple, Items: []Value{{Kind: Int, Text: "5"}}},
		"()":                       {Kind: Tuple},
		"[]":                       {Kind: List},
		"-0":                       {Kind: Int, Text: "0"},
		"- 007":                    {Kind: Int, Text: "-7"},
		"+1_000":                   {Kind: Int, Text: "1000"},
		"123456789012345678901234": {Kind: Int, Text: "123456789012345678901234"},
		"2.5e-3":                   {Kind: Float, Text: "2.5e-3"},
		"2j":                       {Kind: Float, Text: "2j"},
		`'a\'b\\c\n\t\x41\u00e9\U0001F600\101\q'`: {Kind: Str, Str: "a'b\\c\n\tAé😀A\\q"},
		`"line\
next"`: {Kind: Str, Str: "linenext"},
		`'\ud800\udfff'`: {Kind: Str, Str: "\xed\xa0\x80\xed\xbf\xbf"},
		`'\377'`:         {Kind: Str, Str: "ÿ"},
	}
	for in, want := range cases {
		v, err := Parse(in, false)
		require.NoError(t, err, in)
		assert.Equal(t, want, v, in)
	}
	n, ok := Value{Kind: Int, Text: "-9223372036854775808"}.Int64()
	assert.True(t, ok)
	assert.Equal(t, int64(-9223372036854775808), n)
	_, ok = Value{Kind: Int, Text: "9223372036854775808"}.Int64()
	assert.False(t, ok)
	_, ok = Value{Kind: Float, Text: "1"}.Int64()
	assert.False(t, ok)
}

func TestParseErrors(t *testing.T) {
	bad := []string{"", "  ", "{", "{'a' 1}", "{'a': }", "[1 2]", "(1,,)", "'abc", "'a\nb'", `'\x4'`, `'\xzz'`,
		`'\U00110000'`, "__import__('os')", "x", "1x", "1e", "1.5.5", "3L", "True False", "{1: 2}}",
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "@"}
	for _, in := range bad {
		_, err := Parse(in, false)
		var se *SyntaxError
		if assert.True(t, errors.As(err, &se), "%q: %v", in, err) {
			assert.True(t, strings.HasPrefix(err.Error(), "pyliteral: "), err.Error())
			assert.LessOrEqual(t, se.Offset, len(in))
		}
	}
	_, err := Parse(strings.Repeat("[", MaxDepth)+strings.Repeat("]", MaxDepth), false)
	assert.NoError(t, err, "MaxDepth levels are accepted")
	_, err = Parse("3L", true)
	assert.NoError(t, err, "Python 2 long")
	assert.Equal(t, "unterminated string at offset 4", mustSyntax(t, "'abc").Msg+" at offset 4")
}

func mustSyntax(t *testing.T, in string) *SyntaxError {
	t.Helper()
	_, err := Parse(in, false)
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	return se
}

// TestStrRoundTrip checks that Parse reads what AppendStr writes.
func TestStrRoundTrip(t *testing.T) {
	for _, s := range strCorpus() {
		r := AppendStr(nil, s)
		v, err := Parse(string(r), false)
		require.NoError(t, err, "%s", r)
		require.Equal(t, Str, v.Kind)
		assert.Equal(t, string(r), string(AppendStr(nil, v.Str)), "%q", s)
		if wtf8Valid(s) {
			assert.Equal(t, s, v.Str)
		}
	}
}
