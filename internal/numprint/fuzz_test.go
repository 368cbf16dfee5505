package numprint_test

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/arrfile/arrfile/internal/numprint"
	"github.com/arrfile/arrfile/npy"
)

// FuzzFprint prints arbitrary .npy files whose data is all there (as
// arr show prints a mapped file) with any options, whole and with the
// first axis reversed: it must print, never fail or panic.
func FuzzFprint(f *testing.F) {
	for _, dir := range []string{"../../testdata/npy", "../../testdata/bad"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.npy"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) < 1<<16 {
				f.Add(b, int16(1000), uint8(3), uint8(75), false)
				f.Add(b, int16(4), uint8(1), uint8(20), true)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, threshold int16, edge, width uint8, reverse bool) {
		r := bytes.NewReader(b)
		h, err := npy.ReadHeader(r)
		if err != nil || h.DataSize() > int64(r.Len()) || h.DataSize() > 1<<20 {
			return
		}
		opt := numprint.Options{Threshold: int64(threshold), EdgeItems: int(edge % 8), LineWidth: 1 + int(width)}
		if threshold < 0 {
			opt.Threshold = math.MaxInt64
		}
		data := b[len(b)-r.Len():]
		a := numprint.Array{DType: h.DType, Shape: h.Shape, Data: bytes.NewReader(data)}
		for _, s := range h.Strides() {
			a.Strides = append(a.Strides, int64(s))
		}
		if reverse && len(a.Shape) > 0 && a.Shape[0] > 0 {
			a.Offset = int64(a.Shape[0]-1) * a.Strides[0]
			a.Strides = append([]int64{-a.Strides[0]}, a.Strides[1:]...)
		}
		if err := numprint.Fprint(io.Discard, a, opt); err != nil {
			t.Fatalf("%v %v: %v", h.DType, h.Shape, err)
		}
	})
}
