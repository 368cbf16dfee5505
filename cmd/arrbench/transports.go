package main

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Transport kinds.
const (
	kindGo     = "go"        // Go producer, Go consumer worker
	kindPython = "python"    // arrbench.py producer and consumer
	kindRef    = "reference" // in-process, no second process: the physical limit
)

// transport is one way of handing an array to another process.
type transport struct {
	Name string
	Kind string
	Desc string
	// Compressed transports report their size ratio in the table.
	Compressed bool
	// Remote transports run only with --remote (transport_remote.go).
	Remote bool
	// Folder is where the transport's files live, whose free space must
	// hold the array (folderNone for transports without files).
	Folder folder
	// MemNeed estimates the memory (RAM or tmpfs) one run of an array of
	// size bytes needs beyond the producer's own copy of the data, for the
	// producer and the consumer together (for Python, beyond the Python
	// producer's copy of the data set too).
	MemNeed func(size int64) int64
	// Unavailable says why the transport cannot run in this benchmark ("" if
	// it can).
	Unavailable func(b *bench) string
	// Run hands the first n elements of ds to the consumer once and returns
	// what it measured, including the consumer's checksum.
	Run func(b *bench, ds *dataSet, n int) (measurement, error)
}

// folder names the places transports write files to.
type folder int

const (
	folderNone     folder = iota
	folderShm             // --shm-dir
	folderDisk            // --disk-dir
	folderPosixShm        // where POSIX shared memory objects live (/dev/shm on Linux)
)

// path returns the folder's path in this run, "" if it has none.
func (f folder) path(cfg *config) string {
	switch f {
	case folderShm:
		return cfg.shmDir
	case folderDisk:
		return cfg.diskDir
	case folderPosixShm:
		return sharedMemoryDir
	}
	return ""
}

// measurement is one timed hand-off. Total runs from the producer starting
// the hand-off to the consumer's answer arriving, minus Fill; Handoff is
// what remains of Total after Producer, Open and Read.
type measurement struct {
	Producer time.Duration `json:"producer_ns"` // write, encode or compress
	Fill     time.Duration `json:"fill_ns"`     // in-place production (not part of Total)
	Handoff  time.Duration `json:"handoff_ns"`  // passing bytes or a name, and the answer back
	Open     time.Duration `json:"open_ns"`     // consumer making it usable: decode, map, decompress
	Read     time.Duration `json:"read_ns"`     // consumer reading every element
	Total    time.Duration `json:"total_ns"`    // end to end
	RSSPeak  int64         `json:"consumer_rss_peak_bytes"`
	Stored   int64         `json:"stored_bytes"` // bytes sent or written
	Checksum uint64        `json:"checksum"`

	// Scenarios other than handoff (see scenario.go).
	ConsumersPSS int64         `json:"consumers_pss_bytes,omitempty"`      // fanout: sum of the consumers' PSS while they hold the array
	MemDrop      int64         `json:"mem_available_drop_bytes,omitempty"` // fanout: MemAvailable before the run minus while the consumers hold the array
	Updates      int64         `json:"updates,omitempty"`                  // update: increments made by all workers
	Lost         int64         `json:"lost_updates,omitempty"`             // update: Updates minus the counters' sum
	Latency      time.Duration `json:"latency_ns,omitempty"`               // stream: median end-to-end time of one array in the round
}

// finish computes Handoff from the other phases.
func (m *measurement) finish() {
	m.Handoff = m.Total - m.Producer - m.Open - m.Read
	if m.Handoff < 0 {
		m.Handoff = 0
	}
}

// allTransports lists every transport this build offers, in the order of
// the issue. Transports whose packages are not written yet are absent.
var allTransports = []*transport{
	{
		Name:    "pipe-gob",
		Kind:    kindGo,
		Desc:    "encoding/gob through the Unix socket into a new slice (the baseline, like pickling)",
		MemNeed: func(s int64) int64 { return s*9/8*2 + s }, // encoded buffer on each side, decoded slice
		Run:     runPipeGob,
	},
	{
		Name:    "pipe-raw",
		Kind:    kindGo,
		Desc:    "raw bytes through the Unix socket into a preallocated slice",
		MemNeed: func(s int64) int64 { return s },
		Run:     runPipeRaw,
	},
	{
		Name:        "py-pickle",
		Kind:        kindPython,
		Desc:        "Python multiprocessing: array pickled through a Pipe",
		MemNeed:     func(s int64) int64 { return 3 * s }, // pickle, received bytes, new array
		Unavailable: pythonUnavailable,
		Run:         pythonRun("py-pickle"),
	},
	{
		Name:        "py-shm",
		Folder:      folderPosixShm,
		Kind:        kindPython,
		Desc:        "Python multiprocessing.shared_memory.SharedMemory, name passed",
		MemNeed:     func(s int64) int64 { return s },
		Unavailable: pythonUnavailable,
		Run:         pythonRun("py-shm"),
	},
	{
		Name:        "py-npy",
		Folder:      folderShm,
		Kind:        kindPython,
		Desc:        "Python np.save to the shared folder, np.load(mmap_mode='r')",
		MemNeed:     func(s int64) int64 { return s },
		Unavailable: pythonUnavailable,
		Run:         pythonRun("py-npy"),
	},
	{
		Name:        "py-npy-inplace",
		Folder:      folderShm,
		Kind:        kindPython,
		Desc:        "Python open_memmap(mode='w+') filled in place, np.load(mmap_mode='r')",
		MemNeed:     func(s int64) int64 { return s },
		Unavailable: pythonUnavailable,
		Run:         pythonRun("py-npy-inplace"),
	},
	{
		Name:    "inproc-copy",
		Kind:    kindRef,
		Desc:    "copy of the array into a preallocated slice in the producer",
		MemNeed: func(s int64) int64 { return s },
		Run:     runCopy,
	},
	{
		Name:    "inproc-clone",
		Kind:    kindRef,
		Desc:    "copy of the array into a newly allocated slice (slices.Clone) in the producer, page faults included",
		MemNeed: func(s int64) int64 { return s },
		Run:     runClone,
	},
	{
		Name:    "inproc-sum",
		Kind:    kindRef,
		Desc:    "the consumer's sum run by the producer on its own array",
		MemNeed: func(int64) int64 { return 0 },
		Run:     runSum,
	},
}

// selectTransports applies --only and --skip. Both take transport names
// and the groups "go", "python" and "reference" (or "ref").
func selectTransports(all []*transport, only, skip string) ([]*transport, error) {
	match := func(list string) (map[string]bool, error) {
		m := map[string]bool{}
		for _, f := range strings.Split(list, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if f == "ref" {
				f = kindRef
			}
			found := false
			for _, t := range all {
				if t.Name == f || t.Kind == f {
					m[t.Name] = true
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("unknown transport %q (have %s, and the groups go, python, reference)", f, transportNames(all))
			}
		}
		return m, nil
	}
	o, err := match(only)
	if err != nil {
		return nil, err
	}
	s, err := match(skip)
	if err != nil {
		return nil, err
	}
	var out []*transport
	for _, t := range all {
		if (len(o) == 0 || o[t.Name]) && !s[t.Name] {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--only %q --skip %q leave no transport", only, skip)
	}
	return out, nil
}

func transportNames(ts []*transport) string {
	var n []string
	for _, t := range ts {
		n = append(n, t.Name)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// runPipeGob: the producer gob-encodes the slice into a message (as
// multiprocessing pickles), sends it; the consumer receives the message,
// decodes a new slice and sums it.
func runPipeGob(b *bench, ds *dataSet, n int) (measurement, error) {
	w, err := b.worker()
	if err != nil {
		return measurement{}, err
	}
	t0 := time.Now()
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if ds.f64 != nil {
		err = enc.Encode(ds.f64[:n])
	} else {
		err = enc.Encode(ds.i32[:n])
	}
	if err != nil {
		return measurement{}, fmt.Errorf("gob encode: %w", err)
	}
	t1 := time.Now()
	req := request{Op: "run", Transport: "pipe-gob", DType: ds.Kind.DType, N: int64(n), Payload: int64(buf.Len())}
	rep, err := w.exchange(req, payload(buf.Bytes()), b.timeout(int64(buf.Len())))
	t2 := time.Now()
	if err != nil {
		return measurement{}, err
	}
	return fromReply(rep, t1.Sub(t0), t2.Sub(t0), int64(buf.Len())), nil
}

// runPipeRaw: the producer writes the slice's bytes to the socket; the
// consumer reads them into a buffer it allocated and faulted in before the
// clock started, and sums them.
func runPipeRaw(b *bench, ds *dataSet, n int) (measurement, error) {
	w, err := b.worker()
	if err != nil {
		return measurement{}, err
	}
	raw := ds.Bytes(n)
	if _, err := w.exchange(request{Op: "prepare", Transport: "pipe-raw", Payload: int64(len(raw))}, nil, b.timeout(int64(len(raw)))); err != nil {
		return measurement{}, fmt.Errorf("prepare: %w", err)
	}
	t0 := time.Now()
	req := request{Op: "run", Transport: "pipe-raw", DType: ds.Kind.DType, N: int64(n), Payload: int64(len(raw))}
	rep, err := w.exchange(req, payload(raw), b.timeout(int64(len(raw))))
	t1 := time.Now()
	if err != nil {
		return measurement{}, err
	}
	return fromReply(rep, 0, t1.Sub(t0), int64(len(raw))), nil
}

// fromReply builds a measurement from the producer's own timings and the
// consumer's reply.
func fromReply(rep reply, producer, total time.Duration, stored int64) measurement {
	m := measurement{
		Producer: producer,
		Open:     time.Duration(rep.OpenNS),
		Read:     time.Duration(rep.ReadNS),
		Total:    total,
		RSSPeak:  rep.RSSPeak,
		Stored:   stored,
		Checksum: rep.Checksum,
	}
	m.finish()
	return m
}

// runCopy copies the array into a slice allocated and faulted in before
// the clock starts: memory bandwidth, the floor of any copying transport.
func runCopy(_ *bench, ds *dataSet, n int) (measurement, error) {
	src := ds.Bytes(n)
	dst := make([]byte, len(src))
	for i := 0; i < len(dst); i += 4096 {
		dst[i] = 1
	}
	t0 := time.Now()
	copy(dst, src)
	d := time.Since(t0)
	cs, err := checksumBytes(ds.Kind.DType, dst)
	if err != nil {
		return measurement{}, err
	}
	return measurement{Total: d, Handoff: d, Checksum: cs, Stored: int64(len(dst))}, nil
}

// runClone allocates a new slice and copies the array into it, as any
// transport that delivers a copy must: memory the process has not touched
// yet costs a page fault per page (the producer returned its free memory
// to the operating system before the run).
func runClone(_ *bench, ds *dataSet, n int) (measurement, error) {
	src := ds.Bytes(n)
	t0 := time.Now()
	dst := slices.Clone(src)
	d := time.Since(t0)
	cs, err := checksumBytes(ds.Kind.DType, dst)
	if err != nil {
		return measurement{}, err
	}
	return measurement{Total: d, Handoff: d, Checksum: cs, Stored: int64(len(dst))}, nil
}

// runSum is the consumer's work alone, on the producer's resident array.
func runSum(_ *bench, ds *dataSet, n int) (measurement, error) {
	t0 := time.Now()
	cs := ds.Checksum(n)
	d := time.Since(t0)
	return measurement{Read: d, Total: d, Checksum: cs}, nil
}

// pythonUnavailable says why the Python transports cannot run.
func pythonUnavailable(b *bench) string {
	if b.cfg.python == "none" {
		return "--python none"
	}
	if _, err := b.pythonInfo(); err != nil {
		return err.Error()
	}
	return ""
}

// pythonRun returns the Run function of a Python transport.
func pythonRun(name string) func(*bench, *dataSet, int) (measurement, error) {
	return func(b *bench, ds *dataSet, n int) (measurement, error) {
		py, err := b.python(ds)
		if err != nil {
			return measurement{}, err
		}
		b.seq++
		size := int64(n) * int64(ds.Kind.Size)
		var r pyRun
		req := map[string]any{
			"op": "run", "transport": name, "n": n, "dir": b.shmRun,
			"name":    fmt.Sprintf("%s%d", b.shmPrefix, b.seq),
			"timeout": b.timeout(size).Seconds(),
		}
		// The Python producer enforces the timeout on its consumer; give it
		// time to report before the Go side gives up on the producer.
		if err := py.call(req, b.timeout(size)+30*time.Second, &r); err != nil {
			return measurement{}, err
		}
		m := measurement{
			Producer: time.Duration(r.ProducerNS),
			Fill:     time.Duration(r.FillNS),
			Open:     time.Duration(r.OpenNS),
			Read:     time.Duration(r.ReadNS),
			Total:    time.Duration(r.TotalNS),
			RSSPeak:  r.RSSPeak,
			Stored:   r.StoredBytes,
			Checksum: r.Checksum,
		}
		m.finish()
		return m, nil
	}
}
