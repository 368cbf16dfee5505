package zstdseek

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// Benchmarks on the three data sets of docs/compression.md (64 MiB each by
// default; ARRFILE_BENCH_MB sets another size, capped at 64 MiB here).

func benchBytes() int64 {
	mb := int64(64)
	if s := os.Getenv("ARRFILE_BENCH_MB"); s != "" {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil && v > 0 {
			mb = v
		}
	}
	return mb << 20
}

// dataSets names the benchmark data sets.
var dataSets = []string{"normal_f8", "smooth_f8", "walk_i4"}

// genData returns about size bytes of data set name: standard normal
// float64, a sum of sines rounded to 3 decimals, or an int32 random walk
// (the same bytes as the npyzst benchmarks' arrays).
func genData(name string, size int64) []byte {
	rng := rand.New(rand.NewPCG(42, 42))
	switch name {
	case "normal_f8":
		n := int(size / 8)
		b := make([]byte, 8*n)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(rng.NormFloat64()))
		}
		return b
	case "smooth_f8":
		n := int(size / 8)
		b := make([]byte, 8*n)
		for i := 0; i < n; i++ {
			t := float64(i)
			v := math.Sin(t/1000) + 0.5*math.Sin(t/137+1) + 0.25*math.Cos(t/29)
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(math.Round(v*1000)/1000))
		}
		return b
	case "walk_i4":
		n := int(size / 4)
		b := make([]byte, 4*n)
		var x int32
		for i := 0; i < n; i++ {
			x += int32(rng.IntN(5)) - 2
			binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
		}
		return b
	}
	panic(name)
}

// BenchmarkFrameSize measures compression and decompression (in memory,
// GOMAXPROCS workers) and the compressed size for several frame sizes, to
// choose DefaultFrameSize.
func BenchmarkFrameSize(b *testing.B) {
	for _, ds := range dataSets {
		data := genData(ds, min(benchBytes(), 64<<20))
		for _, fs := range []int{256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20} {
			for _, lv := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault} {
				b.Run(fmt.Sprintf("%s/%s/frame=%dKiB/compress", ds, lv, fs>>10), func(b *testing.B) {
					b.SetBytes(int64(len(data)))
					var buf bytes.Buffer
					for i := 0; i < b.N; i++ {
						buf.Reset()
						w, _ := NewWriter(&buf, WithFrameSize(fs), WithLevel(lv))
						w.Write(data)
						if err := w.Close(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(len(data))/float64(buf.Len()), "compression")
				})
				b.Run(fmt.Sprintf("%s/%s/frame=%dKiB/decompress", ds, lv, fs>>10), func(b *testing.B) {
					var buf bytes.Buffer
					w, _ := NewWriter(&buf, WithFrameSize(fs), WithLevel(lv))
					w.Write(data)
					w.Close()
					r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
					if err != nil {
						b.Fatal(err)
					}
					defer r.Close()
					out := make([]byte, len(data))
					b.SetBytes(int64(len(data)))
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := r.ReadAt(out, 0); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
