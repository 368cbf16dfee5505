package pyliteral

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// wtf8Valid reports whether s is UTF-8 except for surrogates in their
// generalized form, so that Parse(AppendStr(s)) gives s back exactly.
func wtf8Valid(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			if _, ok := surrogateAt(s[i:]); !ok {
				return false
			}
			n = 3
		}
		i += n
	}
	return true
}

// format writes v back as a Python literal that Parse reads as v.
func format(b *strings.Builder, v Value) {
	switch v.Kind {
	case Str:
		b.Write(AppendStr(nil, v.Str))
	case Int, Float:
		b.WriteString(v.Text)
	case Bool:
		if v.Bool {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case None:
		b.WriteString("None")
	case Tuple, List, Dict:
		open, close := "(", ")"
		if v.Kind == List {
			open, close = "[", "]"
		} else if v.Kind == Dict {
			open, close = "{", "}"
		}
		b.WriteString(open)
		for i, it := range v.Items {
			if i > 0 {
				if v.Kind == Dict && i%2 == 1 {
					b.WriteString(": ")
				} else {
					b.WriteString(", ")
				}
			}
			format(b, it)
		}
		if v.Kind == Tuple && len(v.Items) == 1 {
			b.WriteString(",")
		}
		b.WriteString(close)
	}
}

// FuzzParse parses arbitrary text as a literal: what parses must write
// back and parse to the same value, and errors are *SyntaxError. The same
// text, taken as a string, must survive AppendStr and Parse.
func FuzzParse(f *testing.F) {
	// The header dicts of the NumPy fixtures, good and bad.
	for _, pat := range []string{"../../testdata/npy/*.npy", "../../testdata/bad/*.npy"} {
		files, _ := filepath.Glob(pat)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil || len(b) < 10 || len(b) > 1<<16 {
				continue
			}
			start, n := 10, int(binary.LittleEndian.Uint16(b[8:]))
			if b[6] >= 2 && len(b) >= 12 {
				start, n = 12, int(binary.LittleEndian.Uint32(b[8:]))
			}
			if start+n > len(b) {
				n = len(b) - start
			}
			text := b[start : start+n]
			if b[6] < 3 { // latin-1, as npy decodes it
				var u []byte
				for _, c := range text {
					u = utf8.AppendRune(u, rune(c))
				}
				text = u
			}
			f.Add(string(text))
		}
	}
	for _, c := range strGolden {
		f.Add(c.in)
		f.Add(c.want)
	}
	f.Add(`(1, 2L, -3, 4.5, 6j, None, True, [{'a': u"b"}], (), ())`)
	f.Fuzz(func(t *testing.T, in string) {
		for _, py2 := range []bool{false, true} {
			v, err := Parse(in, py2)
			if err != nil {
				var se *SyntaxError
				if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(in) {
					t.Fatalf("Parse(%q): error %v is not a *SyntaxError within the input", in, err)
				}
				continue
			}
			var b, b2 strings.Builder
			format(&b, v)
			v2, err := Parse(b.String(), false)
			if err != nil {
				t.Fatalf("Parse(%q) = %+v, written back as %q, which does not parse: %v", in, v, b.String(), err)
			}
			// Invalid UTF-8 in a string literal comes back as the
			// surrogates AppendStr writes for it; it prints the same.
			format(&b2, v2)
			if b.String() != b2.String() || (wtf8Valid(in) && !reflect.DeepEqual(v, v2)) {
				t.Fatalf("round trip of %q through %q: %+v -> %+v", in, b.String(), v, v2)
			}
		}
		r := AppendStr(nil, in)
		v, err := Parse(string(r), false)
		if err != nil || v.Kind != Str {
			t.Fatalf("Parse(AppendStr(%q)) = %+v, %v", in, v, err)
		}
		if r2 := AppendStr(nil, v.Str); string(r2) != string(r) {
			t.Fatalf("AppendStr(%q) = %s, but after Parse %s", in, r, r2)
		}
		if wtf8Valid(in) && v.Str != in {
			t.Fatalf("Parse(AppendStr(%q)) = %q", in, v.Str)
		}
	})
}
