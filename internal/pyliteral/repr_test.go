package pyliteral

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Golden reprs, printed by CPython 3.11 (the same in every Python 3: none
// of these code points changed between Unicode editions).
var strGolden = []struct{ in, want string }{
	{"", `''`},
	{"a", `'a'`},
	{"'", `"'"`},
	{`"`, `'"'`},
	{`'"`, `'\'"'`},
	{"it's", `"it's"`},
	{`it's "x"`, `'it\'s "x"'`},
	{`\`, `'\\'`},
	{"\t\n\r", `'\t\n\r'`},
	{"\x00\x01\x1f\x7f", `'\x00\x01\x1f\x7f'`},
	{"\a\b\f\v", `'\x07\x08\x0c\x0b'`},
	{" ~", `' ~'`},
	{"\u0080\u009f\u00a0\u00a1\u00ad\u00ff", `'\x80\x9f\xa0¡\xadÿ'`},
	{"é温度", `'é温度'`},
	{"\u2028\u2029\u3000\u200b\ufeff", `'\u2028\u2029\u3000\u200b\ufeff'`},
	{"\ue000", `'\ue000'`},
	{"\u0378", `'\u0378'`},
	{"\U00010000\U0001F600\U000E0001\U0010FFFF", `'𐀀😀\U000e0001\U0010ffff'`},
	{"\ufffd", `'�'`}, // U+FFFD is printable (category So)
	// Surrogates in generalized UTF-8: '\ud800\udfff'.
	{"\xed\xa0\x80\xed\xbf\xbf", `'\ud800\udfff'`},
	// Other invalid UTF-8: surrogateescape, b'\x80a\xff'.decode('utf-8', 'surrogateescape').
	{"\x80a\xff", `'\udc80a\udcff'`},
	{"\xc0\x80", `'\udcc0\udc80'`},                     // overlong NUL
	{"\xe4\xb8", `'\udce4\udcb8'`},                     // truncated 温
	{"\xf4\x90\x80\x80", `'\udcf4\udc90\udc80\udc80'`}, // above U+10FFFF
}

var bytesGolden = []struct{ in, want string }{
	{"", `b''`},
	{"'", `b"'"`},
	{`"`, `b'"'`},
	{`'"`, `b'\'"'`},
	{"\\\t\n\r\x00\x7f\x80\xff", `b'\\\t\n\r\x00\x7f\x80\xff'`},
	{"\a\x1f", `b'\x07\x1f'`},
	{"abc ~", `b'abc ~'`},
	{"é", `b'\xc3\xa9'`},
}

func TestAppendStrGolden(t *testing.T) {
	for _, c := range strGolden {
		assert.Equal(t, c.want, string(AppendStr(nil, c.in)), "%q", c.in)
		assert.Equal(t, "x"+c.want, string(AppendStr([]byte("x"), c.in)), "must append")
	}
}

func TestAppendBytesGolden(t *testing.T) {
	for _, c := range bytesGolden {
		assert.Equal(t, c.want, string(AppendBytes(nil, []byte(c.in))), "%q", c.in)
		assert.Equal(t, "x"+c.want, string(AppendBytes([]byte("x"), []byte(c.in))), "must append")
	}
}

func TestAppendRune(t *testing.T) {
	assert.Equal(t, "\xed\xa0\x80", string(AppendRune(nil, 0xd800)))
	assert.Equal(t, "\xed\xbf\xbf", string(AppendRune(nil, 0xdfff)))
	assert.Equal(t, "\xed\x9f\xbf", string(AppendRune(nil, 0xd7ff)))
	assert.Equal(t, "温", string(AppendRune(nil, '温')))
	assert.Equal(t, "\ufffd", string(AppendRune(nil, 0x110000)))
	assert.Equal(t, "\ufffd", string(AppendRune(nil, -1)))
	for r := rune(0xd800); r <= 0xdfff; r++ {
		got, ok := surrogateAt(string(AppendRune(nil, r)))
		require.True(t, ok)
		require.Equal(t, r, got)
	}
}

// goCategory returns the Unicode general category of r in Go's tables
// ("Cn" when r is unassigned there).
func goCategory(r rune) string {
	names := make([]string, 0, len(unicode.Categories))
	for name := range unicode.Categories {
		if len(name) == 2 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if unicode.Is(unicode.Categories[name], r) {
			return name
		}
	}
	return "Cn"
}

// pyStrScript prints, for every code point, its repr and its Unicode
// category; then the repr of each str and bytes of the corpus file
// (argv[1], one "s HEX" or "b HEX" line each). The str lines are decoded
// from UTF-8 as AppendStr reads them: invalid bytes by surrogateescape,
// except for a surrogate's generalized 3-byte form, which is that
// surrogate.
const pyStrScript = `
import codecs, sys, unicodedata
def wtf8(e):
    b = e.object[e.start:e.start+3]
    if len(b) == 3 and b[0] == 0xed and 0xa0 <= b[1] <= 0xbf and 0x80 <= b[2] <= 0xbf:
        return chr(0xd000 | (b[1] & 0x3f) << 6 | (b[2] & 0x3f)), e.start + 3
    return chr(0xdc00 + e.object[e.start]), e.start + 1
codecs.register_error("wtf8escape", wtf8)
out = []
for cp in range(0x110000):
    c = chr(cp)
    out.append(repr(c) + "\t" + unicodedata.category(c))
for line in open(sys.argv[1]):
    kind, h = line.split()
    b = bytes.fromhex(h) if h != "-" else b""
    out.append(repr(b.decode("utf-8", "wtf8escape")) if kind == "s" else repr(b))
out.append("")
sys.stdout.buffer.write("\n".join(out).encode("utf-8"))
`

// strCorpus returns strings that exercise the quote choice, every escape
// and every kind of code point, including invalid UTF-8.
func strCorpus() []string {
	out := []string{}
	for _, c := range strGolden {
		out = append(out, c.in)
	}
	pieces := []string{"'", `"`, `\`, "a", " ", "\t", "\n", "\r", "\x00", "\x1f", "\x7f",
		"\u0085", "\u00a0", "\u00ad", "é", "ÿ", "\u0100", "\u2028", "\u200b", "\ufeff", "\ufffd",
		"\uffff", "温", "\U00010000", "😀", "\U000E0001", "\U000F0000", "\U0010FFFF",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xed\xb2\x80", "\x80", "\xff", "\xc0", "\xe4\xb8", "\xf4\x90\x80\x80",
		"\xed\xa0", "\xed\x9f\xbf"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(8) {
			if rng.IntN(4) == 0 {
				b.Write(AppendRune(nil, rune(rng.IntN(0x110000))))
			} else {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		out = append(out, b.String())
	}
	return out
}

func bytesCorpus() [][]byte {
	out := [][]byte{}
	for c := range 256 {
		out = append(out, []byte{byte(c)})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		b := make([]byte, rng.IntN(6))
		for i := range b {
			b[i] = []byte{'\'', '"', '\\', 'a', byte(rng.IntN(256))}[rng.IntN(5)]
		}
		out = append(out, b)
	}
	return out
}

// TestReprAgainstPython compares AppendStr with Python's repr for every
// code point and for a generated corpus, and AppendBytes for all bytes
// and a generated corpus. Code points whose category differs between
// Python's Unicode edition and Go's are counted, not compared: there the
// two disagree as two Python versions do.
func TestReprAgainstPython(t *testing.T) {
	strs, byts := strCorpus(), bytesCorpus()
	var in bytes.Buffer
	hexOf := func(b []byte) string {
		if len(b) == 0 {
			return "-"
		}
		return hex.EncodeToString(b)
	}
	for _, s := range strs {
		in.WriteString("s " + hexOf([]byte(s)) + "\n")
	}
	for _, b := range byts {
		in.WriteString("b " + hexOf(b) + "\n")
	}
	corpus := filepath.Join(t.TempDir(), "corpus.txt")
	require.NoError(t, os.WriteFile(corpus, in.Bytes(), 0o644))
	out := pytest.Run(t, pyStrScript, corpus)

	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	next := func() string {
		t.Helper()
		require.True(t, sc.Scan(), "python output ended early")
		return sc.Text()
	}
	drifted := map[rune]bool{}
	for cp := rune(0); cp <= unicode.MaxRune; cp++ {
		want, pyCat, ok := strings.Cut(next(), "\t")
		require.True(t, ok)
		got := string(AppendStr(nil, string(AppendRune(nil, cp))))
		if got == want {
			continue
		}
		if goCat := goCategory(cp); goCat != pyCat {
			drifted[cp] = true // assigned or changed in one edition and not the other
			continue
		}
		t.Errorf("U+%04X: AppendStr gives %s, Python %s", cp, got, want)
	}
	t.Logf("Go's Unicode %s and Python's edition differ in the category of %d code points", unicode.Version, len(drifted))
	assert.Less(t, len(drifted), 10000, "Unicode editions too far apart")
	skipped := 0
	for _, s := range strs {
		want := next()
		if strings.ContainsFunc(s, func(r rune) bool { return drifted[r] }) {
			skipped++
			continue
		}
		assert.Equal(t, want, string(AppendStr(nil, s)), "AppendStr(%q)", s)
	}
	t.Logf("%d of %d corpus strings hold such code points and were not compared", skipped, len(strs))
	for _, b := range byts {
		assert.Equal(t, next(), string(AppendBytes(nil, b)), "AppendBytes(%q)", b)
	}
	assert.False(t, sc.Scan(), "python printed more lines than expected")
}
