package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// The update scenario: K worker processes each add 1 to --updates random
// counters of one shared array of --counters int64 counters (an .npy in
// --shm-dir that each worker opens read-write), by one method per row. The
// parent then sums the counters: lost updates are the expected total minus
// that sum. The clock runs from sending the K requests to the last answer.

func init() { scenarioBuilders[scUpdate] = updateEntries }

// safeMethod reports whether method must never lose an update.
func safeMethod(method string) bool { return method != "unsynchronized" }

// updateEntries lists the update methods.
func updateEntries() []*scEntry {
	goRow := func(name, desc string, unavailable func(*bench) string) *scEntry {
		return &scEntry{name: name, kind: kindGo, desc: desc, unavailable: unavailable,
			once: func(b *bench, n, k int) (measurement, error) { return b.updateOnce(name, n, k) }}
	}
	return []*scEntry{
		goRow("unsynchronized", "plain loads and stores on the mapped counters (Hogwild-style): updates are lost", nil),
		goRow("atomic", "sync/atomic.AddInt64 on the mapped words", nil),
		goRow("range-locks", fmt.Sprintf("an exclusive byte-range lock (mmfile LockRange) on the block of %d counters around each update", lockBlock), rangeLockUnavailable),
		goRow("file-lock", "an exclusive whole-file lock (mmfile Lock) around each update", fileLockUnavailable),
		{name: "py-shm-lock", kind: kindPython, desc: "Python workers update a SharedMemory NumPy array, each update under one multiprocessing.Lock",
			unavailable: pythonUnavailable, batch: func(b *bench, n, k int) ([]measurement, error) { return b.updatePython(n, k) }},
	}
}

func rangeLockUnavailable(*bench) string {
	if runtime.GOOS != "linux" {
		return "byte-range (OFD) locks are Linux only"
	}
	return ""
}

func fileLockUnavailable(*bench) string {
	if runtime.GOOS == "windows" {
		return "file locks are not available on Windows"
	}
	return ""
}

// updateOnce makes one update run of method with k workers on n counters.
func (b *bench) updateOnce(method string, n, k int) (measurement, error) {
	ws, err := b.workerPool(k)
	if err != nil {
		return measurement{}, err
	}
	path := b.newPath(b.shmRun)
	a, err := mmfile.Create(path, &npy.Header{DType: npy.DTypeOf[int64](), Shape: []int{n}}, producerOptions)
	if err != nil {
		return measurement{}, err
	}
	defer os.Remove(path)
	defer a.Close()
	if err := a.Publish(); err != nil {
		return measurement{}, err
	}
	u := int64(b.cfg.sc.updates)
	if n*8 <= warmupCap && b.scs.warmingUp {
		u = min(u, 1000)
	}
	b.seq++
	seed := uint64(b.seq) << 8
	// Per-update work is tiny: the run is counted in updates, and a
	// timeout of its own.
	timeout := b.cfg.timeout + time.Duration(u)*20*time.Microsecond*time.Duration(k)
	t0 := time.Now()
	err = b.parallel(ws, func(i int, w *workerClient) error {
		_, err := w.exchange(request{Op: "update", Transport: method, Path: path, Seed: seed + uint64(i), Updates: u}, nil, timeout)
		return err
	})
	d := time.Since(t0)
	if err != nil {
		return measurement{}, err
	}
	s, err := mmfile.Slice[int64](a)
	if err != nil {
		return measurement{}, err
	}
	var observed int64
	for _, v := range s {
		observed += v
	}
	total := u * int64(k)
	m := measurement{Total: d, Handoff: d, Updates: total, Lost: total - observed, Checksum: uint64(observed)}
	if safeMethod(method) && m.Lost != 0 {
		return m, fmt.Errorf("%s lost %d of %d updates", method, m.Lost, total)
	}
	return m, nil
}

// updatePython runs the Python update row in arrbench_many.py.
func (b *bench) updatePython(n, k int) ([]measurement, error) {
	req := map[string]any{"scenario": scUpdate, "transport": "py-shm-lock", "workers": k, "counters": n, "updates": b.cfg.sc.updates}
	runs, err := b.pythonBatch(req, nil, int64(n)*8)
	if err != nil {
		return nil, err
	}
	var out []measurement
	for _, r := range runs {
		d := time.Duration(num(r, "total_ns"))
		total, observed := num(r, "updates"), num(r, "observed")
		m := measurement{Total: d, Handoff: d, Updates: total, Lost: total - observed, Checksum: uint64(observed)}
		if m.Lost != 0 {
			return out, fmt.Errorf("py-shm-lock lost %d of %d updates", m.Lost, total)
		}
		out = append(out, m)
	}
	return out, nil
}
