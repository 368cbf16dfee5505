package numprint

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reprAllPy prints Python's Unicode version, then repr(chr(c)) for every
// code point, one a line (a repr holds no raw line break).
const reprAllPy = `
import sys, unicodedata
out = [unicodedata.unidata_version]
out += [repr(chr(c)) for c in range(0x110000)]
sys.stdout.buffer.write('\n'.join(out).encode('utf-8'))
`

// TestAppendStrMatchesPython compares the repr of every code point,
// surrogates included, with Python's.
func TestAppendStrMatchesPython(t *testing.T) {
	lines := strings.Split(string(pytest.Run(t, reprAllPy)), "\n")
	require.Len(t, lines, 1+unicode.MaxRune+1)
	if lines[0] != "14.0.0" {
		t.Skipf("Python's Unicode is %s; the reference is Python 3.11's 14.0.0, as NumPy 1.24's", lines[0])
	}
	bad := 0
	for c, want := range lines[1:] {
		got := string(appendStrRepr(nil, []uint32{uint32(c)}))
		if isScalar(uint32(c)) {
			if s := string(AppendStr(nil, string(rune(c)))); s != got {
				t.Errorf("U+%04X: AppendStr %s, appendStrRepr %s", c, s, got)
			}
		}
		if got != want {
			if bad++; bad <= 20 {
				t.Errorf("U+%04X: got %s, Python %s", c, got, want)
			}
		}
	}
	assert.Zero(t, bad, "code points that differ from Python")
}

// reprCasesPy reads a JSON list of strings given as lists of code points
// (so that lone surrogates pass) and prints the list of their reprs.
const reprCasesPy = `
import json, sys
cases = json.loads(sys.argv[1])
json.dump([repr(''.join(map(chr, c))) for c in cases], sys.stdout)
`

// TestAppendStrQuotes: Python chooses the quotes from the whole string,
// surrogates between the quotes included.
func TestAppendStrQuotes(t *testing.T) {
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

// reprBytesPy prints, for each hex-encoded argument, the repr of the bytes
// and the repr of the str that Python's surrogateescape decodes from them.
const reprBytesPy = `
import json, sys
out = []
for h in sys.argv[1:]:
    b = bytes.fromhex(h)
    out.append([repr(b), repr(b.decode('utf-8', 'surrogateescape'))])
json.dump(out, sys.stdout)
`

// TestAppendBytesMatchesPython compares the repr of every byte, of quotes
// together, and of byte strings that are partly UTF-8 (which AppendStr
// reads as Python's surrogateescape does) with Python's.
func TestAppendBytesMatchesPython(t *testing.T) {
	var cases [][]byte
	for c := 0; c < 256; c++ {
		cases = append(cases, []byte{byte(c)})
	}
	cases = append(cases, []byte(""), []byte(`'"`), []byte(`'`), []byte(`"`), []byte(`'\`), []byte("\xef\xbf\xbd"),
		[]byte("\xed\xa0\x80"), []byte("\xe2\x82"), []byte("\xe2\x82\xac\xe2\x82"), []byte("\xc0\x80"), []byte("\xf4\x90\x80\x80"),
		[]byte("\xf0\x9f\x98\x80x\xf0\x9f\x98"), []byte("it's \xff"), []byte("\xe9t\xc3\xa9"))
	seed := uint32(1)
	for range 300 {
		b := make([]byte, seed%12)
		for i := range b {
			seed = seed*1664525 + 1013904223
			b[i] = []byte{'a', '\'', '"', 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0x80, 0xed, 0xa0}[seed>>28]
		}
		cases = append(cases, b)
	}
	var args []string
	for _, b := range cases {
		args = append(args, hex.EncodeToString(b))
	}
	var want [][2]string
	require.NoError(t, json.Unmarshal(pytest.Run(t, reprBytesPy, args...), &want))
	require.Len(t, want, len(cases))
	for i, b := range cases {
		assert.Equal(t, want[i][0], string(AppendBytes(nil, b)), "bytes % x", b)
		assert.Equal(t, want[i][1], string(AppendStr(nil, string(b))), "str % x", b)
	}
}

// TestAppendAppends: both functions append to dst.
func TestAppendAppends(t *testing.T) {
	assert.Equal(t, "x='a'", string(AppendStr([]byte("x="), "a")))
	assert.Equal(t, "x=b'a'", string(AppendBytes([]byte("x="), []byte("a"))))
	assert.True(t, bytes.HasPrefix(appendStrRepr([]byte("x="), []uint32{0xd800}), []byte("x=")))
}
