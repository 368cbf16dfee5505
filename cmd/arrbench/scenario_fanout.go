package main

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// The fanout scenario: one producer hands the same array to K long-lived
// consumer processes at once; each receives it by the transport, sums
// every element and answers; the clock stops at the last answer. While
// every consumer still holds the array the producer sums their PSS
// (/proc/PID/smaps_rollup: shared pages count once across them) and
// notes how much MemAvailable dropped since before the run.

// fanJob is what a transport's producer made for one fanout run.
type fanJob struct {
	req      request
	send     func(*net.UnixConn) error // written after the request to each consumer; nil for nothing
	stored   int64
	producer time.Duration // on the clock: write, encode
	fill     time.Duration // in-place production, off the clock
	cleanup  func()
}

// fanProducers make the job of each Go transport, given the array.
var fanProducers = map[string]func(b *bench, ds *dataSet, n int) (*fanJob, error){
	"pipe-gob": func(b *bench, ds *dataSet, n int) (*fanJob, error) {
		t0 := time.Now()
		var buf bytes.Buffer
		buf.Grow(n*ds.Kind.Size + 1<<10) // no doubling: one encoded copy besides gob's own buffer
		enc := gob.NewEncoder(&buf)
		var err error
		if ds.f64 != nil {
			err = enc.Encode(ds.f64[:n])
		} else {
			err = enc.Encode(ds.i32[:n])
		}
		if err != nil {
			return nil, fmt.Errorf("gob encode: %w", err)
		}
		return &fanJob{
			req:  request{Op: "run", Transport: "pipe-gob", Payload: int64(buf.Len())},
			send: payload(buf.Bytes()), stored: int64(buf.Len()), producer: time.Since(t0),
		}, nil
	},
	"pipe-raw": func(b *bench, ds *dataSet, n int) (*fanJob, error) {
		raw := ds.Bytes(n)
		return &fanJob{req: request{Op: "run", Transport: "pipe-raw", Payload: int64(len(raw))}, send: payload(raw), stored: int64(len(raw))}, nil
	},
	"npy-tmpfs": func(b *bench, ds *dataSet, n int) (*fanJob, error) {
		return fanFile(b, "npy-tmpfs", b.newPath(b.shmRun), func(p string) error { return writeSlice(ds, n, p) })
	},
	"npy-disk": func(b *bench, ds *dataSet, n int) (*fanJob, error) {
		return fanFile(b, "npy-disk", b.newPath(b.disk), func(p string) error { return writeSlice(ds, n, p) })
	},
	"zstd-disk": func(b *bench, ds *dataSet, n int) (*fanJob, error) {
		return fanFile(b, "zstd-disk", b.newPath(b.disk)+".zst", func(p string) error { return writeNpyZst(ds, n, p, b.cfg.zstdLevel) })
	},
	"arrow-tmpfs": func(b *bench, ds *dataSet, n int) (*fanJob, error) {
		return fanFile(b, "arrow-tmpfs", b.newPath(b.shmRun)+".arrow", func(p string) error { return writeArrow(ds, n, p) })
	},
	"npy-tmpfs-inplace": func(b *bench, ds *dataSet, n int) (*fanJob, error) {
		path := b.newPath(b.shmRun)
		t0 := time.Now()
		a, err := createFor(ds, path, n)
		if err != nil {
			return nil, err
		}
		if err := fill(a, ds, n); err != nil {
			a.Close()
			return nil, err
		}
		t1 := time.Now()
		if err := a.Publish(); err != nil {
			a.Close()
			return nil, err
		}
		st, _ := os.Stat(path)
		j := &fanJob{req: request{Op: "run", Transport: "npy-tmpfs-inplace", Path: path}, fill: t1.Sub(t0), producer: time.Since(t1),
			cleanup: func() { a.Close(); os.Remove(path) }}
		if st != nil {
			j.stored = st.Size()
		}
		return j, nil
	},
	"memfd": func(b *bench, ds *dataSet, n int) (*fanJob, error) {
		t0 := time.Now()
		a, err := mmfile.WriteAnon("arrbench", ds.Bytes(n), &npy.Header{DType: dtypeOf(ds), Shape: []int{n}}, producerOptions)
		if err != nil {
			return nil, err
		}
		return &fanJob{req: request{Op: "run", Transport: "memfd"}, send: func(c *net.UnixConn) error { return mmfile.Send(c, a) },
			stored: int64(n*ds.Kind.Size) + headerSize(a), producer: time.Since(t0), cleanup: func() { a.Close() }}, nil
	},
}

// fanFile is the job of a file transport: write the file (on the clock),
// send its name.
func fanFile(b *bench, name, path string, write func(string) error) (*fanJob, error) {
	t0 := time.Now()
	if err := write(path); err != nil {
		os.Remove(path)
		return nil, err
	}
	d := time.Since(t0)
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return &fanJob{req: request{Op: "run", Transport: name, Path: path, Populate: b.cfg.populate}, stored: st.Size(), producer: d,
		cleanup: func() { os.Remove(path) }}, nil
}

func init() { scenarioBuilders[scFanout] = fanoutEntries }

// fanoutEntries lists the fanout rows: the Go transports, Python's, the
// reference.
func fanoutEntries() []*scEntry {
	// gob: the producer's encoded copy and gob's own growing buffers
	// (a 1 GiB row at K=4 was OOM-killed on a 24 GiB machine with the
	// producer at 8.5 GB resident: count 8x); each consumer's message,
	// gob's buffer and the decoded slice.
	gobNeed := func(s int64, k int) int64 { return s*8 + s*int64(k)*3 }
	copies := func(s int64, k int) int64 { return s * int64(k) }
	once := func(s int64, _ int) int64 { return s }
	var es []*scEntry
	for _, name := range []string{"pipe-gob", "pipe-raw", "npy-tmpfs", "npy-tmpfs-inplace", "npy-disk", "zstd-disk", "memfd", "arrow-tmpfs"} {
		var t *transport
		for _, x := range allTransports {
			if x.Name == name {
				t = x
			}
		}
		if t == nil {
			continue
		}
		need := once
		switch name {
		case "pipe-gob":
			need = gobNeed
		case "pipe-raw", "zstd-disk":
			need = copies
		case "npy-disk":
			need = func(int64, int) int64 { return 0 }
		}
		e := &scEntry{name: name, kind: t.Kind, desc: t.Desc, memNeed: need, folder: t.Folder,
			once: func(b *bench, n, k int) (measurement, error) { return b.fanoutOnce(name, n, k) }}
		if t.Unavailable != nil {
			e.unavailable = t.Unavailable
		}
		es = append(es, e)
	}
	for _, py := range []struct{ name, desc string }{
		{"py-pickle", "Python: the array pickled once, sent through K multiprocessing Pipes"},
		{"py-shm", "Python: copied once into a SharedMemory segment, its name sent to K"},
		{"py-npy", "Python: np.save once to the shared folder, K np.load(mmap_mode='r')"},
		{"py-npy-inplace", "Python: open_memmap(mode='w+') filled in place (fill), K np.load(mmap_mode='r')"},
	} {
		name := py.name
		need := once
		if name == "py-pickle" {
			need = func(s int64, k int) int64 { return s*int64(k)*2 + s }
		}
		f := folderShm
		if name == "py-pickle" {
			f = folderNone
		} else if name == "py-shm" {
			f = folderPosixShm
		}
		es = append(es, &scEntry{name: name, kind: kindPython, desc: py.desc, memNeed: func(s int64, k int) int64 { return need(s, k) + s }, folder: f,
			unavailable: pythonUnavailable,
			batch:       func(b *bench, n, k int) ([]measurement, error) { return b.fanoutPython(name, n, k) }})
	}
	es = append(es,
		&scEntry{name: "npy-disk-cold", kind: kindGo, na: "after the first of K consumers the file's pages are in the page cache again: npy-disk measures that"},
		&scEntry{name: "zstd-disk-cold", kind: kindGo, na: "after the first of K consumers the file's pages are in the page cache again: zstd-disk measures that"},
		&scEntry{name: "inproc-sum", kind: kindRef, desc: "K goroutines in the producer each sum the whole slice (no second process)",
			memNeed: func(int64, int) int64 { return 0 }, once: func(b *bench, n, k int) (measurement, error) { return fanoutInProc(b.scs.fanData, n, k) }},
	)
	return es
}

// fanoutOnce makes one fanout run of Go transport name.
func (b *bench) fanoutOnce(name string, n, k int) (measurement, error) {
	ds := b.scs.fanData
	size := int64(n) * int64(ds.Kind.Size)
	ws, err := b.workerPool(k)
	if err != nil {
		return measurement{}, err
	}
	if err := b.resetAll(ws, size); err != nil {
		return measurement{}, fmt.Errorf("preparing the run: %w", err)
	}
	runtime.GC()
	avail0 := memAvailable()
	if name == "pipe-raw" {
		err := b.parallel(ws, func(_ int, w *workerClient) error {
			_, err := w.exchange(request{Op: "prepare", Transport: "pipe-raw", Payload: size}, nil, b.timeout(size))
			return err
		})
		if err != nil {
			return measurement{}, fmt.Errorf("prepare: %w", err)
		}
	}
	t0 := time.Now()
	job, err := fanProducers[name](b, ds, n)
	if err != nil {
		return measurement{}, err
	}
	if job.cleanup != nil {
		defer job.cleanup()
	}
	job.req.DType, job.req.N = ds.Kind.DType, int64(n)
	reps := make([]reply, k)
	err = b.parallel(ws, func(i int, w *workerClient) error {
		var err error
		reps[i], err = w.exchange(job.req, job.send, b.timeout(size))
		return err
	})
	t1 := time.Now()
	if err != nil {
		return measurement{}, err
	}
	m := measurement{Producer: job.producer, Fill: job.fill, Total: t1.Sub(t0) - job.fill, Stored: job.stored}
	want := ds.Checksum(n)
	for i, r := range reps {
		if r.Checksum != want {
			return m, fmt.Errorf("checksum mismatch: consumer %d of %d answered %#x, the data sum to %#x", i+1, k, r.Checksum, want)
		}
		m.Open = max(m.Open, time.Duration(r.OpenNS))
		m.Read = max(m.Read, time.Duration(r.ReadNS))
		m.RSSPeak = max(m.RSSPeak, r.RSSPeak)
	}
	m.Checksum = want
	for _, w := range ws {
		m.ConsumersPSS += processPSS(w.cmd.Process.Pid)
	}
	if avail0 > 0 {
		m.MemDrop = avail0 - memAvailable()
	}
	m.finish()
	return m, nil
}

// fanoutInProc is the reference: k goroutines each sum the whole slice.
func fanoutInProc(ds *dataSet, n, k int) (measurement, error) {
	sums := make([]uint64, k)
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i] = ds.Checksum(n)
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	want := ds.Checksum(n)
	for i, s := range sums {
		if s != want {
			return measurement{}, fmt.Errorf("goroutine %d summed %#x, want %#x", i, s, want)
		}
	}
	return measurement{Read: d, Total: d, Checksum: want}, nil
}

// fanoutPython runs a Python fanout row in arrbench_many.py.
func (b *bench) fanoutPython(name string, n, k int) ([]measurement, error) {
	ds := b.scs.fanData
	size := int64(n) * int64(ds.Kind.Size)
	req := map[string]any{"scenario": scFanout, "transport": name, "workers": k, "n": n, "data_n": n, "dtype": ds.Kind.DType}
	req["warmup_n"] = warmupCap / ds.Kind.Size
	runs, err := b.pythonBatch(req, ds.Bytes(n), size)
	if err != nil {
		return nil, err
	}
	want := ds.Checksum(n)
	var out []measurement
	for _, r := range runs {
		m := measurement{
			Producer: time.Duration(num(r, "producer_ns")), Total: time.Duration(num(r, "total_ns")),
			Open: time.Duration(num(r, "open_ns")), Read: time.Duration(num(r, "read_ns")),
			Fill: time.Duration(num(r, "fill_ns")), Stored: num(r, "stored_bytes"),
			ConsumersPSS: num(r, "consumers_pss_bytes"), MemDrop: num(r, "mem_available_drop_bytes"), Checksum: want,
		}
		cs, _ := r["checksums"].([]any)
		if len(cs) != k {
			return out, fmt.Errorf("python answered %d checksums for %d consumers", len(cs), k)
		}
		for i, c := range cs {
			if got := unum(c); got != want {
				return out, fmt.Errorf("checksum mismatch: consumer %d of %d answered %#x, the data sum to %#x", i+1, k, got, want)
			}
		}
		m.finish()
		out = append(out, m)
	}
	return out, nil
}
