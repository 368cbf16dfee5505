// Command arrbench measures how fast an array reaches another process by
// each transport arrfile offers, next to the serialization baseline and
// Python's own ways, in one run on one machine.
//
// A producer process holds an array; a consumer worker process (arrbench
// itself, re-executed once in worker mode and kept alive over a Unix
// socket, so that no transport pays for process start-up) receives it,
// makes it usable and sums every element; the producer checks the sum.
// The clock runs from the producer starting the hand-off until the
// consumer's answer arrives. Before each run the consumer frees what the
// last one left and resets its peak RSS counter, so each row reports its
// own peak.
//
// Transports (arrbench -list):
//
//	pipe-gob           encoding/gob through the socket into a new slice: the baseline
//	pipe-raw           raw bytes through the socket into a preallocated slice
//	npy-tmpfs          .npy written to --shm-dir (mmfile.Write), mapped by the consumer
//	npy-tmpfs-inplace  .npy created and filled in place (mmfile.Create), published, mapped
//	npy-disk           npy-tmpfs on --disk-dir, published with fsync
//	zstd-disk          seekable .npy.zst on --disk-dir, decompressed in parallel
//	memfd              anonymous array passed as a descriptor (mmfile.CreateAnon, Send)
//	py-pickle, py-shm, py-npy, py-npy-inplace
//	                   Python's multiprocessing pickling, SharedMemory, np.save +
//	                   np.load(mmap_mode="r") and open_memmap(w+), run by an
//	                   embedded Python program with an interpreter that has NumPy
//	inproc-copy, inproc-clone, inproc-sum
//	                   in-process references: copy, copy into new memory, the sum
//
// With --remote, arrbench starts versitygw (S3) and nginx (HTTP) on
// 127.0.0.1 in its private folder (ARRFILE_VERSITYGW and ARRFILE_NGINX
// name the binaries) and adds the remote transports: the array is on the
// server before the clock starts and the hand-off is its URL.
//
//	s3-get-map         .npy in the bucket, consumer fetches it into --shm-dir (remote.Fetch), maps it
//	http-get-map       the same from nginx
//	s3-npyzst          .npy.zst in the bucket, decompressed in parallel straight into the mapping
//
// arrow-tmpfs is the peer a Go user would pick instead: an Arrow IPC file
// written with github.com/apache/arrow-go in --shm-dir, mapped and read
// zero-copy by the consumer.
//
// Scenarios (--scenario, default handoff,fanout; --workers K, default 4):
//
//	handoff  the protocol above: one producer, one consumer
//	fanout   one producer, K consumer processes each receive the array and
//	         sum it; until the last answer; reports the consumers' summed
//	         PSS while they hold it and the drop in MemAvailable
//	gather   K workers each compute a part of one result the parent ends
//	         holding: in place (mmfile.Split, read-write opens by name) or
//	         sent back (gob, raw, Pool.map, SharedMemory, Arrow files)
//	update   K workers add 1 to --updates random counters of one shared
//	         int64 array: unsynchronized, atomic, range-locks, file-lock,
//	         Python's multiprocessing.Lock; reports lost updates
//	stream   --stream-count arrays of --stream-size published in a row
//
// fanout and gather measure --sizes when it is given, else 16MiB; a
// transport that cannot take part in a scenario is listed as not
// applicable, with the reason. --plot writes the hand-off plot to the
// file and one plot per other scenario next to it (FILE-fanout.svg: the
// consumers' memory against K).
//
// With --cold, npy-disk-cold and zstd-disk-cold also drop the file's pages
// from the page cache before the hand-off. Data sets (--data): normal
// (standard normal float64), smooth (a smooth float64 signal rounded to 3
// decimals) and walk (an int32 random walk).
//
// Output: a table per data set and size on stdout, fastest first, with the
// speed-up against pipe-gob, and Go benchmark lines that benchstat reads;
// --json and --csv write every measurement and the machine, --plot draws
// end-to-end time against size. --bigdata instead scans a sparse .npy of
// twice the machine's memory through a mapping, next to cat.
//
// Every file arrbench makes lives in a private folder in --shm-dir and
// --disk-dir that is removed at the end, on Ctrl-C and when a worker dies;
// a worker that dies or stops answering (--timeout) becomes an error row.
//
// Usage:
//
//	arrbench [flags]
//
// With no flags it runs every transport on standard normal float64 arrays
// of 64KiB, 1MiB, 16MiB and 256MiB, then a fanout of a 16MiB array to 4
// consumers, in about a minute and a half on two cores. For example:
//
//	arrbench --sizes 1MiB,1GiB --data all --json out.json --plot out.svg
//	arrbench --scenario fanout --workers 1,2,4,8 --sizes 256MiB --plot mem.svg
//	arrbench --scenario gather,update --workers 4
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/klauspost/compress/zstd"
)

func main() {
	if addr := os.Getenv(workerEnv); addr != "" {
		os.Exit(workerMain(addr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const defaultSizes = "64KiB,1MiB,16MiB,256MiB"

// parseFlags parses the command line into a config.
func parseFlags(args []string, stderr io.Writer) (*config, bool, error) {
	cfg := &config{args: args}
	fs := flag.NewFlagSet("arrbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", defaultSizes, "array sizes in bytes, comma-separated (64KiB, 1MiB, 1.5GiB, 100MB, 65536)")
	data := fs.String("data", "normal", "data sets, comma-separated: normal, smooth, walk, or all")
	fs.StringVar(&cfg.only, "only", "", "run only these transports or groups (go, python, reference), comma-separated")
	fs.StringVar(&cfg.skip, "skip", "", "skip these transports or groups, comma-separated")
	fs.IntVar(&cfg.repeats, "repeats", 0, "measured runs per transport and size (0: 3 to 5, fewer for runs of seconds); with --bigdata, rounds of cat and scan (0: 2)")
	fs.IntVar(&cfg.warmup, "warmup", 1, "unmeasured warm-up runs (at most 4MiB) before the measured ones")
	fs.StringVar(&cfg.shmDir, "shm-dir", defaultShmDir(), "shared-memory folder for the tmpfs transports")
	fs.StringVar(&cfg.diskDir, "disk-dir", defaultDiskDir(), "disk folder for the disk transports")
	fs.BoolVar(&cfg.cold, "cold", false, "also measure the disk transports with the file's pages dropped from the page cache")
	fs.BoolVar(&cfg.remote, "remote", false, "also measure the remote transports (s3-get-map, http-get-map, s3-npyzst) against versitygw and nginx started on 127.0.0.1 ("+envVersitygw+", "+envNginx+" name the binaries)")
	fs.StringVar(&cfg.jsonPath, "json", "", "write every measurement and the machine as JSON to this file")
	fs.StringVar(&cfg.csvPath, "csv", "", "write every measurement and the machine as CSV to this file")
	fs.StringVar(&cfg.plotPath, "plot", "", "draw end-to-end time against size, log-log, to this .svg, .png or .pdf file")
	fs.StringVar(&cfg.format, "format", "both", "stdout: table, bench (Go benchmark lines for benchstat) or both")
	fs.BoolVar(&cfg.quiet, "quiet", false, "no progress line on stderr (it only appears on a terminal anyway)")
	fs.StringVar(&cfg.python, "python", "", "Python interpreter with NumPy for the py-* transports (default: /usr/bin/python3, then python3 on PATH); none to skip them")
	fs.StringVar(&cfg.populate, "populate", "default", "how consumers fill the page tables when they map: default (mmfile's choice: ahead on tmpfs and memfd, none on disk), ahead (fault in from the back on another core), none (page faults as they read), map (MAP_POPULATE) or advise (MADV_POPULATE_READ)")
	fs.DurationVar(&cfg.timeout, "timeout", time.Minute, "declare a consumer dead after this long without an answer (plus 50ms per MiB)")
	list := fs.Bool("list", false, "list the transports and exit")
	zlevel := fs.String("zstd-level", zstd.SpeedDefault.String(), "compression level of the zstd transports: fastest, default, better, best or a zstd level 1-22")
	bigdata := fs.Bool("bigdata", false, "instead of the transports, scan a sparse .npy larger than memory in --disk-dir through a mapping, next to cat FILE >/dev/null")
	bigSize := fs.String("bigdata-size", "", "size of the --bigdata file (default: twice the machine's memory)")
	scf := addScenarioFlags(fs, cfg)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: arrbench [flags]\n\nMeasures how fast an array reaches another process by each transport.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, false, err
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("unexpected argument %q (arrbench takes flags only)", fs.Arg(0))
	}
	var err error
	if cfg.sizes, err = parseSizes(*sizes); err != nil {
		return nil, false, fmt.Errorf("--sizes: %w", err)
	}
	if cfg.data, err = parseDataKinds(*data); err != nil {
		return nil, false, fmt.Errorf("--data: %w", err)
	}
	for _, s := range cfg.sizes {
		for _, k := range cfg.data {
			if s < int64(k.Size) {
				return nil, false, fmt.Errorf("--sizes: %s holds no %s element of %d bytes", formatSize(s), k.Name, k.Size)
			}
		}
	}
	switch {
	case cfg.repeats < 0:
		return nil, false, fmt.Errorf("--repeats %d: must be 0 (automatic) or more", cfg.repeats)
	case cfg.warmup < 0:
		return nil, false, fmt.Errorf("--warmup %d: must be 0 or more", cfg.warmup)
	case cfg.timeout <= 0:
		return nil, false, fmt.Errorf("--timeout %v: must be positive", cfg.timeout)
	}
	if cfg.zstdLevel, err = zstdseek.ParseLevel(*zlevel); err != nil {
		return nil, false, fmt.Errorf("--zstd-level: %w", err)
	}
	if *bigSize != "" && !*bigdata {
		return nil, false, fmt.Errorf("--bigdata-size needs --bigdata")
	}
	if *bigdata {
		cfg.bigdata = defaultBigSize()
		if *bigSize != "" {
			if cfg.bigdata, err = parseSize(*bigSize); err != nil {
				return nil, false, fmt.Errorf("--bigdata-size: %w", err)
			}
			if cfg.bigdata < 8 {
				return nil, false, fmt.Errorf("--bigdata-size %s: smaller than one float64", *bigSize)
			}
		}
		if cfg.csvPath != "" || cfg.plotPath != "" {
			return nil, false, fmt.Errorf("--bigdata writes --json only, not --csv or --plot")
		}
	}
	if err := scf.finish(fs, cfg); err != nil {
		return nil, false, err
	}
	if _, ok := populateModes[cfg.populate]; !ok {
		return nil, false, fmt.Errorf("--populate %q: use default, ahead, none, map or advise", cfg.populate)
	}
	switch cfg.format {
	case "table", "bench", "both":
	default:
		return nil, false, fmt.Errorf("--format %q: use table, bench or both", cfg.format)
	}
	return cfg, *list, nil
}

// run is arrbench's main program; it returns the exit status: 0 when every
// transport that ran verified its data, 1 when one failed or the run could
// not be made, 2 for a bad command line.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, list, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "arrbench: %v\n", err)
		return 2
	}
	ts, err := selectForScenarios(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "arrbench: %v\n", err)
		return 2
	}
	if !cfg.cold {
		// The cold variants run only on request.
		kept := ts[:0:0]
		for _, t := range ts {
			if t.Unavailable == nil || !strings.HasSuffix(t.Name, "-cold") {
				kept = append(kept, t)
			}
		}
		if len(kept) == 0 && len(ts) > 0 && cfg.sc.has(scHandoff) {
			fmt.Fprintf(stderr, "arrbench: the -cold transports need --cold\n")
			return 2
		}
		ts = kept
	}
	if !cfg.remote {
		// The remote transports run only on request.
		kept := ts[:0:0]
		for _, t := range ts {
			if !t.Remote {
				kept = append(kept, t)
			}
		}
		if len(kept) == 0 && len(ts) > 0 && cfg.sc.has(scHandoff) {
			fmt.Fprintf(stderr, "arrbench: the remote transports need --remote\n")
			return 2
		}
		ts = kept
	}
	if list {
		for _, t := range allTransports {
			fmt.Fprintf(stdout, "%-18s %-9s %s\n", t.Name, t.Kind, t.Desc)
		}
		listScenarios(stdout)
		return 0
	}
	if err := checkLittleEndian(); err != nil {
		fmt.Fprintf(stderr, "arrbench: %v\n", err)
		return 1
	}

	clean := &cleaner{}
	stop := onSignal(clean, stderr)
	b := &bench{
		cfg: cfg, transports: ts, stdout: stdout, stderr: stderr, clean: clean,
		prog: &progress{w: stderr},
	}
	if f, ok := stderr.(*os.File); ok && !cfg.quiet && isTerminal(f) {
		b.prog.on = true
	}
	defer func() {
		clean.waitIfInterrupted()
		b.shutdown()
		if err := clean.clean(); err != nil {
			fmt.Fprintf(stderr, "arrbench: cleanup: %v\n", err)
		}
		clean.waitIfInterrupted()
		stop()
	}()
	if err := b.setup(); err != nil {
		fmt.Fprintf(stderr, "arrbench: %v\n", err)
		return 1
	}
	if cfg.remote && cfg.bigdata == 0 && slices.ContainsFunc(ts, func(t *transport) bool { return t.Remote }) && (cfg.sc.has(scHandoff) || cfg.sc.has(scStream)) {
		if b.servers, err = startRemoteServers(b.disk); err != nil {
			fmt.Fprintf(stderr, "arrbench: %v\n", err)
			return 1
		}
	}
	start := time.Now()
	if cfg.bigdata > 0 {
		return b.bigDataReport(start)
	}
	b.runScenarios()
	clean.waitIfInterrupted() // the run ended because its workers were stopped

	var py *pythonInfo
	if b.pyInfoDone {
		py = b.pyInfoV
	}
	rep := &report{
		Date:       start,
		Command:    strings.TrimSpace("arrbench " + strings.Join(cfg.args, " ")),
		Machine:    describeMachine(cfg, py),
		Config:     cfg,
		Transports: ts,
		Results:    b.results,
	}
	status := 0
	for _, r := range b.results {
		if r.Error != "" {
			status = 1
		}
	}
	hand := rep.handoffOnly()
	if cfg.format != "bench" {
		if err := hand.writeTable(stdout); err != nil {
			fmt.Fprintf(stderr, "arrbench: %v\n", err)
			return 1
		}
		if err := rep.writeScenarioTables(stdout, len(hand.Results) > 0); err != nil {
			fmt.Fprintf(stderr, "arrbench: %v\n", err)
			return 1
		}
	}
	if cfg.format != "table" {
		if cfg.format == "both" {
			fmt.Fprintln(stdout)
		}
		err := hand.writeBenchLines(stdout)
		if err == nil {
			err = rep.writeScenarioBenchLines(stdout)
		}
		if err != nil {
			fmt.Fprintf(stderr, "arrbench: %v\n", err)
			return 1
		}
	}
	if cfg.jsonPath != "" {
		if err := writeFile(cfg.jsonPath, rep.writeJSON); err != nil {
			fmt.Fprintf(stderr, "arrbench: %v\n", err)
			status = 1
		}
	}
	if cfg.csvPath != "" {
		if err := writeFile(cfg.csvPath, rep.writeCSV); err != nil {
			fmt.Fprintf(stderr, "arrbench: %v\n", err)
			status = 1
		}
	}
	if cfg.plotPath != "" {
		if _, err := rep.writeAllPlots(cfg.plotPath); err != nil {
			fmt.Fprintf(stderr, "arrbench: %v\n", err)
			status = 1
		}
	}
	return status
}

// bigDataReport runs the --bigdata scan and writes its report.
func (b *bench) bigDataReport(start time.Time) int {
	cfg := b.cfg
	br := b.runBigData(cfg.bigdata)
	b.clean.waitIfInterrupted()
	b.prog.done()
	rep := &report{
		Date:       start,
		Command:    strings.TrimSpace("arrbench " + strings.Join(cfg.args, " ")),
		Machine:    describeMachine(cfg, nil),
		Config:     cfg,
		Transports: nil,
		BigData:    br,
	}
	status := 0
	if br.Error != "" {
		status = 1
	}
	if cfg.format != "bench" {
		if err := br.writeTable(b.stdout); err != nil {
			fmt.Fprintf(b.stderr, "arrbench: %v\n", err)
			return 1
		}
	}
	if cfg.format != "table" {
		if cfg.format == "both" {
			fmt.Fprintln(b.stdout)
		}
		ew := &errWriter{w: b.stdout}
		ew.printf("goos: %s\ngoarch: %s\npkg: github.com/arrfile/arrfile/cmd/arrbench\ncpu: %s\n", rep.Machine.OS, rep.Machine.Arch, rep.Machine.CPU)
		if ew.err != nil || br.writeBenchLines(b.stdout, rep.Machine.Cores) != nil {
			fmt.Fprintf(b.stderr, "arrbench: writing stdout failed\n")
			return 1
		}
	}
	if cfg.jsonPath != "" {
		if err := writeFile(cfg.jsonPath, rep.writeJSON); err != nil {
			fmt.Fprintf(b.stderr, "arrbench: %v\n", err)
			status = 1
		}
	}
	return status
}
