package numprint

import (
	"encoding/json"
	"testing"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reprCasesPy reads a JSON list of strings given as lists of code points
// (so that lone surrogates pass) and prints the list of their reprs.
const reprCasesPy = `
import json, sys
cases = json.loads(sys.argv[1])
json.dump([repr(''.join(map(chr, c))) for c in cases], sys.stdout)
`

// TestStrReprMatchesPython: a 'U' element prints as Python's repr of the
// str, whose quotes Python chooses from the whole string, lone surrogates
// and code units above U+10FFFF between the quotes included.
func TestStrReprMatchesPython(t *testing.T) {
	cases := [][]uint32{{}}
	for _, s := range []string{"a", "it's", `say "hi"`, `both ' "`, `'`, `"`, `\`, `'\"`, "nl\nx\r\t", "\x00\x7f\x80\u00a0", "é温😀", "\ufffd", "a\ufffdb", "\u2028\u0085"} {
		cases = append(cases, string2units(s))
	}
	cases = append(cases, [][]uint32{
		{0xd800}, {0xdfff, 'a'}, {'\'', 0xd800}, {'"', 0xdc80, '\''}, {'\'', 0xd800, '\'', 0xdbff, 'x'},
		{0xd800, '"'}, {'a', 0xdc00, 0xdc01, 'b', '\\', 0xd83d, 0xde00},
	}...)
	arg, err := json.Marshal(cases)
	require.NoError(t, err)
	var want []string
	require.NoError(t, json.Unmarshal(pytest.Run(t, reprCasesPy, string(arg)), &want))
	require.Len(t, want, len(cases))
	for i, us := range cases {
		assert.Equal(t, want[i], string(appendStrRepr(nil, us)), "%x", us)
	}
	// Values above U+10FFFF, which NumPy keeps in a 'U' element and prints
	// as Python's repr escapes any code point.
	assert.Equal(t, `'\U00110000A'`, string(appendStrRepr(nil, []uint32{0x110000, 'A'})))
	assert.Equal(t, `"'\Uffffffff"`, string(appendStrRepr(nil, []uint32{'\'', 0xffffffff})))
}

func string2units(s string) []uint32 {
	var us []uint32
	for _, r := range s {
		us = append(us, uint32(r))
	}
	return us
}

// TestStrReprAppends: appendStrRepr appends to dst.
func TestStrReprAppends(t *testing.T) {
	assert.Equal(t, `x='\ud800'`, string(appendStrRepr([]byte("x="), []uint32{0xd800})))
	assert.Equal(t, `x=''`, string(appendStrRepr([]byte("x="), nil)))
}
