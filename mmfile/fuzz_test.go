//go:build linux

package mmfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

// fixtures returns the NumPy-written files in ../testdata (valid and bad).
func fixtures(t testing.TB, sub string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", sub, "*.npy"))
	require.NoError(t, err)
	return paths
}

// TestFixtures opens every valid NumPy fixture in each mode and checks the
// mapped data against npy's streaming reader; every malformed fixture is an
// error wrapping an npy sentinel, never a panic.
func TestFixtures(t *testing.T) {
	valid := fixtures(t, "npy")
	if len(valid) == 0 {
		t.Skip("no fixtures in ../testdata/npy")
	}
	for _, p := range valid {
		f, err := os.Open(p)
		require.NoError(t, err)
		want, h, err := npy.ReadAll(f)
		f.Close()
		require.NoError(t, err, p)
		for _, mode := range []Mode{ReadOnly, CopyOnWrite} {
			a, err := Open(p, mode, nil)
			require.NoError(t, err, p)
			got, err := a.Bytes()
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "%s: mapped data differs from the streaming reader", p)
			assert.Equal(t, h.Shape, a.Header().Shape, p)
			assert.True(t, h.DType.Equal(a.Header().DType), p)
			require.NoError(t, a.Close())
		}
	}
	for _, p := range fixtures(t, "bad") {
		a, err := Open(p, ReadOnly, &Options{Strict: true})
		if err == nil {
			a.Close()
			t.Errorf("%s: malformed fixture opened", p)
			continue
		}
		assert.Contains(t, err.Error(), p)
	}
}

// FuzzOpen maps arbitrary bytes as an .npy file: Open must fail cleanly or
// give an array whose data is fully readable; appending a row to an array
// that accepts an Appender must leave a file that opens with one more row.
func FuzzOpen(f *testing.F) {
	for _, sub := range []string{"npy", "bad"} {
		for _, p := range fixtures(f, sub) {
			if b, err := os.ReadFile(p); err == nil && len(b) < 1<<16 {
				f.Add(b)
			}
		}
	}
	var buf bytes.Buffer
	npy.Write(&buf, []float64{1, 2, 3, 4}, 2, 2)
	f.Add(buf.Bytes())
	f.Add([]byte(npy.Magic))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.npy")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []Mode{ReadOnly, ReadWrite, CopyOnWrite} {
			a, err := Open(path, mode, &Options{MaxHeaderSize: 1 << 16})
			if err != nil {
				continue
			}
			d, err := a.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(d)) != a.Header().DataSize() {
				t.Fatalf("data is %d bytes, header says %d", len(d), a.Header().DataSize())
			}
			cp := make([]byte, len(d))
			if n, err := a.ReadAt(cp, 0); n != len(d) || (err != nil && !errors.Is(err, io.EOF)) {
				t.Fatalf("ReadAt: %d, %v", n, err)
			}
			if !bytes.Equal(cp, d) {
				t.Fatal("ReadAt differs from Bytes")
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
		}
		ap, err := OpenAppender(path, &CreateOptions{MaxHeaderSize: 1 << 16})
		if err != nil {
			return
		}
		defer ap.Close()
		h := ap.Header()
		if ap.rowBytes > 1<<20 {
			return
		}
		err = Append(ap, make([]byte, ap.rowBytes))
		if err != nil {
			if errors.Is(err, ErrNoHeaderRoom) {
				return
			}
			t.Fatalf("append: %v", err)
		}
		a, err := Open(path, ReadOnly, &Options{MaxHeaderSize: 1 << 16, Strict: true})
		if err != nil {
			t.Fatalf("file invalid after append: %v", err)
		}
		defer a.Close()
		axis := 0
		if h.FortranOrder {
			axis = len(h.Shape) - 1
		}
		if got, want := a.Header().Shape[axis], h.Shape[axis]+1; got != want {
			t.Fatalf("growth axis %d after append, want %d", got, want)
		}
	})
}

// FuzzOpenSection maps arbitrary bytes as a container holding an .npy at a
// fuzzed offset: OpenSection must fail cleanly or give an array whose data
// is exactly the file's bytes after the header at that offset.
func FuzzOpenSection(f *testing.F) {
	var buf bytes.Buffer
	buf.Write(make([]byte, 4100))
	npy.Write(&buf, []float64{1, 2, 3, 4}, 2, 2)
	buf.WriteString("trailer")
	f.Add(buf.Bytes(), uint32(4100))
	f.Add(buf.Bytes(), uint32(0))
	f.Add(buf.Bytes(), uint32(5000))
	f.Add([]byte(npy.Magic), uint32(0))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, off uint32) {
		path := filepath.Join(dir, "c.bin")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []Mode{ReadOnly, CopyOnWrite} {
			a, err := OpenSection(path, int64(off), mode, &Options{MaxHeaderSize: 1 << 16})
			if err != nil {
				continue
			}
			d, err := a.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			h := a.Header()
			start := int64(off) + h.DataOffset
			if !bytes.Equal(d, data[start:start+h.DataSize()]) {
				t.Fatalf("mapped data differs from the file's bytes at %d", start)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
