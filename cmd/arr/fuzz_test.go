package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/internal/numprint"
	"github.com/arrfile/arrfile/npy"
)

// FuzzShowFile feeds arbitrary files to the code behind info, checksum and
// show, without run's recover: any input must give output or an error,
// never a panic.
func FuzzShowFile(f *testing.F) {
	for _, dir := range []string{fixtureDir, badDir} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.npy"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) < 1<<16 {
				f.Add(b, "")
				f.Add(b, "1:")
			}
		}
	}
	// Compressed forms: .npy.zst (seekable) and .npz (stored and deflated).
	for _, n := range []string{"f8_le_2d_f.npy", "struct_nested_le.npy", "U3_be_1d.npy"} {
		raw, err := os.ReadFile(fixture(n))
		if err != nil {
			f.Fatal(err)
		}
		var z bytes.Buffer
		if _, err := npyzst.Compress(&z, bytes.NewReader(raw), zstdseek.WithFrameSize(64)); err != nil {
			f.Fatal(err)
		}
		f.Add(z.Bytes(), "")
		for _, deflate := range []bool{false, true} {
			var zb bytes.Buffer
			var opts []npz.WriterOption
			if deflate {
				opts = append(opts, npz.WithDeflate(6))
			}
			w, err := npz.NewWriter(&zb, opts...)
			if err != nil {
				f.Fatal(err)
			}
			m, err := w.Create("a")
			if err != nil {
				f.Fatal(err)
			}
			if _, err := m.Write(raw); err != nil {
				f.Fatal(err)
			}
			if err := m.Close(); err != nil {
				f.Fatal(err)
			}
			if err := w.Close(); err != nil {
				f.Fatal(err)
			}
			f.Add(zb.Bytes(), "-1")
		}
	}
	dir := f.TempDir()
	spillLimit = 16 << 20
	f.Fuzz(func(t *testing.T, b []byte, idx string) {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		hs, err := openArrays(p, openOptions{threads: 1})
		if err != nil {
			return
		}
		defer closeAll(hs)
		for _, a := range hs {
			if a.format != "npy" && a.header.DataSize() > 16<<20 {
				continue // a decompression bomb costs time, not safety
			}
			// A mapped .npy that opened has all its data: reading it cannot
			// fail. Compressed data may still be corrupt.
			mustWork := a.format == "npy"
			if _, err := canonicalSHA256(a); err != nil && mustWork {
				t.Fatalf("checksum of an opened array: %v", err)
			}
			err = a.do(func(r io.ReaderAt, _ []byte) error {
				v := wholeArray(a.header, r)
				if idx != "" {
					var err error
					if v, err = index(v, idx); err != nil {
						return nil
					}
				}
				return numprint.Fprint(io.Discard, v, numprint.Defaults)
			})
			if err != nil && mustWork {
				t.Fatalf("show of an opened array: %v", err)
			}
			_ = a.verify()
		}
	})
}

// FuzzIndex checks that any --index either fails cleanly or selects
// elements inside the array.
func FuzzIndex(f *testing.F) {
	for _, s := range []string{"0", "-1", "3:", ":3", "::2", "::-1", "-3:-1", "5:1:-2", "1:2:3:4", "x"} {
		f.Add(s, uint16(10))
	}
	f.Fuzz(func(t *testing.T, spec string, n uint16) {
		dt, _ := npy.ParseDType("<i4")
		v := wholeArray(&npy.Header{DType: dt, Shape: []int{int(n), 2}}, nil)
		w, err := index(v, spec)
		if err != nil {
			return
		}
		lo, hi := int64(0), int64(n)*8 // byte range of the array
		if len(w.Shape) == 1 {         // an integer index: one row
			if w.Offset < lo || w.Offset+8 > hi {
				t.Fatalf("%q on %d rows: row at %d", spec, n, w.Offset)
			}
			return
		}
		for i := 0; i < w.Shape[0]; i++ {
			off := w.Offset + int64(i)*w.Strides[0]
			if off < lo || off+8 > hi {
				t.Fatalf("%q on %d rows: element %d at %d", spec, n, i, off)
			}
		}
		if w.Shape[0] > int(n) {
			t.Fatalf("%q on %d rows selects %d", spec, n, w.Shape[0])
		}
	})
}

// FuzzParseShape: any --shape either fails or round-trips through the
// Python tuple form.
func FuzzParseShape(f *testing.F) {
	for _, s := range []string{"3,4", "(3, 4)", "5,", "", "()", "-1", "1,,2", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dims, err := parseShape(s)
		if err != nil {
			return
		}
		again, err := parseShape(pyShape(dims))
		if err != nil || len(again) != len(dims) {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, dims, pyShape(dims), again, err)
		}
		for i := range dims {
			if dims[i] != again[i] || dims[i] < 0 {
				t.Fatalf("%q -> %v -> %v", s, dims, again)
			}
		}
		_ = checkSize(dims, 8)
	})
}
