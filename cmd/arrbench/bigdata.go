package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// The --bigdata mode: the larger-than-RAM scan of the mmfile issue. A
// sparse float64 .npy of twice the machine's memory (sparse files cost no
// disk) is created in --disk-dir, with one non-zero element at the start of
// every GiB so that the checksum proves the whole file was read. The
// consumer worker maps it and sums every element; its own (anonymous)
// memory must stay small while the page cache churns. For reference, the
// same file is read with cat FILE >/dev/null. The file's cached pages are
// dropped before each of the two reads.

// bigResult is the outcome of the --bigdata scan. The two reads alternate
// (cat, scan, cat, scan, ...) for --repeats rounds (default 2): on virtual
// machines whose memory the host backs lazily, whichever read comes first
// pays for it, so the best round of each is compared.
type bigResult struct {
	File        string  `json:"file"`
	FS          string  `json:"fs"`
	SizeBytes   int64   `json:"size_bytes"`
	MemoryBytes int64   `json:"memory_bytes"`
	Checksum    uint64  `json:"checksum"`
	Verified    bool    `json:"verified"`
	Error       string  `json:"error"`
	CreateNS    int64   `json:"create_ns"`
	OpenNS      int64   `json:"open_ns"`      // of the best scan
	ScanNS      int64   `json:"scan_ns"`      // best scan, open included
	ScanRunsNS  []int64 `json:"scan_runs_ns"` // every scan, open included
	ScanGBps    float64 `json:"scan_gb_per_s"`
	CatTool     string  `json:"cat_tool"`
	CatNS       int64   `json:"cat_ns"` // best cat
	CatRunsNS   []int64 `json:"cat_runs_ns"`
	CatGBps     float64 `json:"cat_gb_per_s"`
	RSSPeak     int64   `json:"consumer_rss_peak_bytes"`  // largest over the scans
	AnonPeak    int64   `json:"consumer_anon_peak_bytes"` // largest over the scans
}

// bigMarks returns the indices and values of the non-zero elements of the
// n-element big array: the first element of each sixteenth (at least one
// element apart), valued 1, 2, 3...
func bigMarks(n int64) (idx []int64, val []float64) {
	stride := max(n/16, 1)
	for i, k := int64(0), 1; i < n && k <= 16; i, k = i+stride, k+1 {
		idx = append(idx, i)
		val = append(val, float64(k))
	}
	return idx, val
}

// defaultBigSize is twice the machine's memory rounded up to a GiB, or
// 8 GiB when the memory is unknown.
func defaultBigSize() int64 {
	m := memTotal()
	if m <= 0 {
		return 8 << 30
	}
	return (2*m + 1<<30 - 1) &^ (1<<30 - 1)
}

// runBigData creates, scans and removes the big file.
func (b *bench) runBigData(size int64) *bigResult {
	n := size / 8
	r := &bigResult{SizeBytes: n * 8, MemoryBytes: memTotal(), FS: fsType(b.cfg.diskDir)}
	path := filepath.Join(b.disk, "bigdata.npy")
	r.File = path
	defer os.Remove(path)

	b.prog.note(fmt.Sprintf("bigdata: creating a sparse %s file", formatSize(r.SizeBytes)))
	t0 := time.Now()
	idx, val := bigMarks(n)
	err := func() error {
		a, err := mmfile.Create(path, &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{int(n)}}, &mmfile.CreateOptions{Sparse: true})
		if err != nil {
			return err
		}
		defer a.Close()
		for i, at := range idx {
			if _, err := a.WriteAt(npy.Bytes([]float64{val[i]}), at*8); err != nil {
				return err
			}
		}
		return a.Publish()
	}()
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.CreateNS = int64(time.Since(t0))
	for _, v := range val {
		r.Checksum += math.Float64bits(v)
	}

	r.CatTool = "cat"
	cat, lerr := exec.LookPath("cat")
	if lerr != nil {
		r.CatTool = "io.Copy to io.Discard (no cat on PATH)"
	}
	rounds := b.cfg.repeats
	if rounds == 0 {
		rounds = 2
	}
	for round := 1; round <= rounds; round++ {
		// Each read starts with none of the file in the page cache.
		if err := dropPageCache(path); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			r.Error = err.Error()
			return r
		}
		b.prog.note(fmt.Sprintf("bigdata round %d/%d: cat %s >/dev/null", round, rounds, formatSize(r.SizeBytes)))
		t1 := time.Now()
		if lerr == nil {
			err = exec.Command(cat, path).Run() // stdout is /dev/null
		} else {
			err = copyToDiscard(path)
		}
		if err != nil {
			r.Error = fmt.Sprintf("cat %s: %v", path, err)
			return r
		}
		r.CatRunsNS = append(r.CatRunsNS, int64(time.Since(t1)))

		if err := dropPageCache(path); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			r.Error = err.Error()
			return r
		}
		b.prog.note(fmt.Sprintf("bigdata round %d/%d: the consumer scans %s through a mapping", round, rounds, formatSize(r.SizeBytes)))
		w, err := b.worker()
		if err == nil {
			_, err = w.exchange(request{Op: "reset"}, nil, b.timeout(0))
		}
		var rep reply
		if err == nil {
			req := request{Op: "run", Transport: "bigdata-scan", DType: "<f8", N: n, Path: path}
			rep, err = w.exchange(req, nil, b.timeout(r.SizeBytes))
		}
		if err != nil {
			r.Error = err.Error()
			return r
		}
		if rep.Checksum != r.Checksum {
			r.Error = fmt.Sprintf("checksum mismatch: the consumer answered %#x, the file sums to %#x", rep.Checksum, r.Checksum)
			return r
		}
		scan := rep.OpenNS + rep.ReadNS
		r.ScanRunsNS = append(r.ScanRunsNS, scan)
		if r.ScanNS == 0 || scan < r.ScanNS {
			r.ScanNS, r.OpenNS = scan, rep.OpenNS
		}
		r.RSSPeak, r.AnonPeak = max(r.RSSPeak, rep.RSSPeak), max(r.AnonPeak, rep.AnonPeak)
	}
	r.Verified = true
	r.CatNS = slices.Min(r.CatRunsNS)
	r.ScanGBps = gbPerSec(r.SizeBytes, time.Duration(r.ScanNS))
	r.CatGBps = gbPerSec(r.SizeBytes, time.Duration(r.CatNS))
	return r
}

func copyToDiscard(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(io.Discard, f, make([]byte, 1<<20))
	return err
}

func init() {
	consumers["bigdata-scan"] = consumeBigScan
}

// consumeBigScan maps the big file for a sequential scan and sums it,
// sampling the process's anonymous memory meanwhile.
func consumeBigScan(w *worker, req *request, _ io.Reader) (reply, error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var anonPeak int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			anonPeak = max(anonPeak, procStatusBytes("RssAnon"))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t0 := time.Now()
	a, err := mmfile.Open(req.Path, mmfile.ReadOnly, &mmfile.Options{Advice: mmfile.AdviceSequential})
	var rep reply
	if err == nil {
		w.release = append(w.release, func() { a.Close() })
		rep, err = sumMapped(a, req, t0)
	}
	close(stop)
	wg.Wait()
	rep.AnonPeak = anonPeak
	return rep, err
}

// writeBigTable prints the --bigdata result.
func (r *bigResult) writeTable(w io.Writer) error {
	ew := &errWriter{w: w}
	ratio := ""
	if r.MemoryBytes > 0 {
		ratio = fmt.Sprintf(" (%.1fx this machine's %s of memory)", float64(r.SizeBytes)/float64(r.MemoryBytes), formatBytes(r.MemoryBytes))
	}
	ew.printf("bigdata: %s sparse float64 .npy%s in %s (%s)\n", formatSize(r.SizeBytes), ratio, filepath.Dir(filepath.Dir(r.File)), r.FS)
	if r.Error != "" {
		ew.printf("  FAILED: %s\n", r.Error)
		return ew.err
	}
	runs := func(v []int64) string {
		var out []string
		for _, x := range v {
			out = append(out, formatDuration(time.Duration(x)))
		}
		return strings.Join(out, " ")
	}
	rows := [][]string{
		{"", "method", "best", "GB/s", "every round", "open", "peak RSS", "peak anon RSS"},
		{"", "mmap scan (consumer process)", formatDuration(time.Duration(r.ScanNS)), sig3(r.ScanGBps), runs(r.ScanRunsNS),
			formatDuration(time.Duration(r.OpenNS)), formatBytes(r.RSSPeak), formatBytes(r.AnonPeak)},
		{"", r.CatTool + " FILE >/dev/null", formatDuration(time.Duration(r.CatNS)), sig3(r.CatGBps), runs(r.CatRunsNS), "-", "-", "-"},
	}
	writeColumns(ew, rows, 2)
	if r.CatNS > 0 {
		ew.printf("best scan throughput / best cat throughput: %sx; every scan's checksum was verified; the file's pages were dropped before each read.\n", sig3(r.ScanGBps/r.CatGBps))
	}
	return ew.err
}

// writeBenchLines prints the --bigdata result as Go benchmark lines.
func (r *bigResult) writeBenchLines(w io.Writer, cores int) error {
	ew := &errWriter{w: w}
	if r.Verified {
		ew.printf("BenchmarkBigdata/size=%s/method=mmap-scan-%d\t%8d\t%12d ns/op\t%10.2f MB/s\n", formatSize(r.SizeBytes), cores, len(r.ScanRunsNS), r.ScanNS, r.ScanGBps*1e3)
	}
	if r.CatNS > 0 {
		ew.printf("BenchmarkBigdata/size=%s/method=cat-%d\t%8d\t%12d ns/op\t%10.2f MB/s\n", formatSize(r.SizeBytes), cores, len(r.CatRunsNS), r.CatNS, r.CatGBps*1e3)
	}
	return ew.err
}
