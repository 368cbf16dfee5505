package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/codec"
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
		if _, err := codec.CompressNpy(&z, bytes.NewReader(raw), codec.WithFrameSize(64)); err != nil {
			f.Fatal(err)
		}
		f.Add(z.Bytes(), "")
		for _, deflate := range []bool{false, true} {
			var zb bytes.Buffer
			w, err := codec.NewNpzWriter(&zb, codec.WithDeflate(deflate))
			if err != nil {
				f.Fatal(err)
			}
			if err := w.CopyNpy("a", bytes.NewReader(raw)); err != nil {
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
	f.Fuzz(func(t *testing.T, b []byte, index string) {
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
				v := newView(a.header, r)
				if index != "" {
					var err error
					if v, err = v.index(index); err != nil {
						return nil
					}
				}
				_, err := formatView(v, defaultPrint)
				return err
			})
			if err != nil && mustWork {
				t.Fatalf("show of an opened array: %v", err)
			}
			_ = a.verify()
		}
	})
}

// FuzzDragon4 checks the shortest ("unique") digits of float64 and float32
// values against strconv's shortest formatting, which is correct by a
// different algorithm.
func FuzzDragon4(f *testing.F) {
	for _, v := range []float64{0, 1, 0.1, 1e-300, 5e-324, math.MaxFloat64, 123456789, 2.5, 1.0 / 3} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		check := func(p floatParts, want string) {
			digits, exp := dragon4(&p, true, false, -1, -1)
			// strconv 'e' with -1 precision: d[.ddd]e±XX
			mant, e, _ := strings.Cut(want, "e")
			wantDigits := strings.TrimRight(strings.Replace(mant, ".", "", 1), "0")
			if wantDigits == "" {
				wantDigits = "0"
			}
			wantExp, _ := strconv.Atoi(e)
			if string(digits) != wantDigits || (wantDigits != "0" && exp != wantExp) {
				t.Fatalf("%s: dragon4 gives %s e%d", want, digits, exp)
			}
		}
		p := decodeIEEE(bits, 11, 52)
		if p.finite() {
			check(p, strconv.FormatFloat(math.Abs(math.Float64frombits(bits)), 'e', -1, 64))
		}
		b32 := uint32(bits)
		p = decodeIEEE(uint64(b32), 8, 23)
		if p.finite() {
			check(p, strconv.FormatFloat(float64(float32(math.Abs(float64(math.Float32frombits(b32))))), 'e', -1, 32))
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
		v := newView(&npy.Header{DType: dt, Shape: []int{int(n), 2}}, nil)
		w, err := v.index(spec)
		if err != nil {
			return
		}
		lo, hi := int64(0), int64(n)*8 // byte range of the array
		if len(w.shape) == 1 {         // an integer index: one row
			if w.offset < lo || w.offset+8 > hi {
				t.Fatalf("%q on %d rows: row at %d", spec, n, w.offset)
			}
			return
		}
		for i := 0; i < w.shape[0]; i++ {
			off := w.offset + int64(i)*w.strides[0]
			if off < lo || off+8 > hi {
				t.Fatalf("%q on %d rows: element %d at %d", spec, n, i, off)
			}
		}
		if w.shape[0] > int(n) {
			t.Fatalf("%q on %d rows selects %d", spec, n, w.shape[0])
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
