package npz

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func FuzzNpzReader(f *testing.F) {
	for _, opts := range [][]WriterOption{nil, {WithDeflate(6)}, {WithAlignment(64)}} {
		var buf bytes.Buffer
		z, _ := NewWriter(&buf, opts...)
		writeArray(z, "a", []int16{1, 2, 3})
		writeArray(z, "b", []float64{0.5}, 1, 1)
		z.Close()
		f.Add(buf.Bytes())
	}
	// The NumPy-written fixtures (np.savez, np.savez_compressed).
	for _, name := range []string{"savez.npz", "savez_compressed.npz"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "npz", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		z, err := NewReader(bytes.NewReader(b), int64(len(b)), WithMaxMembers(1000))
		if err != nil {
			return
		}
		for _, m := range z.Members() {
			// Declared sizes are bounded by the archive's bytes.
			if m.Deflated && m.Size/maxDeflateRatio > m.CompressedSize+1 {
				t.Fatalf("member %q: %d bytes from %d passed the ratio check", m.Name, m.Size, m.CompressedSize)
			}
			// (A member of an unsupported method is refused when opened;
			// its declared size is not used.)
			if m.f.Method == zip.Store && m.Size > int64(len(b)) {
				t.Fatalf("stored member %q: %d bytes in a %d-byte archive", m.Name, m.Size, len(b))
			}
			r, err := z.OpenRaw(m.Name)
			if err != nil {
				continue
			}
			n, err := io.Copy(io.Discard, r)
			if n > m.Size {
				t.Fatalf("member %q: read %d bytes, declared %d", m.Name, n, m.Size)
			}
			if err == nil && n != m.Size {
				t.Fatalf("member %q: %d bytes without error, declared %d", m.Name, n, m.Size)
			}
			if a, err := z.Open(m.Key); err == nil {
				io.Copy(io.Discard, a)
			}
			if off, err := z.DataOffset(m.Key); err == nil && (off < 0 || off+m.Size > int64(len(b))) {
				t.Fatalf("member %q: data offset %d for %d bytes in a %d-byte archive", m.Name, off, m.Size, len(b))
			}
		}
		z.Verify()
	})
}
