package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/npy"
)

// zstd-disk: the producer compresses its slice into a seekable .npy.zst in
// --disk-dir (npyzst.Writer: the .npy header alone in the first frame,
// then data frames compressed in parallel) and publishes it; the consumer
// opens it (npyzst.Open), decompresses the data in parallel straight into
// a new slice (Reader.Data's ReadAt) and sums it.

func init() {
	consumers["zstd-disk"] = consumeZstd
	consumers["zstd-disk-cold"] = consumeZstd
	// After memfd, before the Python transports.
	at := 0
	for i, t := range allTransports {
		if t.Name == "memfd" {
			at = i + 1
		}
	}
	zt := []*transport{
		{
			Name:       "zstd-disk",
			Folder:     folderDisk,
			Kind:       kindGo,
			Desc:       "producer compresses its slice to a seekable .npy.zst in --disk-dir (npyzst.Writer, fsync), consumer decompresses it in parallel into a new slice",
			Compressed: true,
			MemNeed:    func(s int64) int64 { return s + 64<<20 },
			Run:        runZstd("zstd-disk", false),
		},
		{
			Name:        "zstd-disk-cold",
			Folder:      folderDisk,
			Kind:        kindGo,
			Desc:        "as zstd-disk, with the file's pages dropped (posix_fadvise DONTNEED) before the hand-off; needs --cold",
			Compressed:  true,
			MemNeed:     func(s int64) int64 { return s + 64<<20 },
			Unavailable: coldUnavailable,
			Run:         runZstd("zstd-disk-cold", true),
		},
	}
	allTransports = append(allTransports[:at], append(zt, allTransports[at:]...)...)
}

// writeNpyZst writes the first n elements of ds as a seekable .npy.zst and
// publishes it as path (temporary file, fsync, rename, folder fsync).
func writeNpyZst(ds *dataSet, n int, path string, level zstd.EncoderLevel) (err error) {
	f, err := atomicfile.Create(path, 0)
	if err != nil {
		return err
	}
	published := false
	defer func() {
		if !published {
			atomicfile.Abandon(f)
		}
	}()
	zw, err := npyzst.NewWriter(f, &npy.Header{DType: dtypeOf(ds), Shape: []int{n}}, zstdseek.WithLevel(level), zstdseek.WithName(path))
	if err != nil {
		return err
	}
	if _, err := zw.Write(ds.Bytes(n)); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	// fsync, rename, folder fsync (on disk); f is closed either way.
	published = true
	return atomicfile.Publish(f, path, false)
}

// runZstd returns the Run function of zstd-disk (cold: with the file's
// pages dropped after the write, off the clock).
func runZstd(name string, cold bool) func(*bench, *dataSet, int) (measurement, error) {
	return func(b *bench, ds *dataSet, n int) (measurement, error) {
		w, err := b.worker()
		if err != nil {
			return measurement{}, err
		}
		path := b.newPath(b.disk) + ".zst"
		defer os.Remove(path)
		req := request{Op: "run", Transport: name, DType: ds.Kind.DType, N: int64(n), Path: path}
		return handOverFile(b, w, req, int64(n)*int64(ds.Kind.Size), cold, func() error { return writeNpyZst(ds, n, path, b.cfg.zstdLevel) })
	}
}

// consumeZstd opens the .npy.zst, decompresses the data in parallel into
// a new slice and sums it.
func consumeZstd(w *worker, req *request, _ io.Reader) (reply, error) {
	t0 := time.Now()
	r, err := npyzst.Open(req.Path, zstdseek.WithConcurrency(runtime.GOMAXPROCS(0)))
	if err != nil {
		return reply{}, err
	}
	w.release = append(w.release, func() { r.Close() })
	h := r.Header
	if h.DType.String() != req.DType || h.NumElements() != req.N || len(h.Shape) != 1 {
		return reply{}, fmt.Errorf("%s holds %v of %s, want (%d,) of %s", req.Path, h.Shape, h.DType, req.N, req.DType)
	}
	var data []byte
	var sum func() uint64
	switch req.DType {
	case "<f8":
		s := make([]float64, req.N)
		data, sum = npy.Bytes(s), func() uint64 { return sumFloat64Bits(s) }
		w.keep = s
	case "<i4":
		s := make([]int32, req.N)
		data, sum = npy.Bytes(s), func() uint64 { return sumInt32(s) }
		w.keep = s
	default:
		return reply{}, fmt.Errorf("unsupported dtype %s", req.DType)
	}
	d, err := r.Data()
	if err != nil {
		return reply{}, err
	}
	if n, err := d.ReadAt(data, 0); n < len(data) {
		return reply{}, err
	}
	t1 := time.Now()
	cs := sum()
	return reply{Checksum: cs, OpenNS: int64(t1.Sub(t0)), ReadNS: int64(time.Since(t1))}, nil
}
