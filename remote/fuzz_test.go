package remote

import (
	"strings"
	"testing"
)

// FuzzContentRange checks the Content-Range parser: what it accepts is a
// well-formed range within the size, and formats back to itself.
func FuzzContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/100", "bytes */0", "bytes 5-4/10", "bytes 0-9/*", "bytes -1-2/3", "bytes 0-99/99", "bytes 00-1/2", "bytes 1-2/3 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, size, ok := parseContentRange(s)
		if !ok {
			return
		}
		if size < 0 || (start != -1 && (start < 0 || end < start || end >= size)) {
			t.Fatalf("%q: %d-%d/%d", s, start, end, size)
		}
	})
}

// FuzzURL checks that parsing never panics and that the label never holds
// the user information or the query string.
func FuzzURL(f *testing.F) {
	for _, s := range []string{"s3://b/k.npy", "https://u:p@h/x?sig=1", "http://h", "s3://", "ftp://x/y", "https://h/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Redact(s)
		if strings.ContainsAny(r, "?#") {
			t.Fatalf("Redact(%q) = %q keeps a query", s, r)
		}
		if l, err := parseURL(s); err == nil && strings.ContainsAny(l.label, "?#") {
			t.Fatalf("label %q", l.label)
		}
		Base(s)
	})
}
