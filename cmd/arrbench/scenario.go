package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Scenarios (--scenario): what one run of a transport measures.
const (
	scHandoff = "handoff" // one producer hands one array to one consumer (the transports' own protocol)
	scFanout  = "fanout"  // one producer, K consumer processes reading the same array
	scGather  = "gather"  // K worker processes each compute a part of one result
	scUpdate  = "update"  // K worker processes increment shared counters
	scStream  = "stream"  // one producer publishes N arrays in a row to one consumer
)

// scenarioNames lists the scenarios in report order.
var scenarioNames = []string{scHandoff, scFanout, scGather, scUpdate, scStream}

// scenarioDesc says what each scenario measures, for -list and the tables.
var scenarioDesc = map[string]string{
	scHandoff: "one producer hands one array to one consumer process, which sums it",
	scFanout:  "one producer hands one array to K consumer processes, each sums it; until the last answer",
	scGather:  "K worker processes each compute a part of one result (element i = i*1.5+1) that the parent ends holding",
	scUpdate:  "K worker processes add 1 to U random int64 counters of one shared array each",
	scStream:  "one producer publishes N arrays in a row, the consumer reads and releases each",
}

// scenarioConfig is the part of the command line about scenarios.
type scenarioConfig struct {
	names       []string // in scenarioNames order
	workers     []int    // --workers: K values
	updates     int      // update: increments per worker
	counters    int      // update: counters in the shared array
	streamCount int      // stream: arrays per round
	streamSize  int64    // stream: bytes per array
	sizesSet    bool     // --sizes was given (fanout and gather use it; otherwise scDefaultSize)
}

// has reports whether scenario s runs.
func (c *scenarioConfig) has(s string) bool { return slices.Contains(c.names, s) }

// scDefaultSize is the array size of fanout and gather without --sizes:
// large enough that K copies show in memory, short enough for the
// default run.
const scDefaultSize = 16 << 20

// scenarioState is the producer's state in the many-process scenarios.
type scenarioState struct {
	pool      []*workerClient // fanout, gather and update workers
	fanData   *dataSet        // fanout: the array
	warmingUp bool            // the run being made is a warm-up
}

// scenarioFlags holds the flag values until they are checked.
type scenarioFlags struct {
	scenario, workers, streamSize *string
}

// addScenarioFlags defines the scenario flags on fs.
func addScenarioFlags(fs *flag.FlagSet, cfg *config) *scenarioFlags {
	f := &scenarioFlags{
		scenario:   fs.String("scenario", "handoff,fanout", "scenarios, comma-separated: "+strings.Join(scenarioNames, ", ")+", or all (fanout and gather measure --sizes if given, else 16MiB)"),
		workers:    fs.String("workers", "4", "worker processes K of fanout, gather and update, comma-separated to measure several (1,2,4,8)"),
		streamSize: fs.String("stream-size", "16MiB", "stream: size of each array"),
	}
	fs.IntVar(&cfg.sc.updates, "updates", 100000, "update: increments per worker")
	fs.IntVar(&cfg.sc.counters, "counters", 1024, "update: int64 counters in the shared array")
	fs.IntVar(&cfg.sc.streamCount, "stream-count", 16, "stream: arrays published per measured round")
	return f
}

// finish checks the scenario flags after parsing.
func (f *scenarioFlags) finish(fs *flag.FlagSet, cfg *config) error {
	sc := &cfg.sc
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "sizes" {
			sc.sizesSet = true
		}
	})
	want := map[string]bool{}
	for _, s := range strings.Split(*f.scenario, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
		case s == "all":
			for _, n := range scenarioNames {
				want[n] = true
			}
		case slices.Contains(scenarioNames, s):
			want[s] = true
		default:
			return fmt.Errorf("--scenario: unknown scenario %q (have %s, all)", s, strings.Join(scenarioNames, ", "))
		}
	}
	for _, n := range scenarioNames {
		if want[n] {
			sc.names = append(sc.names, n)
		}
	}
	if len(sc.names) == 0 {
		return fmt.Errorf("--scenario %q names no scenario", *f.scenario)
	}
	for _, w := range strings.Split(*f.workers, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || k < 1 || k > 64 {
			return fmt.Errorf("--workers %q: want numbers from 1 to 64", *f.workers)
		}
		if !slices.Contains(sc.workers, k) {
			sc.workers = append(sc.workers, k)
		}
	}
	slices.Sort(sc.workers)
	var err error
	if sc.streamSize, err = parseSize(*f.streamSize); err != nil {
		return fmt.Errorf("--stream-size: %w", err)
	}
	switch {
	case sc.streamSize < 8:
		return fmt.Errorf("--stream-size %s: smaller than one element", *f.streamSize)
	case sc.updates < 1:
		return fmt.Errorf("--updates %d: must be at least 1", sc.updates)
	case sc.counters < 1 || sc.counters > 1<<27:
		return fmt.Errorf("--counters %d: must be from 1 to %d", sc.counters, 1<<27)
	case sc.streamCount < 1:
		return fmt.Errorf("--stream-count %d: must be at least 1", sc.streamCount)
	}
	return nil
}

// scSizes are the array sizes fanout and gather measure.
func (b *bench) scSizes() []int64 {
	if b.cfg.sc.sizesSet {
		return b.cfg.sizes
	}
	return []int64{scDefaultSize}
}

// scEntry is one row kind of a scenario other than handoff: a transport
// (or, in update, a method) that takes part, or one listed as not
// applicable.
type scEntry struct {
	name string
	kind string
	desc string
	// na says why the transport cannot take part in this scenario ("" if
	// it does).
	na string
	// unavailable says why it cannot run in this benchmark ("" if it can).
	unavailable func(b *bench) string
	// memNeed estimates the memory one run of size bytes with k workers
	// needs beyond the producer's data.
	memNeed func(size int64, k int) int64
	// folder is where its files live, whose free space must hold the
	// array (folderNone for none).
	folder folder
	// once makes one measured run with n elements and k workers.
	once func(b *bench, n, k int) (measurement, error)
	// batch makes warm-up and measured runs in one go (the Python peers,
	// one interpreter per row) and returns the measured ones.
	batch func(b *bench, n, k int) ([]measurement, error)
}

// scenarioBuilders list the participants of each scenario but handoff and
// stream (which run the handoff transports). They run once, after every
// init function has added its transports to allTransports.
var scenarioBuilders = map[string]func() []*scEntry{}

var (
	entriesOnce sync.Once
	entriesBy   map[string][]*scEntry
)

// scenarioEntries returns the participants of scenario s.
func scenarioEntries(s string) []*scEntry {
	entriesOnce.Do(func() {
		entriesBy = map[string][]*scEntry{}
		for name, f := range scenarioBuilders {
			entriesBy[name] = f()
		}
	})
	return entriesBy[s]
}

// knownNames are every transport and method name --only and --skip take.
func knownNames() []*transport {
	ts := slices.Clone(allTransports)
	seen := map[string]bool{}
	for _, t := range ts {
		seen[t.Name] = true
	}
	for _, s := range scenarioNames {
		for _, e := range scenarioEntries(s) {
			if !seen[e.name] {
				seen[e.name] = true
				ts = append(ts, &transport{Name: e.name, Kind: e.kind, Desc: e.desc})
			}
		}
	}
	return ts
}

// selectForScenarios applies --only and --skip: it checks the names
// against every scenario's and returns the handoff transports selected.
func selectForScenarios(cfg *config) ([]*transport, error) {
	if _, err := selectTransports(knownNames(), cfg.only, cfg.skip); err != nil {
		return nil, err
	}
	ts, err := selectTransports(allTransports, cfg.only, cfg.skip)
	if err != nil && cfg.sc.names[0] == scHandoff && len(cfg.sc.names) == 1 {
		return nil, err
	}
	return ts, nil
}

// selected reports whether --only and --skip keep the name of kind.
func (b *bench) selected(name, kind string) bool {
	in := func(list string) bool {
		for _, f := range strings.Split(list, ",") {
			f = strings.TrimSpace(f)
			if f == "ref" {
				f = kindRef
			}
			if f != "" && (f == name || f == kind) {
				return true
			}
		}
		return false
	}
	return (strings.TrimSpace(b.cfg.only) == "" || in(b.cfg.only)) && !in(b.cfg.skip)
}

// listScenarios prints the scenarios and their participants (-list).
func listScenarios(w io.Writer) {
	for _, s := range scenarioNames[1:] {
		fmt.Fprintf(w, "\nscenario %s: %s\n", s, scenarioDesc[s])
		if s == scStream {
			fmt.Fprintf(w, "  the handoff transports above, but for the in-process references\n")
			continue
		}
		for _, e := range scenarioEntries(s) {
			d := e.desc
			if e.na != "" {
				d = "not applicable: " + e.na
			}
			fmt.Fprintf(w, "  %-18s %-9s %s\n", e.name, e.kind, d)
		}
	}
}

// runScenarios runs every scenario asked for, in order.
func (b *bench) runScenarios() {
	for _, s := range b.cfg.sc.names {
		if b.clean.interrupted.Load() {
			return
		}
		switch s {
		case scHandoff:
			if len(b.transports) > 0 {
				b.runAll()
			}
		case scStream:
			b.runStream()
		default:
			b.runEntries(s)
		}
	}
}

// runEntries measures scenario s: every entry, size and K.
func (b *bench) runEntries(s string) {
	var ds *dataSet
	sizes := b.scSizes()
	if s == scUpdate {
		sizes = []int64{int64(b.cfg.sc.counters) * 8}
	}
	entries := scenarioEntries(s)
	b.prog.total, b.prog.i = len(sizes)*len(b.cfg.sc.workers)*len(entries), 0
	if s == scFanout {
		k := b.cfg.data[0]
		b.prog.note(fmt.Sprintf("generating %s data, %s", k.Name, formatSize(slices.Max(sizes))))
		ds = generate(k, int(slices.Max(sizes)/int64(k.Size)))
		b.scs.fanData = ds
		defer func() { b.scs.fanData = nil }()
	}
	for _, size := range sizes {
		for _, k := range b.cfg.sc.workers {
			for _, e := range entries {
				b.prog.next()
				if !b.selected(e.name, e.kind) {
					continue
				}
				b.results = append(b.results, b.measureEntry(s, e, ds, size, k))
				if b.clean.interrupted.Load() {
					return
				}
			}
		}
	}
	b.closePool()
	b.prog.done()
}

// measureEntry measures one entry of scenario s at one size and K.
func (b *bench) measureEntry(s string, e *scEntry, ds *dataSet, size int64, k int) *result {
	dk := dataKinds[0] // fanout: the data set; gather: float64; update: int64 counters
	if ds != nil {
		dk = ds.Kind
	}
	switch s {
	case scGather:
		dk = dataKind{Name: "gather", DType: "<f8", Size: 8, Desc: "float64, element i = i*1.5+1"}
	case scUpdate:
		dk = dataKind{Name: "counters", DType: "<i8", Size: 8, Desc: "int64 counters"}
	}
	n := int(size / int64(dk.Size))
	r := &result{Scenario: s, Workers: k, Transport: e.name, Kind: e.kind, Description: e.desc, Data: dk.Name, DType: dk.DType,
		SizeBytes: int64(n) * int64(dk.Size), Elements: int64(n)}
	switch s {
	case scFanout:
		r.Checksum = ds.Checksum(n)
	case scGather:
		r.Checksum = gatherChecksum(n)
	case scUpdate:
		r.Updates = int64(k) * int64(b.cfg.sc.updates)
	}
	if e.na != "" {
		r.Skipped = "not applicable: " + e.na
		return r
	}
	if e.unavailable != nil {
		if why := e.unavailable(b); why != "" {
			r.Skipped = why
			return r
		}
	}
	if avail := memAvailable(); avail > 0 && e.memNeed != nil {
		if need := e.memNeed(r.SizeBytes, k); need > avail*9/10 {
			r.Skipped = fmt.Sprintf("needs about %s of memory, %s available", formatBytes(need), formatBytes(avail))
			return r
		}
	}
	if dir := e.folder.path(b.cfg); dir != "" {
		if free := freeSpace(dir); free > 0 && free < r.SizeBytes+r.SizeBytes/64+1<<20 {
			r.Skipped = fmt.Sprintf("needs about %s in %s, %s free (choose another folder with --shm-dir or --disk-dir)", formatBytes(r.SizeBytes), dir, formatBytes(free))
			return r
		}
	}
	label := fmt.Sprintf("%s K=%d", s, k)
	if e.batch != nil {
		b.prog.note(fmt.Sprintf("[%d/%d] %s %s %s", b.prog.i, b.prog.total, label, formatSize(size), e.name))
		runs, err := e.batch(b, n, k)
		r.Runs, r.Warmup = runs, b.cfg.warmup
		if err != nil {
			r.Error = err.Error()
		}
		r.Verified = r.Error == "" && len(r.Runs) > 0
		return r
	}
	wn := n
	if int64(wn)*int64(dk.Size) > warmupCap {
		wn = warmupCap / dk.Size
	}
	for i := 0; i < b.cfg.warmup; i++ {
		b.prog.note(fmt.Sprintf("[%d/%d] %s %s %s: warm-up", b.prog.i, b.prog.total, label, formatSize(size), e.name))
		b.scs.warmingUp = true
		_, err := e.once(b, wn, k)
		b.scs.warmingUp = false
		if err != nil {
			r.Error = "warm-up: " + err.Error()
			return r
		}
		r.Warmup++
	}
	start := time.Now()
	for done := 0; b.moreRuns(done, time.Since(start)); done++ {
		b.prog.note(fmt.Sprintf("[%d/%d] %s %s %s: run %d", b.prog.i, b.prog.total, label, formatSize(size), e.name, done+1))
		m, err := e.once(b, n, k)
		if err != nil {
			r.Error = err.Error()
			break
		}
		r.Runs = append(r.Runs, m)
	}
	r.Verified = r.Error == "" && len(r.Runs) > 0
	return r
}

// workerPool returns k live consumer workers, starting the missing ones.
// Fanout, gather and update share them; handoff keeps its own worker.
func (b *bench) workerPool(k int) ([]*workerClient, error) {
	live := b.scs.pool[:0]
	for _, w := range b.scs.pool {
		if !w.dead() {
			live = append(live, w)
		}
	}
	b.scs.pool = live
	for len(b.scs.pool) < k {
		w, err := startWorker(b.exe, b.ln, b.addr)
		if err != nil {
			return nil, err
		}
		b.scs.pool = append(b.scs.pool, w)
	}
	return b.scs.pool[:k], nil
}

// closePool stops the pool's workers.
func (b *bench) closePool() {
	for _, w := range b.scs.pool {
		w.close()
	}
	b.scs.pool = nil
}

// resetAll resets every worker of ws (frees what the last run left).
func (b *bench) resetAll(ws []*workerClient, size int64) error {
	return b.parallel(ws, func(_ int, w *workerClient) error {
		_, err := w.exchange(request{Op: "reset"}, nil, b.timeout(size))
		return err
	})
}

// parallel runs f for every worker at once and returns the first error,
// naming the worker.
func (b *bench) parallel(ws []*workerClient, f func(i int, w *workerClient) error) error {
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i, w)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("worker %d of %d: %w", i+1, len(ws), err)
		}
	}
	return nil
}

// pythonBatch runs arrbench_many.py once for a Python row: req is the
// request (scenario, transport, sizes, ...), raw the data that follows it
// on stdin. It returns the runs' JSON objects, warm-up runs dropped.
func (b *bench) pythonBatch(req map[string]any, raw []byte, size int64) ([]map[string]any, error) {
	info, err := b.pythonInfo()
	if err != nil {
		return nil, err
	}
	repeats := b.cfg.repeats
	if repeats == 0 {
		repeats = 3
	}
	req["repeats"] = repeats
	req["warmup"] = b.cfg.warmup
	req["warmup_n"] = warmupCap / 8
	req["dir"] = b.shmRun
	b.seq++
	req["name"] = fmt.Sprintf("%s%d-", b.shmPrefix, b.seq)
	timeout := time.Duration(repeats+b.cfg.warmup+1) * b.timeout(size)
	req["timeout"] = b.timeout(size).Seconds()
	var out struct {
		Runs  []map[string]any `json:"runs"`
		Error string           `json:"error"`
	}
	if err := runPythonOnce(info, b.shmRun, pythonManyProgram, req, raw, timeout, &out); err != nil {
		return nil, err
	}
	if out.Error != "" {
		return nil, fmt.Errorf("python: %s", out.Error)
	}
	var runs []map[string]any
	for _, r := range out.Runs {
		if w, _ := r["warmup"].(bool); !w {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("python made no measured run")
	}
	return runs, nil
}

// num reads a JSON number field (decoded with UseNumber) as an int64, 0
// if absent.
func num(m map[string]any, key string) int64 {
	return int64(unum(m[key]))
}

// unum reads a JSON number (decoded with UseNumber) as a uint64, wrapping
// negative values; 0 if it is not a number.
func unum(v any) uint64 {
	n, ok := v.(json.Number)
	if !ok {
		return 0
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return u
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return uint64(i)
	}
	f, _ := n.Float64()
	return uint64(int64(f))
}
