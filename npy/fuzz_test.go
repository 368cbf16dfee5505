package npy_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/arrfile/arrfile/npy"
)

// addSeeds adds the checked-in NumPy fixtures (good and bad) and a few
// headers made here to the fuzz corpus.
func addSeeds(f *testing.F) {
	for _, pat := range []string{"../testdata/npy/*.npy", "../testdata/bad/*.npy"} {
		files, _ := filepath.Glob(pat)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err == nil && len(b) <= 1<<16 {
				f.Add(b)
			}
		}
	}
	for _, d := range []string{"<f8", ">i2", "|b1", "<U3", "|S2", "<M8[ns]", "[('a', '<i4', (2,)), ('b', [('c', '>f4')])]"} {
		dt, err := npy.ParseDType(d)
		if err != nil {
			f.Fatal(err)
		}
		for _, h := range []*npy.Header{
			{DType: dt, Shape: []int{2, 1}},
			{DType: dt, Shape: []int{2, 1}, FortranOrder: true},
			{DType: dt, Shape: []int{}},
			{DType: dt, Shape: []int{0}},
		} {
			b, err := npy.AppendHeader(nil, h)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(append(b, make([]byte, h.DataSize())...))
		}
	}
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': (((((("))
	f.Add([]byte("\x93NUMPY\x03\x00\x20\x00\x00\x00{'descr':'<f8','shape':(1,),}"))
}

// FuzzReadHeader parses arbitrary bytes as a header. Whatever parses must
// write back (in NumPy's layout) and parse again to the same header.
func FuzzReadHeader(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := npy.ReadHeader(bytes.NewReader(in), npy.WithMaxHeaderSize(1<<16))
		if err != nil {
			return
		}
		if h.DataOffset > int64(len(in)) {
			t.Fatalf("data offset %d beyond input of %d bytes", h.DataOffset, len(in))
		}
		h.Version = npy.Version{}
		b, err := npy.AppendHeader(nil, h)
		if err != nil {
			t.Fatalf("parsed header %v does not write back: %v", h, err)
		}
		if len(b)%64 != 0 {
			t.Fatalf("written header of %d bytes is not aligned", len(b))
		}
		h2, err := npy.ReadHeader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b, err)
		}
		if !h2.DType.Equal(h.DType) || h2.FortranOrder != h.FortranOrder || len(h2.Shape) != len(h.Shape) {
			t.Fatalf("round trip changed the header: %v -> %v", h, h2)
		}
		for i := range h.Shape {
			if h.Shape[i] != h2.Shape[i] {
				t.Fatalf("round trip changed the shape: %v -> %v", h.Shape, h2.Shape)
			}
		}
	})
}

// FuzzRead reads arbitrary bytes as a whole .npy file: header, data, and
// the canonical form, through both the known-size and the streaming path.
// It must never panic, and the two paths must agree.
func FuzzRead(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		data, h, err := npy.ReadAll(bytes.NewReader(in))
		data2, _, err2 := npy.ReadAll(struct{ io.Reader }{bytes.NewReader(in)})
		if (err == nil) != (err2 == nil) {
			t.Fatalf("known-size and streaming reads disagree: %v vs %v", err, err2)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(data, data2) {
			t.Fatal("known-size and streaming reads return different data")
		}
		if int64(len(data)) != h.DataSize() {
			t.Fatalf("got %d data bytes, header says %d", len(data), h.DataSize())
		}
		c, err := canonical(h, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != len(data) {
			t.Fatalf("canonical form has %d bytes, data %d", len(c), len(data))
		}
		if d := h.DType; !d.Structured() && d.Kind == 'f' && d.Size == 8 {
			if _, _, err := npy.Read[float64](bytes.NewReader(in)); err != nil {
				t.Fatalf("ReadAll succeeded but Read[float64] failed: %v", err)
			}
		}
	})
}
