package npz

import (
	"bytes"
	"io"
	"math"
	"testing"
)

// benchArray is 8 MiB of smooth float64 data.
func benchArray() []float64 {
	v := make([]float64, 1<<20)
	for i := range v {
		v[i] = math.Round(math.Sin(float64(i)/500)*1000) / 1000
	}
	return v
}

var benchModes = []struct {
	name string
	opts []WriterOption
}{{"stored", nil}, {"deflate", []WriterOption{WithDeflate(6)}}}

func BenchmarkWrite(b *testing.B) {
	v := benchArray()
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(int64(8 * len(v)))
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				z, err := NewWriter(&buf, mode.opts...)
				if err != nil {
					b.Fatal(err)
				}
				if err := writeArray(z, "v", v); err != nil {
					b.Fatal(err)
				}
				if err := z.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	v := benchArray()
	for _, mode := range benchModes {
		var buf bytes.Buffer
		z, _ := NewWriter(&buf, mode.opts...)
		if err := writeArray(z, "v", v); err != nil {
			b.Fatal(err)
		}
		z.Close()
		data := buf.Bytes()
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(int64(8 * len(v)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := Read[float64](r, "v"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode.name+"/stream", func(b *testing.B) {
			b.SetBytes(int64(8 * len(v)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					b.Fatal(err)
				}
				a, err := r.Open("v")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
