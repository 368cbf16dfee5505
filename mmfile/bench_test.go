//go:build linux

package mmfile

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

// Benchmarks compare against a baseline measured in the same run and
// report the ratio. Sizes: 64 MiB by default (16 MiB with -short), 1 GiB
// with ARRFILE_BENCH_LARGE=1. The larger-than-memory scan runs only with
// ARRFILE_BENCH_HUGE_GIB set (e.g. 48).
//
//	ARRFILE_BENCH_LARGE=1 go test -run '^$' -bench . -benchtime 10x ./mmfile

func benchBytes() int64 {
	switch {
	case os.Getenv("ARRFILE_BENCH_LARGE") != "":
		return 1 << 30
	case testing.Short():
		return 16 << 20
	}
	return 64 << 20
}

func sizeName(n int64) string {
	if n >= 1<<30 {
		return strconv.FormatInt(n>>30, 10) + "GiB"
	}
	return strconv.FormatInt(n>>20, 10) + "MiB"
}

// sum adds up s with four accumulators (the same loop for every contender).
func sum(s []float64) float64 {
	var a, b, c, d float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a += s[i]
		b += s[i+1]
		c += s[i+2]
		d += s[i+3]
	}
	for ; i < len(s); i++ {
		a += s[i]
	}
	return a + b + c + d
}

var benchSink float64

// benchDir is a tmpfs folder for benchmarks: a new folder in
// $ARRFILE_BENCH_SHM if set (for example a tmpfs mounted with huge=always),
// else in /dev/shm.
func benchDir(b *testing.B) string {
	if d := os.Getenv("ARRFILE_BENCH_SHM"); d != "" {
		dir, err := os.MkdirTemp(d, "mmfile-bench-")
		require.NoError(b, err)
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	if !dirWritable("/dev/shm") {
		b.Skip("no /dev/shm")
	}
	return shmDir(b)
}

// BenchmarkOpenLatency opens and closes a 1 KiB and a large array in
// alternation and reports both latencies and their ratio (O(1) open: about
// 1).
func BenchmarkOpenLatency(b *testing.B) {
	dir := benchDir(b)
	large := benchBytes()
	small := filepath.Join(dir, "small.npy")
	big := filepath.Join(dir, "large.npy")
	require.NoError(b, Write(small, make([]float64, 128), nil, nil))
	a, err := Create(big, f8(int(large/8)), nil)
	require.NoError(b, err)
	require.NoError(b, a.Publish())
	require.NoError(b, a.Close())
	b.Run(sizeName(large)+"-vs-1KiB", func(b *testing.B) {
		var tSmall, tLarge time.Duration
		for range b.N {
			for _, p := range []string{small, big} {
				t0 := time.Now()
				x, err := Open(p, ReadOnly, nil)
				d := time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				x.Close()
				if p == small {
					tSmall += d
				} else {
					tLarge += d
				}
			}
		}
		n := float64(b.N)
		b.ReportMetric(float64(tSmall.Nanoseconds())/n, "ns/open-1KiB")
		b.ReportMetric(float64(tLarge.Nanoseconds())/n, "ns/open-large")
		b.ReportMetric(float64(tLarge)/float64(tSmall), "ratio")
	})
}

// BenchmarkFirstRead: a consumer's first full read (Open, then sum of every
// element) of a float64 array just published on tmpfs, with each page-table
// strategy, against the same sum over a Go heap slice that is already
// resident (the in-process limit). ratio = first read / heap sum.
func BenchmarkFirstRead(b *testing.B) {
	dir := benchDir(b)
	size := benchBytes()
	n := int(size / 8)
	path := filepath.Join(dir, "fresh.npy")
	heap := make([]float64, n)
	for i := range heap {
		heap[i] = float64(i & 1023)
	}
	require.NoError(b, Write(path, heap, nil, nil))
	want := sum(heap)
	for _, c := range []struct {
		name string
		pop  PopulateMode
	}{{"fault", PopulateNone}, {"MAP_POPULATE", PopulateMap}, {"MADV_POPULATE_READ", PopulateAdvise}, {"ahead", PopulateAhead}} {
		b.Run(sizeName(size)+"/"+c.name, func(b *testing.B) {
			b.SetBytes(size)
			var tMap, tHeap time.Duration
			for range b.N {
				t0 := time.Now()
				a, err := Open(path, ReadOnly, &Options{Populate: c.pop})
				if err != nil {
					b.Fatal(err)
				}
				s, _ := Slice[float64](a)
				got := sum(s)
				tMap += time.Since(t0)
				a.Close()
				if got != want {
					b.Fatalf("sum %v, want %v", got, want)
				}
				t0 = time.Now()
				benchSink = sum(heap)
				tHeap += time.Since(t0)
			}
			nn := float64(b.N)
			b.ReportMetric(float64(tMap.Nanoseconds())/nn, "ns/first-read")
			b.ReportMetric(float64(tHeap.Nanoseconds())/nn, "ns/heap-sum")
			b.ReportMetric(float64(tMap)/float64(tHeap), "ratio")
		})
	}
}

// BenchmarkProducerWrite: writing an existing Go slice to a published .npy
// on tmpfs (Write) against copying it into a freshly allocated slice of the
// same size. ratio = Write / copy (below 1: Write is faster).
func BenchmarkProducerWrite(b *testing.B) {
	dir := benchDir(b)
	size := benchBytes()
	n := int(size / 8)
	src := make([]float64, n)
	for i := range src {
		src[i] = float64(i)
	}
	path := filepath.Join(dir, "out.npy")
	b.Run(sizeName(size), func(b *testing.B) {
		b.SetBytes(size)
		var tWrite, tCopy time.Duration
		for range b.N {
			t0 := time.Now()
			if err := Write(path, src, nil, nil); err != nil {
				b.Fatal(err)
			}
			tWrite += time.Since(t0)
			os.Remove(path)

			debug.FreeOSMemory() // the next slice is fresh memory from the OS
			t0 = time.Now()
			dst := make([]float64, n)
			copy(dst, src)
			tCopy += time.Since(t0)
			benchSink = dst[n-1]
			dst = nil
			debug.FreeOSMemory()
		}
		nn := float64(b.N)
		b.ReportMetric(float64(tWrite.Nanoseconds())/nn, "ns/write")
		b.ReportMetric(float64(tCopy.Nanoseconds())/nn, "ns/copy")
		b.ReportMetric(float64(tWrite)/float64(tCopy), "ratio")
	})
}

// BenchmarkInPlaceEndToEnd: the producer creates an array on tmpfs, fills
// it in place and publishes it; the consumer opens it and sums it (both in
// this process, through separate mappings), against the heap sum.
func BenchmarkInPlaceEndToEnd(b *testing.B) {
	dir := benchDir(b)
	size := benchBytes()
	n := int(size / 8)
	heap := make([]float64, n)
	for i := range heap {
		heap[i] = 1
	}
	path := filepath.Join(dir, "e2e.npy")
	for _, c := range []struct {
		name string
		pop  PopulateMode
	}{{"fault", PopulateNone}, {"populate", PopulateAdvise}, {"ahead", PopulateAhead}} {
		b.Run(sizeName(size)+"/"+c.name, func(b *testing.B) {
			b.SetBytes(size)
			var tE2E, tHeap time.Duration
			for range b.N {
				t0 := time.Now()
				a, err := Create(path, f8(n), &CreateOptions{Populate: c.pop})
				if err != nil {
					b.Fatal(err)
				}
				s, _ := Slice[float64](a)
				for i := range s {
					s[i] = 1
				}
				if err := a.Publish(); err != nil {
					b.Fatal(err)
				}
				r, err := Open(path, ReadOnly, &Options{Populate: c.pop})
				if err != nil {
					b.Fatal(err)
				}
				rs, _ := Slice[float64](r)
				got := sum(rs)
				tE2E += time.Since(t0)
				r.Close()
				a.Close()
				os.Remove(path)
				if got != float64(n) {
					b.Fatalf("sum %v", got)
				}
				t0 = time.Now()
				benchSink = sum(heap)
				tHeap += time.Since(t0)
			}
			nn := float64(b.N)
			b.ReportMetric(float64(tE2E.Nanoseconds())/nn, "ns/end-to-end")
			b.ReportMetric(float64(tHeap.Nanoseconds())/nn, "ns/heap-sum")
			b.ReportMetric(float64(tE2E)/float64(tHeap), "ratio")
		})
	}
}

// rssAnon returns this process's resident anonymous memory in bytes.
func rssAnon() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "RssAnon:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return -1
}

// peakSampler samples RssAnon until stopped and keeps the maximum.
func peakSampler() (stop func() int64) {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if r := rssAnon(); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		if r := rssAnon(); r > peak.Load() {
			peak.Store(r)
		}
		return peak.Load()
	}
}

// scanWindowed sums a mapped array window by window, dropping each window
// from the page tables and the page cache once it is read, so that neither
// the process nor the page cache grows with the file.
func scanWindowed(a *Array) (float64, error) {
	const window = 256 << 20
	var total float64
	err := a.Do(func(data []byte) error {
		f, _ := a.File()
		for off := 0; off < len(data); off += window {
			end := min(off+window, len(data))
			s, err := npy.View[float64](data[off:end], a.Header().DType)
			if err != nil {
				return err
			}
			total += sum(s)
			a.Advise(AdviceDontNeed, int64(off), int64(end-off))
			unix.Fadvise(int(f.Fd()), a.hdr.DataOffset+int64(off), int64(end-off), unix.FADV_DONTNEED)
		}
		return nil
	})
	return total, err
}

// BenchmarkLargerThanMemory scans a sparse float64 array several times the
// size of memory on disk (ARRFILE_BENCH_HUGE_GIB GiB, in ARRFILE_BENCH_DIR
// or the OS temp folder) end to end, and reports its throughput, that of
// `cat FILE >/dev/null` on the same file, and the peak anonymous RSS.
func BenchmarkLargerThanMemory(b *testing.B) {
	gib, _ := strconv.Atoi(os.Getenv("ARRFILE_BENCH_HUGE_GIB"))
	if gib <= 0 {
		b.Skip("set ARRFILE_BENCH_HUGE_GIB (e.g. 48) to run the larger-than-memory scan")
	}
	dir := os.Getenv("ARRFILE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	size := int64(gib) << 30
	path := filepath.Join(dir, "huge.npy")
	a, err := Create(path, f8(int(size/8)), &CreateOptions{Sparse: true})
	require.NoError(b, err)
	require.NoError(b, a.Publish())
	require.NoError(b, a.Close())
	defer os.Remove(path)

	b.SetBytes(size)
	var tScan, tCat time.Duration
	var peak int64
	for range b.N {
		runtime.GC()
		stop := peakSampler()
		t0 := time.Now()
		r, err := Open(path, ReadOnly, &Options{Advice: AdviceSequential})
		if err != nil {
			b.Fatal(err)
		}
		got, err := scanWindowed(r)
		tScan += time.Since(t0)
		r.Close()
		peak = max(peak, stop())
		if err != nil || got != 0 {
			b.Fatal(got, err)
		}
		t0 = time.Now()
		cmd := exec.Command("sh", "-c", `cat "$1" >/dev/null`, "sh", path)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatal(err, string(out))
		}
		tCat += time.Since(t0)
		f, _ := os.Open(path)
		unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
	}
	nn := float64(b.N)
	b.ReportMetric(float64(size)/1e6/(tScan.Seconds()/nn), "MB/s-scan")
	b.ReportMetric(float64(size)/1e6/(tCat.Seconds()/nn), "MB/s-cat")
	b.ReportMetric(float64(tScan)/float64(tCat), "ratio")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-RssAnon")
}

// TestScanSparseOnDisk is the scaled-down larger-than-memory scan: a 512 MiB
// sparse array on disk is scanned end to end while this process's anonymous
// memory stays small (the data lives in the page cache, dropped window by
// window, never in the heap).
func TestScanSparseOnDisk(t *testing.T) {
	dir := t.TempDir()
	if isMemoryDir(dir) {
		t.Skip("the temporary folder is in memory; a sparse file there would use memory")
	}
	path := filepath.Join(dir, "sparse.npy")
	const size = 512 << 20
	a, err := Create(path, f8(size/8), &CreateOptions{Sparse: true})
	require.NoError(t, err)
	require.NoError(t, a.Publish())
	require.NoError(t, a.Close())
	assert.Less(t, allocated(t, path), int64(1<<20), "the file should be sparse")

	runtime.GC()
	before := rssAnon()
	stop := peakSampler()
	r, err := Open(path, ReadOnly, &Options{Advice: AdviceSequential})
	require.NoError(t, err)
	got, err := scanWindowed(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	peak := stop()
	assert.Zero(t, got)
	assert.Less(t, peak-before, int64(32<<20), "anonymous memory grew by %d bytes while scanning", peak-before)
}
