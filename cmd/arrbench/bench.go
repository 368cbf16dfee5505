package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// config holds the parsed command line.
type config struct {
	sizes     []int64
	data      []dataKind
	only      string
	skip      string
	repeats   int // measured runs per transport and size; 0 chooses (see moreRuns)
	warmup    int // unmeasured runs before them
	shmDir    string
	diskDir   string
	cold      bool
	remote    bool // --remote: start versitygw and nginx, run the remote transports
	jsonPath  string
	csvPath   string
	plotPath  string
	format    string // "table", "bench" or "both"
	quiet     bool
	python    string            // interpreter; "" finds one, "none" skips Python
	populate  string            // consumers' mmfile populate mode (populateModes)
	bigdata   int64             // --bigdata: size of the larger-than-RAM scan; 0 when not asked
	zstdLevel zstd.EncoderLevel // compression level of the zstd transports
	timeout   time.Duration
	sc        scenarioConfig // --scenario, --workers and the scenarios' own flags
	args      []string       // the command line, for the report
}

// warmupCap bounds the size of warm-up runs: they warm code paths, the
// worker and the file system, which a few MiB do as well as a GiB.
const warmupCap = 4 << 20

// bench is one benchmark run: the producer's state.
type bench struct {
	cfg        *config
	transports []*transport
	stdout     io.Writer
	stderr     io.Writer
	prog       *progress

	exe    string
	ln     *net.UnixListener
	addr   string
	w      *workerClient
	wKey   string // transport and size the worker served, when it cannot reset its peak RSS
	shmRun string // private folders for this run's files
	disk   string
	clean  *cleaner

	pyInfoDone bool
	pyInfoV    *pythonInfo
	pyInfoErr  error
	py         *pyClient
	shmPrefix  string // name prefix of Python's SharedMemory segments
	seq        int

	servers *remoteServers // --remote's servers, once started

	scs scenarioState // the worker pool and data of the many-process scenarios
	rec recycleState  // the store of npy-tmpfs-recycled

	results []*result
}

// setup creates the run's private folders and the worker socket.
func (b *bench) setup() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot re-execute arrbench as a worker: %w", err)
	}
	b.exe = exe
	for _, d := range []*struct {
		dir, flag string
		out       *string
	}{{b.cfg.shmDir, "--shm-dir", &b.shmRun}, {b.cfg.diskDir, "--disk-dir", &b.disk}} {
		st, err := os.Stat(d.dir)
		if err != nil {
			return fmt.Errorf("%s: %w", d.flag, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("%s %s: not a folder", d.flag, d.dir)
		}
		p, err := os.MkdirTemp(d.dir, "arrbench-run-")
		if err != nil {
			return fmt.Errorf("%s: cannot create a folder in %s: %w", d.flag, d.dir, err)
		}
		b.clean.addDir(p)
		*d.out = p
	}
	b.shmPrefix = "arrbench-shm-" + strconv.Itoa(os.Getpid()) + "-"
	if sharedMemoryDir != "" {
		b.clean.addGlob(filepath.Join(sharedMemoryDir, b.shmPrefix+"*"))
	}
	b.addr = socketAddr(b.shmRun, "worker")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: b.addr, Net: "unix"})
	if err != nil {
		return fmt.Errorf("worker socket %s: %w", b.addr, err)
	}
	b.ln = ln
	return nil
}

// shutdown stops the children and closes the socket; the cleaner removes
// the files.
func (b *bench) shutdown() {
	if b.w != nil {
		b.w.close()
		b.w = nil
	}
	b.closePool()
	if b.servers != nil {
		b.servers.stop()
		b.servers.restore()
		b.servers = nil
	}
	if b.py != nil {
		b.py.close()
		b.py = nil
	}
	if b.ln != nil {
		b.ln.Close()
	}
}

// timeout is how long one request moving size bytes may take before the
// worker is declared hung: --timeout plus 50 ms per MiB (20 MB/s, far below
// the slowest transport).
func (b *bench) timeout(size int64) time.Duration {
	return b.cfg.timeout + time.Duration(size>>20)*50*time.Millisecond
}

// worker returns a live consumer worker, starting one if needed.
func (b *bench) worker() (*workerClient, error) {
	if b.w != nil && b.w.dead() {
		b.w = nil
	}
	if b.w == nil {
		w, err := startWorker(b.exe, b.ln, b.addr)
		if err != nil {
			return nil, err
		}
		b.w = w
	}
	return b.w, nil
}

// pythonInfo finds the interpreter once.
func (b *bench) pythonInfo() (*pythonInfo, error) {
	if !b.pyInfoDone {
		b.pyInfoDone = true
		b.pyInfoV, b.pyInfoErr = findPython(b.cfg.python)
	}
	return b.pyInfoV, b.pyInfoErr
}

// python returns a running Python producer holding data set ds.
func (b *bench) python(ds *dataSet) (*pyClient, error) {
	if b.py != nil && b.py.dead() {
		b.py = nil
	}
	if b.py == nil {
		info, err := b.pythonInfo()
		if err != nil {
			return nil, err
		}
		if b.py, err = startPython(info, b.shmRun); err != nil {
			return nil, err
		}
	}
	if b.py.loaded != ds.Kind.Name {
		// Hand the data set over through the Python producer's stdin,
		// outside any clock.
		raw := ds.Bytes(ds.Len())
		var ok struct{}
		err := b.py.callWith(map[string]any{"op": "load", "dtype": ds.Kind.DType, "n": ds.Len()}, raw, b.timeout(int64(len(raw))), &ok)
		if err != nil {
			return nil, fmt.Errorf("python: loading the data set: %w", err)
		}
		b.py.loaded = ds.Kind.Name
	}
	return b.py, nil
}

// prepare brings producer and consumer to the same state before each run:
// the producer's garbage collected, the consumer's previous array freed and
// its peak RSS counter reset (or, where it cannot be reset, a fresh worker
// for each transport and size).
func (b *bench) prepare(t *transport, ds *dataSet, size int64) error {
	runtime.GC()
	switch t.Kind {
	case kindRef:
		debug.FreeOSMemory()
	case kindGo:
		key := t.Name + "/" + strconv.FormatInt(size, 10)
		if b.w != nil && !b.w.rssReset && b.wKey != key {
			b.w.close()
			b.w = nil
		}
		b.wKey = key
		w, err := b.worker()
		if err != nil {
			return err
		}
		_, err = w.exchange(request{Op: "reset"}, nil, b.timeout(size))
		return err
	case kindPython:
		py, err := b.python(ds)
		if err != nil {
			return err
		}
		var r struct{}
		return py.call(map[string]any{"op": "reset", "timeout": b.timeout(size).Seconds()}, b.timeout(size)+30*time.Second, &r)
	}
	return nil
}

// once runs t once on the first n elements of ds and checks the answer.
func (b *bench) once(t *transport, ds *dataSet, n int) (measurement, error) {
	size := int64(n) * int64(ds.Kind.Size)
	if err := b.prepare(t, ds, size); err != nil {
		return measurement{}, fmt.Errorf("preparing the run: %w", err)
	}
	m, err := t.Run(b, ds, n)
	if err != nil {
		return m, err
	}
	if want := ds.Checksum(n); m.Checksum != want {
		return m, fmt.Errorf("checksum mismatch: the consumer answered %#x, the data sum to %#x", m.Checksum, want)
	}
	return m, nil
}

// moreRuns decides whether to measure again after done runs that took
// elapsed. With --repeats N it is exactly N. Otherwise at least 3 and at
// most 5 runs, stopping after 3 once 2 s have passed, and after the first
// run that alone takes 8 s or more (such a run is long enough that its
// noise is small, and it keeps the default run near a minute).
func (b *bench) moreRuns(done int, elapsed time.Duration) bool {
	if b.cfg.repeats > 0 {
		return done < b.cfg.repeats
	}
	switch {
	case done == 0:
		return true
	case elapsed >= 8*time.Second:
		return false
	case done < 3:
		return true
	}
	return done < 5 && elapsed < 2*time.Second
}

// measure runs one transport at one size and returns its result row.
func (b *bench) measure(t *transport, ds *dataSet, size int64) *result {
	n := int(size / int64(ds.Kind.Size))
	r := newResult(t, ds.Kind, int64(n)*int64(ds.Kind.Size), int64(n))
	r.Checksum = ds.Checksum(n)
	if t.Unavailable != nil {
		if why := t.Unavailable(b); why != "" {
			r.Skipped = why
			return r
		}
	}
	if avail := memAvailable(); avail > 0 {
		need := t.MemNeed(r.SizeBytes)
		if t.Kind == kindPython && (b.py == nil || b.py.loaded != ds.Kind.Name) {
			need += int64(ds.Len()) * int64(ds.Kind.Size) // the Python producer's copy of the data set
		}
		if need > avail*9/10 {
			r.Skipped = fmt.Sprintf("needs about %s of memory, %s available", formatBytes(need), formatBytes(avail))
			return r
		}
	}
	if dir := t.Folder.path(b.cfg); dir != "" {
		if free := freeSpace(dir); free > 0 && free < r.SizeBytes+r.SizeBytes/64+1<<20 {
			r.Skipped = fmt.Sprintf("needs about %s in %s, %s free (choose another folder with --shm-dir or --disk-dir)", formatBytes(r.SizeBytes), dir, formatBytes(free))
			return r
		}
	}
	wn := n
	if int64(wn)*int64(ds.Kind.Size) > warmupCap {
		wn = warmupCap / ds.Kind.Size
	}
	for i := 0; i < b.cfg.warmup; i++ {
		b.prog.show(t, ds, size, "warm-up")
		if _, err := b.once(t, ds, wn); err != nil {
			r.Error = "warm-up: " + err.Error()
			return r
		}
		r.Warmup++
	}
	start := time.Now()
	for done := 0; b.moreRuns(done, time.Since(start)); done++ {
		b.prog.show(t, ds, size, fmt.Sprintf("run %d", done+1))
		m, err := b.once(t, ds, n)
		if err != nil {
			r.Error = err.Error()
			break
		}
		r.Runs = append(r.Runs, m)
	}
	r.Verified = r.Error == "" && len(r.Runs) > 0
	return r
}

// runAll measures every data set, size and transport.
func (b *bench) runAll() {
	maxSize := b.cfg.sizes[len(b.cfg.sizes)-1]
	b.prog.total = len(b.cfg.data) * len(b.cfg.sizes) * len(b.transports)
	for _, k := range b.cfg.data {
		b.prog.note(fmt.Sprintf("generating %s data, %s", k.Name, formatSize(maxSize)))
		ds := generate(k, int(maxSize/int64(k.Size)))
		for _, size := range b.cfg.sizes {
			for _, t := range b.transports {
				b.prog.next()
				b.results = append(b.results, b.measure(t, ds, size))
				b.closeRecycleStore()
			}
		}
		if b.py != nil {
			b.py.loaded = "" // the next data set replaces it
		}
	}
	b.prog.done()
}

// progress prints one self-overwriting status line on stderr when stderr
// is a terminal and --quiet is not given.
type progress struct {
	w       io.Writer
	on      bool
	total   int
	i       int
	started time.Time
}

func (p *progress) next() { p.i++ }

func (p *progress) show(t *transport, ds *dataSet, size int64, what string) {
	p.note(fmt.Sprintf("[%d/%d] %s %s %s: %s", p.i, p.total, ds.Kind.Name, formatSize(size), t.Name, what))
}

func (p *progress) note(s string) {
	if !p.on {
		return
	}
	if p.started.IsZero() {
		p.started = time.Now()
	}
	line := fmt.Sprintf("arrbench %3.0fs %s", time.Since(p.started).Seconds(), s)
	if len(line) > 100 {
		line = line[:100]
	}
	fmt.Fprintf(p.w, "\r%-100s", line)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 100))
	}
}
