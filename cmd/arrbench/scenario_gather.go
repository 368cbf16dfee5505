package main

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// The gather scenario: K worker processes each compute a part of one
// float64 result (element i is gatherValue(i)) and the parent ends holding
// the whole array, whose every element it then checks (off the clock). The
// parts are the row ranges of mmfile.Split. The clock runs from the parent
// making the result (or its buffer) until the last part has arrived.

func init() { scenarioBuilders[scGather] = gatherEntries }

// gatherEntries lists the gather rows.
func gatherEntries() []*scEntry {
	one := func(s int64, _ int) int64 { return s }
	two := func(s int64, _ int) int64 { return 2 * s }
	gobNeed := func(s int64, _ int) int64 { return 4 * s }
	goRow := func(name, desc string, need func(int64, int) int64, unavailable func(*bench) string) *scEntry {
		f := folderNone
		switch name {
		case "npy-tmpfs-inplace", "arrow-tmpfs":
			f = folderShm
		case "npy-disk-inplace":
			f = folderDisk
		}
		return &scEntry{name: name, kind: kindGo, desc: desc, memNeed: need, unavailable: unavailable, folder: f,
			once: func(b *bench, n, k int) (measurement, error) { return b.gatherOnce(name, n, k) }}
	}
	pyRow := func(name, desc string, need func(int64, int) int64) *scEntry {
		f := folderShm
		if name == "py-shm" {
			f = folderPosixShm
		}
		return &scEntry{name: name, kind: kindPython, desc: desc, memNeed: need, unavailable: pythonUnavailable, folder: f,
			batch: func(b *bench, n, k int) ([]measurement, error) { return b.gatherPython(name, n, k) }}
	}
	return []*scEntry{
		goRow("npy-tmpfs-inplace", "in place: the parent creates and publishes the result .npy in --shm-dir, workers open it read-write by name and write their rows", one, nil),
		goRow("npy-disk-inplace", "in place as npy-tmpfs-inplace, the result in --disk-dir, synced (msync) by the parent at the end", one, nil),
		goRow("memfd", "in place: the parent creates an anonymous array and sends its descriptor, workers map it read-write and write their rows", one, memfdUnavailable),
		goRow("pipe-gob", "workers send their part gob-encoded through the socket, the parent decodes each into its result", gobNeed, nil),
		goRow("pipe-raw", "workers send their part's raw bytes through the socket straight into the parent's result", two, nil),
		goRow("arrow-tmpfs", "workers write their part as an Arrow IPC file in --shm-dir, the parent maps the K files: a chunked array, zero-copy", two, nil),
		pyRow("py-pool", "Python multiprocessing.Pool.map returning pickled parts, copied into the parent's result", func(s int64, _ int) int64 { return 4 * s }),
		pyRow("py-shm", "Python workers write their rows into a SharedMemory result", one),
		pyRow("py-npy-inplace", "Python: the parent creates open_memmap(w+), workers np.load(mmap_mode='r+') and write their rows", one),
		{name: "npy-tmpfs", kind: kindGo, na: "writing a part means writing a file: the parent would hold K arrays, not one (npy-tmpfs-inplace writes the one result in place)"},
		{name: "zstd-disk", kind: kindGo, na: "a compressed file cannot be written in parts by several processes"},
		{name: "py-pickle", kind: kindPython, na: "multiprocessing's pickling of results is py-pool"},
		{name: "inproc-fill", kind: kindRef, desc: "K goroutines in the parent write their rows of one slice (no second process)",
			memNeed: one, once: func(b *bench, n, k int) (measurement, error) { return gatherInProc(n, k) }},
	}
}

// resultOptions create the result the workers fill: reserved (a full
// tmpfs fails at create, not with SIGBUS in a worker) but not populated,
// since the parent does not touch it before the workers are done.
var resultOptions = &mmfile.CreateOptions{Populate: mmfile.PopulateNone}

// gatherHeader is the result's header.
func gatherHeader(n int) *npy.Header {
	return &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{n}}
}

// gatherRanges are the parts of a result of n elements for k workers, in
// elements.
func gatherRanges(h *npy.Header, k int, a *mmfile.Array) ([][2]int64, error) {
	var rs []mmfile.Range
	var err error
	if a != nil {
		rs, err = mmfile.Split(a.Header(), k)
	} else {
		hb, herr := npy.AppendHeader(nil, h)
		if herr != nil {
			return nil, herr
		}
		hh := *h
		hh.DataOffset = int64(len(hb))
		rs, err = mmfile.Split(&hh, k)
	}
	if err != nil {
		return nil, err
	}
	out := make([][2]int64, len(rs))
	for i, r := range rs {
		out[i] = [2]int64{r.Off / 8, (r.Off + r.Len) / 8}
	}
	return out, nil
}

// checkGather checks every element of a gather result.
func checkGather(s []float64, n int) error {
	if len(s) != n {
		return fmt.Errorf("the result holds %d elements, want %d", len(s), n)
	}
	for i, v := range s {
		if v != gatherValue(int64(i)) {
			return fmt.Errorf("element %d of the result is %v, want %v", i, v, gatherValue(int64(i)))
		}
	}
	return nil
}

// gatherOnce makes one gather run of Go transport name with k workers.
func (b *bench) gatherOnce(name string, n, k int) (measurement, error) {
	size := int64(n) * 8
	h := gatherHeader(n)
	ws, err := b.workerPool(k)
	if err != nil {
		return measurement{}, err
	}
	if err := b.resetAll(ws, size); err != nil {
		return measurement{}, fmt.Errorf("preparing the run: %w", err)
	}
	var result []float64
	var cleanup []func()
	defer func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}()
	ask := func(ranges [][2]int64, req func(i int) request, send func(i int) func(*net.UnixConn) error,
		recv func(i int, w *workerClient, rep reply) error) error {
		return b.parallel(ws[:len(ranges)], func(i int, w *workerClient) error {
			q := req(i)
			q.Op, q.Transport, q.Lo, q.Hi = "gather", name, ranges[i][0], ranges[i][1]
			var s func(*net.UnixConn) error
			if send != nil {
				s = send(i)
			}
			rep, err := w.exchange(q, s, b.timeout(size))
			if err == nil && recv != nil {
				w.conn.SetDeadline(time.Now().Add(b.timeout(size)))
				if err = recv(i, w, rep); err != nil {
					w.kill()
					err = w.explain(err)
				}
			}
			return err
		})
	}
	noReq := func(int) request { return request{} }
	var stored int64
	var t0 time.Time
	switch name {
	case "npy-tmpfs-inplace", "npy-disk-inplace":
		dir := b.shmRun
		if name == "npy-disk-inplace" {
			dir = b.disk
		}
		path := b.newPath(dir)
		t0 = time.Now()
		a, err := mmfile.Create(path, h, resultOptions)
		if err != nil {
			return measurement{}, err
		}
		cleanup = append(cleanup, func() { a.Close(); os.Remove(path) })
		if err := a.Publish(); err != nil {
			return measurement{}, err
		}
		ranges, err := gatherRanges(h, k, a)
		if err != nil {
			return measurement{}, err
		}
		if err := ask(ranges, func(int) request { return request{Path: path} }, nil, nil); err != nil {
			return measurement{}, err
		}
		if dir == b.disk {
			if err := a.Sync(); err != nil {
				return measurement{}, err
			}
		}
		if result, err = mmfile.Slice[float64](a); err != nil {
			return measurement{}, err
		}
		stored = size + headerSize(a)
	case "memfd":
		t0 = time.Now()
		a, err := mmfile.CreateAnon("arrbench-gather", h, resultOptions)
		if err != nil {
			return measurement{}, err
		}
		cleanup = append(cleanup, func() { a.Close() })
		ranges, err := gatherRanges(h, k, a)
		if err != nil {
			return measurement{}, err
		}
		send := func(int) func(*net.UnixConn) error { return func(c *net.UnixConn) error { return mmfile.Send(c, a) } }
		if err := ask(ranges, noReq, send, nil); err != nil {
			return measurement{}, err
		}
		if result, err = mmfile.Slice[float64](a); err != nil {
			return measurement{}, err
		}
		stored = size + headerSize(a)
	case "pipe-gob", "pipe-raw":
		ranges, err := gatherRanges(h, k, nil)
		if err != nil {
			return measurement{}, err
		}
		t0 = time.Now()
		result = make([]float64, n)
		var mu sync.Mutex
		recv := func(i int, w *workerClient, rep reply) error {
			lo, hi := ranges[i][0], ranges[i][1]
			mu.Lock()
			stored += rep.Payload
			mu.Unlock()
			if name == "pipe-raw" {
				if rep.Payload != (hi-lo)*8 {
					return fmt.Errorf("worker sent %d bytes for %d elements", rep.Payload, hi-lo)
				}
				_, err := io.ReadFull(w.conn, npy.Bytes(result[lo:hi]))
				return err
			}
			msg := make([]byte, rep.Payload)
			if _, err := io.ReadFull(w.conn, msg); err != nil {
				return err
			}
			var part []float64
			if err := gob.NewDecoder(bytes.NewReader(msg)).Decode(&part); err != nil {
				return fmt.Errorf("gob decode: %w", err)
			}
			if int64(len(part)) != hi-lo {
				return fmt.Errorf("worker sent %d elements for %d", len(part), hi-lo)
			}
			copy(result[lo:hi], part)
			return nil
		}
		if err := ask(ranges, noReq, nil, recv); err != nil {
			return measurement{}, err
		}
	case "arrow-tmpfs":
		ranges, err := gatherRanges(h, k, nil)
		if err != nil {
			return measurement{}, err
		}
		b.seq++
		paths := make([]string, len(ranges))
		for i := range paths {
			paths[i] = filepath.Join(b.shmRun, fmt.Sprintf("gather%d-%d.arrow", b.seq, i))
			p := paths[i]
			cleanup = append(cleanup, func() { os.Remove(p) })
		}
		t0 = time.Now()
		if err := ask(ranges, func(i int) request { return request{Path: paths[i]} }, nil, nil); err != nil {
			return measurement{}, err
		}
		chunks := make([][]float64, len(paths))
		for i, p := range paths {
			v, closeFn, st, err := mapArrowF64(p)
			if err != nil {
				return measurement{}, err
			}
			cleanup = append(cleanup, closeFn)
			chunks[i], stored = v, stored+st
		}
		d := time.Since(t0)
		// The parent holds a chunked array; check each chunk in place.
		for i, c := range chunks {
			lo := ranges[i][0]
			for j, v := range c {
				if v != gatherValue(lo+int64(j)) {
					return measurement{}, fmt.Errorf("element %d of the result is %v, want %v", lo+int64(j), v, gatherValue(lo+int64(j)))
				}
			}
			if int64(len(c)) != ranges[i][1]-lo {
				return measurement{}, fmt.Errorf("part %d holds %d elements, want %d", i, len(c), ranges[i][1]-lo)
			}
		}
		return measurement{Total: d, Handoff: d, Stored: stored, Checksum: gatherChecksum(n)}, nil
	default:
		return measurement{}, fmt.Errorf("gather: no producer for %q", name)
	}
	d := time.Since(t0)
	if err := checkGather(result, n); err != nil {
		return measurement{}, err
	}
	return measurement{Total: d, Handoff: d, Stored: stored, Checksum: gatherChecksum(n)}, nil
}

// gatherInProc is the reference: k goroutines write their rows of one
// new slice.
func gatherInProc(n, k int) (measurement, error) {
	ranges, err := gatherRanges(gatherHeader(n), k, nil)
	if err != nil {
		return measurement{}, err
	}
	t0 := time.Now()
	s := make([]float64, n)
	var wg sync.WaitGroup
	for _, r := range ranges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fillGather(s[r[0]:r[1]], r[0])
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	if err := checkGather(s, n); err != nil {
		return measurement{}, err
	}
	return measurement{Total: d, Handoff: d, Checksum: gatherChecksum(n)}, nil
}

// gatherPython runs a Python gather row in arrbench_many.py.
func (b *bench) gatherPython(name string, n, k int) ([]measurement, error) {
	ranges, err := gatherRanges(gatherHeader(n), k, nil)
	if err != nil {
		return nil, err
	}
	req := map[string]any{"scenario": scGather, "transport": name, "workers": k, "n": n, "ranges": ranges}
	runs, err := b.pythonBatch(req, nil, int64(n)*8)
	if err != nil {
		return nil, err
	}
	want := gatherChecksum(n)
	var out []measurement
	for _, r := range runs {
		if ok, _ := r["verified"].(bool); !ok {
			return out, fmt.Errorf("the Python parent's result is not the expected array")
		}
		if got := unum(r["checksum"]); got != want {
			return out, fmt.Errorf("checksum mismatch: the Python result sums to %#x, want %#x", got, want)
		}
		d := time.Duration(num(r, "total_ns"))
		out = append(out, measurement{Total: d, Handoff: d, Checksum: want})
	}
	return out, nil
}
