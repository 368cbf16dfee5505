package npyzst

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
	"github.com/klauspost/compress/zstd"
)

// Benchmarks on the three data sets. Sizes default to 64 MiB per
// data set; set ARRFILE_BENCH_MB for larger runs (e.g. 1024 for the 1 GiB
// random-access comparison). Files live on tmpfs (/dev/shm) when it exists,
// so that the comparisons measure compression, not the disk.
//
// Comparisons against the zstd command-line tool are reported as ratios
// measured in the same run: "speedup" is zstd's wall time divided by ours
// (above 1 means we are faster) and "size_ratio" our compressed size
// divided by zstd's.

func benchBytes() int64 {
	mb := int64(64)
	if s := os.Getenv("ARRFILE_BENCH_MB"); s != "" {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil && v > 0 {
			mb = v
		}
	}
	return mb << 20
}

// benchDir returns a directory on tmpfs if possible.
func benchDir(b *testing.B) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "npyzst-bench-")
		if err == nil {
			b.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return b.TempDir()
}

// dataSet names the benchmark data sets.
var dataSets = []string{"normal_f8", "smooth_f8", "walk_i4"}

// genDataSet returns the raw bytes of data set name, about size bytes.
func genDataSet(name string, size int64) (*npy.Header, []byte) {
	rng := rand.New(rand.NewPCG(42, 42))
	switch name {
	case "normal_f8":
		n := int(size / 8)
		b := make([]byte, 8*n)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(rng.NormFloat64()))
		}
		return &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{n}}, b
	case "smooth_f8":
		n := int(size / 8)
		b := make([]byte, 8*n)
		for i := 0; i < n; i++ {
			t := float64(i)
			v := math.Sin(t/1000) + 0.5*math.Sin(t/137+1) + 0.25*math.Cos(t/29)
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(math.Round(v*1000)/1000))
		}
		return &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{n}}, b
	case "walk_i4":
		n := int(size / 4)
		b := make([]byte, 4*n)
		var x int32
		for i := 0; i < n; i++ {
			x += int32(rng.IntN(5)) - 2
			binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
		}
		return &npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{n}}, b
	}
	panic(name)
}

var (
	benchFilesMu sync.Mutex
	benchFiles   = map[string]string{}
)

// benchNpy writes data set name as an .npy file in dir (once per dir).
func benchNpy(b *testing.B, dir, name string) string {
	benchFilesMu.Lock()
	defer benchFilesMu.Unlock()
	key := dir + "/" + name
	if p, ok := benchFiles[key]; ok {
		return p
	}
	h, data := genDataSet(name, benchBytes())
	p := filepath.Join(dir, name+".npy")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w, err := npy.NewWriter(f, h)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	benchFiles[key] = p
	return p
}

func fileSize(b *testing.B, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// runCLI runs the zstd tool and returns its wall time.
func runCLI(b *testing.B, zstdBin string, args ...string) time.Duration {
	start := time.Now()
	out, err := exec.Command(zstdBin, args...).CombinedOutput()
	if err != nil {
		b.Fatalf("zstd %v: %v\n%s", args, err, out)
	}
	return time.Since(start)
}

// BenchmarkCompress compresses each data set's .npy (tmpfs to tmpfs) at
// levels fastest and default, next to `zstd -T2 -1` and `zstd -T2 -3`.
func BenchmarkCompress(b *testing.B) {
	zstdBin := zstdCLI(b)
	dir := benchDir(b)
	for _, ds := range dataSets {
		for _, lv := range []struct {
			level zstd.EncoderLevel
			cli   string
		}{{zstd.SpeedFastest, "-1"}, {zstd.SpeedDefault, "-3"}} {
			b.Run(fmt.Sprintf("%s/%s", ds, lv.level), func(b *testing.B) {
				src := benchNpy(b, dir, ds)
				dst := filepath.Join(dir, ds+".ours.zst")
				ref := filepath.Join(dir, ds+".cli.zst")
				b.SetBytes(fileSize(b, src))
				var ours, cli time.Duration
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					cli += runCLI(b, zstdBin, "-q", "-f", "-T2", lv.cli, src, "-o", ref)
					b.StartTimer()
					start := time.Now()
					if err := CompressFile(dst, src, zstdseek.WithLevel(lv.level)); err != nil {
						b.Fatal(err)
					}
					ours += time.Since(start)
				}
				b.ReportMetric(cli.Seconds()/ours.Seconds(), "speedup")
				b.ReportMetric(float64(fileSize(b, dst))/float64(fileSize(b, ref)), "size_ratio")
				b.ReportMetric(float64(fileSize(b, src))/float64(fileSize(b, dst)), "compression")
			})
		}
	}
}

// BenchmarkCompressPipeline measures what the file pipeline adds to the
// encoder: CompressFile (read the .npy from tmpfs into frame buffers,
// compress, write, publish) next to compressing the same bytes already in
// memory to io.Discard, alternately in the same run. "file_over_mem" near 1
// means the time is the encoder's.
func BenchmarkCompressPipeline(b *testing.B) {
	dir := benchDir(b)
	for _, ds := range dataSets {
		for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault} {
			b.Run(fmt.Sprintf("%s/%s", ds, level), func(b *testing.B) {
				src := benchNpy(b, dir, ds)
				_, data := genDataSet(ds, benchBytes())
				dst := filepath.Join(dir, ds+".pipe.zst")
				b.SetBytes(int64(len(data)))
				var file, mem time.Duration
				for i := 0; i < b.N; i++ {
					start := time.Now()
					if err := CompressFile(dst, src, zstdseek.WithLevel(level)); err != nil {
						b.Fatal(err)
					}
					file += time.Since(start)
					start = time.Now()
					w, err := zstdseek.NewWriter(io.Discard, zstdseek.WithLevel(level))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := w.Write(data); err != nil {
						b.Fatal(err)
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
					mem += time.Since(start)
				}
				b.ReportMetric(file.Seconds()/mem.Seconds(), "file_over_mem")
			})
		}
	}
}

// BenchmarkDecompress decompresses each data set's .npy.zst to a .npy on
// tmpfs, next to `zstd -d` on the same file: "file" writes the output with
// DecompressFile, "array" decompresses into a new mapped array as
// Example_mappedArray does (decompressToArray).
func BenchmarkDecompress(b *testing.B) {
	zstdBin := zstdCLI(b)
	dir := benchDir(b)
	for _, ds := range dataSets {
		b.Run(ds+"/array", func(b *testing.B) {
			src := benchNpy(b, dir, ds)
			zst := filepath.Join(dir, ds+".npy.zst")
			if err := CompressFile(zst, src); err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(dir, ds+".out.npy")
			b.SetBytes(fileSize(b, src))
			var ours, cli time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				cli += runCLI(b, zstdBin, "-q", "-f", "-d", zst, "-o", out)
				os.Remove(out)
				b.StartTimer()
				start := time.Now()
				r, err := Open(zst)
				if err != nil {
					b.Fatal(err)
				}
				a, err := decompressToArray(r, out)
				if err != nil {
					b.Fatal(err)
				}
				a.Close()
				r.Close()
				ours += time.Since(start)
				b.StopTimer()
				os.Remove(out)
				b.StartTimer()
			}
			b.ReportMetric(cli.Seconds()/ours.Seconds(), "speedup")
		})
		b.Run(ds+"/file", func(b *testing.B) {
			src := benchNpy(b, dir, ds)
			zst := filepath.Join(dir, ds+".npy.zst")
			if err := CompressFile(zst, src); err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(dir, ds+".out.npy")
			b.SetBytes(fileSize(b, src))
			var ours, cli time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				cli += runCLI(b, zstdBin, "-q", "-f", "-d", zst, "-o", out)
				os.Remove(out)
				b.StartTimer()
				start := time.Now()
				if err := DecompressFile(out, zst); err != nil {
					b.Fatal(err)
				}
				ours += time.Since(start)
				b.StopTimer()
				os.Remove(out)
				b.StartTimer()
			}
			b.ReportMetric(cli.Seconds()/ours.Seconds(), "speedup")
		})
	}
}

// BenchmarkReadOneElement reads one element from the middle of a .npy.zst,
// next to decompressing the whole file (our parallel decompression to
// io.Discard) in the same run.
func BenchmarkReadOneElement(b *testing.B) {
	dir := benchDir(b)
	for _, ds := range dataSets {
		b.Run(ds, func(b *testing.B) {
			src := benchNpy(b, dir, ds)
			zst := filepath.Join(dir, ds+".npy.zst")
			if err := CompressFile(zst, src); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			r, err := Open(zst)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.WriteTo(io.Discard); err != nil {
				b.Fatal(err)
			}
			r.Close()
			whole := time.Since(start)
			elem := make([]byte, 8)
			b.ResetTimer()
			start = time.Now()
			for i := 0; i < b.N; i++ {
				// Open each time: no frame cache helps.
				r, err := Open(zst)
				if err != nil {
					b.Fatal(err)
				}
				mid := r.Header.NumElements() / 2
				d, err := r.Data()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := d.ReadAt(elem[:r.Header.DType.Size], mid*int64(r.Header.DType.Size)); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
			one := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(whole.Seconds()/one.Seconds(), "speedup_vs_whole")
		})
	}
}
