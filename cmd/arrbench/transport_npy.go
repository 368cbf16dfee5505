package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// The transports built on npy and mmfile: the array travels as an .npy
// file (on tmpfs or disk) or an anonymous memfd array, and the consumer
// maps it and reads it in place.

func init() {
	consumers["npy-tmpfs"] = consumeNpyFile
	consumers["npy-tmpfs-inplace"] = consumeNpyFile
	consumers["npy-disk"] = consumeNpyFile
	consumers["npy-disk-cold"] = consumeNpyFile
	consumers["memfd"] = consumeMemfd

	// In the order of the issue: after pipe-raw, before the Python ones.
	at := 2
	npyTransports := []*transport{
		{
			Name:    "npy-tmpfs",
			Folder:  folderShm,
			Kind:    kindGo,
			Desc:    "producer writes its slice as a published .npy in --shm-dir (mmfile.Write), consumer maps it",
			MemNeed: func(s int64) int64 { return s },
			Run:     runNpyWrite("npy-tmpfs", false, false),
		},
		{
			Name:    "npy-tmpfs-inplace",
			Folder:  folderShm,
			Kind:    kindGo,
			Desc:    "producer creates a mapped .npy in --shm-dir and fills it in place (mmfile.Create, reported as fill), publishes, consumer maps it",
			MemNeed: func(s int64) int64 { return s },
			Run:     runNpyInPlace,
		},
		{
			Name:    "npy-disk",
			Folder:  folderDisk,
			Kind:    kindGo,
			Desc:    "as npy-tmpfs in --disk-dir (published with fsync), page cache warm",
			MemNeed: func(s int64) int64 { return 0 },
			Run:     runNpyWrite("npy-disk", true, false),
		},
		{
			Name:        "npy-disk-cold",
			Folder:      folderDisk,
			Kind:        kindGo,
			Desc:        "as npy-disk, with the file's pages dropped (posix_fadvise DONTNEED) before the hand-off; needs --cold",
			MemNeed:     func(s int64) int64 { return 0 },
			Unavailable: coldUnavailable,
			Run:         runNpyWrite("npy-disk-cold", true, true),
		},
		{
			Name:        "memfd",
			Kind:        kindGo,
			Desc:        "producer writes its slice into an anonymous memfd array (mmfile.WriteAnon), passes the descriptor over the socket",
			MemNeed:     func(s int64) int64 { return s },
			Unavailable: memfdUnavailable,
			Run:         runMemfd,
		},
	}
	allTransports = append(allTransports[:at], append(npyTransports, allTransports[at:]...)...)
}

// populateModes are the values of --populate: how consumers fill the page
// tables of the mapping when they open it (mmfile.Options.Populate).
var populateModes = map[string]mmfile.PopulateMode{
	"none":    mmfile.PopulateNone,
	"default": mmfile.PopulateDefault,
	"ahead":   mmfile.PopulateAhead,
	"map":     mmfile.PopulateMap,
	"advise":  mmfile.PopulateAdvise,
}

func coldUnavailable(b *bench) string {
	switch {
	case !b.cfg.cold:
		return "needs --cold"
	case runtime.GOOS != "linux":
		return "posix_fadvise is used on Linux only"
	}
	return ""
}

func memfdUnavailable(*bench) string {
	if runtime.GOOS != "linux" {
		return "memfd_create is Linux only"
	}
	return ""
}

// newPath returns a fresh file name in dir for one run.
func (b *bench) newPath(dir string) string {
	b.seq++
	return filepath.Join(dir, fmt.Sprintf("a%d.npy", b.seq))
}

// writeSlice publishes the first n elements of ds as the .npy file path.
func writeSlice(ds *dataSet, n int, path string) error {
	if ds.f64 != nil {
		return mmfile.Write(path, ds.f64[:n], nil, nil)
	}
	return mmfile.Write(path, ds.i32[:n], nil, nil)
}

// runNpyWrite returns the Run function of npy-tmpfs and npy-disk: the
// producer writes its existing slice to a published .npy in one call and
// sends the name; the consumer maps the file and sums it in place. With
// cold, the file's pages are dropped from the page cache after the write,
// off the clock.
func runNpyWrite(name string, disk, cold bool) func(*bench, *dataSet, int) (measurement, error) {
	return func(b *bench, ds *dataSet, n int) (measurement, error) {
		w, err := b.worker()
		if err != nil {
			return measurement{}, err
		}
		dir := b.shmRun
		if disk {
			dir = b.disk
		}
		path := b.newPath(dir)
		defer os.Remove(path)
		req := request{Op: "run", Transport: name, DType: ds.Kind.DType, N: int64(n), Path: path, Populate: b.cfg.populate}
		return handOverFile(b, w, req, int64(n)*int64(ds.Kind.Size), cold, func() error { return writeSlice(ds, n, path) })
	}
}

// handOverFile runs a file transport: the producer writes req.Path with
// write (on the clock), with cold drops the file's pages from the page
// cache (off the clock), then sends the name and waits for the consumer's
// answer. size is the array's data size in bytes.
func handOverFile(b *bench, w *workerClient, req request, size int64, cold bool, write func() error) (measurement, error) {
	t0 := time.Now()
	if err := write(); err != nil {
		return measurement{}, err
	}
	t1 := time.Now()
	var paused time.Duration
	if cold {
		if err := dropPageCache(req.Path); err != nil {
			return measurement{}, err
		}
		paused = time.Since(t1)
	}
	st, err := os.Stat(req.Path)
	if err != nil {
		return measurement{}, err
	}
	rep, err := w.exchange(req, nil, b.timeout(size))
	t2 := time.Now()
	if err != nil {
		return measurement{}, err
	}
	return fromReply(rep, t1.Sub(t0), t2.Sub(t0)-paused, st.Size()), nil
}

// createFor creates a mapped .npy for n elements of ds's type.
func createFor(ds *dataSet, path string, n int) (*mmfile.Array, error) {
	if ds.f64 != nil {
		return mmfile.Create(path, &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{n}}, producerOptions)
	}
	return mmfile.Create(path, &npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{n}}, producerOptions)
}

// fill copies the first n elements of ds into a's data.
func fill(a *mmfile.Array, ds *dataSet, n int) error {
	dst, err := a.Bytes()
	if err != nil {
		return err
	}
	if len(dst) != n*ds.Kind.Size {
		return fmt.Errorf("array %s holds %d bytes, want %d", arrayName(a), len(dst), n*ds.Kind.Size)
	}
	copy(dst, ds.Bytes(n))
	return nil
}

// runNpyInPlace: the producer creates the array in a mapped .npy and
// fills it there; creating and filling are production (reported as fill,
// off the clock, as for py-npy-inplace). The clock runs from Publish to
// the consumer's answer.
func runNpyInPlace(b *bench, ds *dataSet, n int) (measurement, error) {
	w, err := b.worker()
	if err != nil {
		return measurement{}, err
	}
	path := b.newPath(b.shmRun)
	defer os.Remove(path)
	t0 := time.Now()
	a, err := createFor(ds, path, n)
	if err != nil {
		return measurement{}, err
	}
	defer a.Close()
	if err := fill(a, ds, n); err != nil {
		return measurement{}, err
	}
	t1 := time.Now()
	if err := a.Publish(); err != nil {
		return measurement{}, err
	}
	t2 := time.Now()
	size := int64(n) * int64(ds.Kind.Size)
	req := request{Op: "run", Transport: "npy-tmpfs-inplace", DType: ds.Kind.DType, N: int64(n), Path: path, Populate: b.cfg.populate}
	rep, err := w.exchange(req, nil, b.timeout(size))
	t3 := time.Now()
	if err != nil {
		return measurement{}, err
	}
	m := fromReply(rep, t2.Sub(t1), t3.Sub(t1), size+headerSize(a))
	m.Fill = t1.Sub(t0)
	return m, nil
}

// headerSize is the length of a's .npy header.
func headerSize(a *mmfile.Array) int64 { return a.Header().DataOffset }

// runMemfd: the producer copies its slice into an anonymous array and
// sends the descriptor (mmfile.Send); the consumer maps what it receives
// (mmfile.Receive) and sums it in place.
func runMemfd(b *bench, ds *dataSet, n int) (measurement, error) {
	w, err := b.worker()
	if err != nil {
		return measurement{}, err
	}
	t0 := time.Now()
	a, err := mmfile.WriteAnon("arrbench", ds.Bytes(n), &npy.Header{DType: dtypeOf(ds), Shape: []int{n}}, producerOptions)
	if err != nil {
		return measurement{}, err
	}
	defer a.Close()
	t1 := time.Now()
	size := int64(n) * int64(ds.Kind.Size)
	req := request{Op: "run", Transport: "memfd", DType: ds.Kind.DType, N: int64(n), Populate: b.cfg.populate}
	rep, err := w.exchange(req, func(c *net.UnixConn) error { return mmfile.Send(c, a) }, b.timeout(size))
	t2 := time.Now()
	if err != nil {
		return measurement{}, err
	}
	return fromReply(rep, t1.Sub(t0), t2.Sub(t0), size+headerSize(a)), nil
}

// arrayName names a's file for error messages.
func arrayName(a *mmfile.Array) string {
	if f, err := a.File(); err == nil {
		return f.Name()
	}
	return "closed array"
}

// dtypeOf is the npy dtype of ds's elements.
func dtypeOf(ds *dataSet) *npy.DType {
	if ds.f64 != nil {
		return npy.DTypeOf[float64]()
	}
	return npy.DTypeOf[int32]()
}

// consumerOptions are the mmfile options a consumer maps with.
func consumerOptions(req *request) (*mmfile.Options, error) {
	p := req.Populate
	if p == "" {
		p = "default"
	}
	pop, ok := populateModes[p]
	if !ok {
		return nil, fmt.Errorf("unknown populate mode %q", req.Populate)
	}
	return &mmfile.Options{Populate: pop}, nil
}

// consumeNpyFile maps the published .npy file and sums it in place.
func consumeNpyFile(w *worker, req *request, _ io.Reader) (reply, error) {
	opt, err := consumerOptions(req)
	if err != nil {
		return reply{}, err
	}
	t0 := time.Now()
	a, err := mmfile.Open(req.Path, mmfile.ReadOnly, opt)
	if err != nil {
		return reply{}, err
	}
	w.release = append(w.release, func() { a.Close() })
	return sumMapped(a, req, t0)
}

// consumeMemfd receives the anonymous array's descriptor, maps it and sums
// it in place.
func consumeMemfd(w *worker, req *request, _ io.Reader) (reply, error) {
	opt, err := consumerOptions(req)
	if err != nil {
		return reply{}, err
	}
	t0 := time.Now()
	a, err := mmfile.Receive(w.conn, mmfile.ReadOnly, opt)
	if err != nil {
		return reply{}, err
	}
	w.release = append(w.release, func() { a.Close() })
	return sumMapped(a, req, t0)
}

// sumMapped checks that a holds what req announced and sums it, under
// mmfile's fault guard (a file truncated under the consumer is an error,
// not a crash). Open time runs from t0 to the typed view.
func sumMapped(a *mmfile.Array, req *request, t0 time.Time) (reply, error) {
	h := a.Header()
	if got := h.DType.String(); got != req.DType || h.NumElements() != req.N {
		return reply{}, fmt.Errorf("%s holds %d elements of %s, want %d of %s", arrayName(a), h.NumElements(), got, req.N, req.DType)
	}
	var rep reply
	err := a.Do(func(data []byte) error {
		var sum func() uint64
		switch req.DType {
		case "<f8":
			s, err := npy.View[float64](data, h.DType)
			if err != nil {
				return err
			}
			sum = func() uint64 { return sumFloat64Bits(s) }
		case "<i4":
			s, err := npy.View[int32](data, h.DType)
			if err != nil {
				return err
			}
			sum = func() uint64 { return sumInt32(s) }
		default:
			return fmt.Errorf("unsupported dtype %s", req.DType)
		}
		t1 := time.Now()
		rep.Checksum = sum()
		rep.OpenNS, rep.ReadNS = int64(t1.Sub(t0)), int64(time.Since(t1))
		return nil
	})
	if name := arrayName(a); err != nil && !strings.Contains(err.Error(), name) {
		err = fmt.Errorf("%s: %w", name, err)
	}
	return rep, err
}

// producerOptions are the options producers create mapped arrays with.
var producerOptions = &mmfile.CreateOptions{Populate: mmfile.PopulateDefault}
