package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// result is one row of the report: one transport, data set and size.
type result struct {
	Scenario    string // "" or scHandoff for the hand-off, else see scenario.go
	Workers     int    // K of the many-process scenarios; 0 for the hand-off
	Updates     int64  // update: increments all workers make per run
	Frames      int    // stream: arrays per round (SizeBytes holds all of them)
	Transport   string
	Kind        string
	Description string
	Data        string
	DType       string
	SizeBytes   int64
	Elements    int64
	Checksum    uint64 // what every consumer must answer
	Warmup      int
	Verified    bool   // every measured run's answer was checked and right
	Error       string // the run failed (the measured runs before it are kept)
	Skipped     string // the transport could not run here, and why
	Runs        []measurement
}

func newResult(t *transport, k dataKind, size, n int64) *result {
	return &result{Transport: t.Name, Kind: t.Kind, Description: t.Desc, Data: k.Name, DType: k.DType, SizeBytes: size, Elements: n}
}

// phases are the medians of each phase over the measured runs.
type phases struct {
	Producer time.Duration `json:"producer_ns"`
	Fill     time.Duration `json:"fill_ns"`
	Handoff  time.Duration `json:"handoff_ns"`
	Open     time.Duration `json:"open_ns"`
	Read     time.Duration `json:"read_ns"`
	Total    time.Duration `json:"total_ns"`
}

// stats summarizes a result's runs.
type stats struct {
	Median   phases
	Total    summary
	GBps     float64
	RSSPeak  int64   // largest consumer peak RSS over the runs
	Stored   int64   // median bytes written or sent
	Ratio    float64 // SizeBytes / Stored
	Speedup  float64 // pipe-gob's median end-to-end / this one; 0 when unknown
	HaveRuns bool
}

func (r *result) stats() stats {
	var s stats
	if len(r.Runs) == 0 {
		return s
	}
	s.HaveRuns = true
	col := func(f func(m measurement) int64) int64 {
		v := make([]int64, len(r.Runs))
		for i, m := range r.Runs {
			v[i] = f(m)
		}
		return median(v)
	}
	tot := make([]time.Duration, len(r.Runs))
	for i, m := range r.Runs {
		tot[i] = m.Total
		s.RSSPeak = max(s.RSSPeak, m.RSSPeak)
	}
	s.Total = summarize(tot)
	s.Median = phases{
		Producer: time.Duration(col(func(m measurement) int64 { return int64(m.Producer) })),
		Fill:     time.Duration(col(func(m measurement) int64 { return int64(m.Fill) })),
		Handoff:  time.Duration(col(func(m measurement) int64 { return int64(m.Handoff) })),
		Open:     time.Duration(col(func(m measurement) int64 { return int64(m.Open) })),
		Read:     time.Duration(col(func(m measurement) int64 { return int64(m.Read) })),
		Total:    s.Total.Median,
	}
	s.Stored = col(func(m measurement) int64 { return m.Stored })
	if s.Stored > 0 {
		s.Ratio = float64(r.SizeBytes) / float64(s.Stored)
	}
	s.GBps = gbPerSec(r.SizeBytes, s.Total.Median)
	return s
}

// report is everything a run produced.
type report struct {
	Date       time.Time
	Command    string
	Machine    machineInfo
	Config     *config
	Transports []*transport
	Results    []*result
	BigData    *bigResult // the --bigdata scan, nil without --bigdata
}

// baseline is the transport every speed-up is relative to.
const baseline = "pipe-gob"

// statsAll computes every result's stats, with speed-ups against the
// baseline of the same data set and size.
func (rep *report) statsAll() map[*result]stats {
	out := map[*result]stats{}
	base := map[string]time.Duration{}
	for _, r := range rep.Results {
		s := r.stats()
		out[r] = s
		if r.Transport == baseline && r.Verified && s.HaveRuns {
			base[groupKey(r)] = s.Total.Median
		}
	}
	for r, s := range out {
		if b, ok := base[groupKey(r)]; ok && r.Verified && s.Total.Median > 0 {
			s.Speedup = float64(b) / float64(s.Total.Median)
			out[r] = s
		}
	}
	return out
}

func groupKey(r *result) string {
	return r.scenario() + "/" + strconv.Itoa(r.workers()) + "/" + r.Data + "/" + strconv.FormatInt(r.SizeBytes, 10)
}

// writeTable prints, for each data set and size, the transports sorted by
// median end-to-end time (the winner first, marked *), then the in-process
// references, then what failed or was skipped.
func (rep *report) writeTable(w io.Writer) error {
	st := rep.statsAll()
	var groups [][]*result
	idx := map[string]int{}
	for _, r := range rep.Results {
		k := groupKey(r)
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	compressed := map[string]bool{}
	for _, t := range allTransports {
		compressed[t.Name] = t.Compressed
	}
	bw := &errWriter{w: w}
	anyRatio := false
	for gi, g := range groups {
		if gi > 0 {
			bw.printf("\n")
		}
		desc := g[0].Data
		for _, k := range dataKinds {
			if k.Name == g[0].Data {
				desc = k.Desc
			}
		}
		bw.printf("%s %s: %s, %d elements of %s\n", g[0].Data, formatSize(g[0].SizeBytes), desc, g[0].Elements, g[0].DType)
		rank := func(r *result) int {
			switch {
			case !r.Verified:
				return 3
			case r.Kind == kindRef:
				return 2
			}
			return 1
		}
		sort.SliceStable(g, func(i, j int) bool {
			ri, rj := rank(g[i]), rank(g[j])
			if ri != rj {
				return ri < rj
			}
			if ri == 3 {
				return false
			}
			return st[g[i]].Total.Median < st[g[j]].Total.Median
		})
		ratios := false
		for _, r := range g {
			ratios = ratios || (compressed[r.Transport] && r.Verified)
		}
		rows := [][]string{{"", "transport", "end-to-end", "min", "max", "GB/s", "vs gob", "producer", "fill", "hand-off", "open", "read", "peak RSS", "runs"}}
		if ratios {
			rows[0] = append(rows[0], "ratio")
			anyRatio = true
		}
		var notes []string
		winner := true
		for _, r := range g {
			s := st[r]
			if !r.Verified {
				why := r.Skipped
				label := "skipped"
				if r.Error != "" {
					why, label = r.Error, "FAILED"
				}
				notes = append(notes, fmt.Sprintf("  %-18s %s: %s", r.Transport, label, why))
				continue
			}
			mark := ""
			if r.Kind == kindRef {
				mark = "ref"
			} else if winner {
				mark, winner = "*", false
			}
			speed := "-"
			if s.Speedup > 0 {
				speed = sig3(s.Speedup) + "x"
			}
			rss := "-"
			if s.RSSPeak > 0 {
				rss = formatBytes(s.RSSPeak)
			}
			dur := func(d time.Duration) string {
				if d == 0 {
					return "-"
				}
				return formatDuration(d)
			}
			rows = append(rows, []string{
				mark, r.Transport, formatDuration(s.Total.Median), formatDuration(s.Total.Min), formatDuration(s.Total.Max),
				sig3(s.GBps), speed, dur(s.Median.Producer), dur(s.Median.Fill), dur(s.Median.Handoff),
				dur(s.Median.Open), dur(s.Median.Read), rss, strconv.Itoa(s.Total.N),
			})
			if ratios {
				ratio := "-"
				if compressed[r.Transport] && s.Ratio > 0 {
					ratio = sig3(s.Ratio)
				}
				rows[len(rows)-1] = append(rows[len(rows)-1], ratio)
			}
		}
		if len(rows) > 1 {
			writeColumns(bw, rows, 2)
		}
		for _, n := range notes {
			bw.printf("%s\n", n)
		}
	}
	if len(groups) > 0 {
		bw.printf("\n* fastest transport; ref: in-process reference (no second process); vs gob: %s's end-to-end time / this one's.\n", baseline)
		bw.printf("end-to-end = producer + hand-off + open + read (medians of each phase need not add up); fill is in-place production, not counted.\n")
		if anyRatio {
			bw.printf("ratio = array size / compressed file size.\n")
		}
	}
	return bw.err
}

// writeColumns prints rows as aligned columns: the first left columns
// left-aligned, the rest right-aligned.
func writeColumns(w *errWriter, rows [][]string, left int) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < left {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		w.printf("%s\n", strings.TrimRight(b.String(), " "))
	}
}

// writeBenchLines prints the verified results as Go benchmark lines, which
// benchstat reads: N is the number of measured runs, ns/op the median
// end-to-end time, MB/s the array size over it.
func (rep *report) writeBenchLines(w io.Writer) error {
	st := rep.statsAll()
	bw := &errWriter{w: w}
	bw.printf("goos: %s\ngoarch: %s\npkg: github.com/arrfile/arrfile/cmd/arrbench\ncpu: %s\n", rep.Machine.OS, rep.Machine.Arch, rep.Machine.CPU)
	for _, r := range rep.Results {
		s := st[r]
		if !r.Verified || !s.HaveRuns {
			continue
		}
		bw.printf("BenchmarkArrbench/data=%s/size=%s/transport=%s-%d\t%8d\t%12d ns/op\t%10.2f MB/s\n",
			r.Data, formatSize(r.SizeBytes), r.Transport, rep.Machine.Cores, s.Total.N, int64(s.Total.Median), s.GBps*1e3)
	}
	return bw.err
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

// jsonReport is the --json document.
type jsonReport struct {
	Tool    string       `json:"tool"`
	Command string       `json:"command"`
	Date    string       `json:"date"`
	Machine machineInfo  `json:"machine"`
	Config  jsonConfig   `json:"config"`
	Results []jsonResult `json:"results"`
	BigData *bigResult   `json:"bigdata"` // null without --bigdata
}

type jsonConfig struct {
	Sizes          []int64  `json:"sizes"`
	Data           []string `json:"data"`
	Transports     []string `json:"transports"`
	Repeats        int      `json:"repeats"` // 0: chosen per transport and size
	Warmup         int      `json:"warmup"`
	Cold           bool     `json:"cold"`
	Populate       string   `json:"populate"`
	BigDataBytes   int64    `json:"bigdata_bytes"`
	TimeoutSeconds float64  `json:"timeout_seconds"`
}

type jsonResult struct {
	Scenario        string  `json:"scenario"`
	Workers         int     `json:"workers"`
	Transport       string  `json:"transport"`
	Kind            string  `json:"kind"`
	Description     string  `json:"description"`
	Data            string  `json:"data"`
	DType           string  `json:"dtype"`
	SizeBytes       int64   `json:"size_bytes"`
	Elements        int64   `json:"elements"`
	Checksum        uint64  `json:"checksum"`
	Verified        bool    `json:"verified"`
	Error           string  `json:"error"`
	Skipped         string  `json:"skipped"`
	WarmupRuns      int     `json:"warmup_runs"`
	Repeats         int     `json:"repeats"`
	Median          phases  `json:"median"`
	MinTotalNS      int64   `json:"min_total_ns"`
	MaxTotalNS      int64   `json:"max_total_ns"`
	GBps            float64 `json:"gb_per_s"`
	SpeedupVsGob    float64 `json:"speedup_vs_pipe_gob"`
	StoredBytes     int64   `json:"stored_bytes"`
	Ratio           float64 `json:"size_ratio"`
	ConsumerRSSPeak int64   `json:"consumer_rss_peak_bytes"`
	scenarioJSON
	Runs []measurement `json:"runs"`
}

func (rep *report) jsonDoc() jsonReport {
	st := rep.statsAll()
	doc := jsonReport{
		Tool:    "arrbench",
		Command: rep.Command,
		Date:    rep.Date.UTC().Format(time.RFC3339),
		Machine: rep.Machine,
		Config: jsonConfig{
			Sizes:          rep.Config.sizes,
			Repeats:        rep.Config.repeats,
			Warmup:         rep.Config.warmup,
			Cold:           rep.Config.cold,
			Populate:       rep.Config.populate,
			BigDataBytes:   rep.Config.bigdata,
			TimeoutSeconds: rep.Config.timeout.Seconds(),
		},
		Results: []jsonResult{},
		BigData: rep.BigData,
	}
	for _, k := range rep.Config.data {
		doc.Config.Data = append(doc.Config.Data, k.Name)
	}
	for _, t := range rep.Transports {
		doc.Config.Transports = append(doc.Config.Transports, t.Name)
	}
	for _, r := range rep.Results {
		s := st[r]
		runs := r.Runs
		if runs == nil {
			runs = []measurement{}
		}
		doc.Results = append(doc.Results, jsonResult{
			Transport: r.Transport, Kind: r.Kind, Description: r.Description, Data: r.Data, DType: r.DType,
			SizeBytes: r.SizeBytes, Elements: r.Elements, Checksum: r.Checksum, Verified: r.Verified,
			Error: r.Error, Skipped: r.Skipped, WarmupRuns: r.Warmup, Repeats: len(r.Runs),
			Median: s.Median, MinTotalNS: int64(s.Total.Min), MaxTotalNS: int64(s.Total.Max),
			GBps: s.GBps, SpeedupVsGob: s.Speedup, StoredBytes: s.Stored, Ratio: s.Ratio,
			ConsumerRSSPeak: s.RSSPeak, Runs: runs,
			Scenario: r.scenario(), Workers: r.workers(), scenarioJSON: r.scenarioJSON(),
		})
	}
	return doc
}

// writeJSON writes the --json document.
func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep.jsonDoc())
}

// csvHeader are the --csv columns: the machine, then one measured run.
var csvHeader = []string{
	"date", "cpu", "cores", "memory_bytes", "kernel", "os", "arch", "go_version", "python_version", "numpy_version",
	"shm_dir", "shm_fs", "disk_dir", "disk_fs",
	"scenario", "workers", "data", "dtype", "size_bytes", "elements", "transport", "kind", "run", "verified", "error", "skipped",
	"producer_ns", "fill_ns", "handoff_ns", "open_ns", "read_ns", "total_ns", "gb_per_s",
	"consumer_rss_peak_bytes", "stored_bytes",
	"consumers_pss_bytes", "mem_available_drop_bytes", "updates", "lost_updates", "latency_ns",
}

// writeCSV writes one row per measured run, and one row with empty
// timings for each result that failed or was skipped before any run.
func (rep *report) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	m := rep.Machine
	folder := func(role string) (string, string) {
		for _, f := range m.Folders {
			if f.Role == role {
				return f.Path, f.FS
			}
		}
		return "", ""
	}
	shm, shmFS := folder("shm")
	disk, diskFS := folder("disk")
	machine := []string{rep.Date.UTC().Format(time.RFC3339), m.CPU, strconv.Itoa(m.Cores), strconv.FormatInt(m.MemoryBytes, 10),
		m.Kernel, m.OS, m.Arch, m.GoVersion, m.PythonVer, m.NumPyVer, shm, shmFS, disk, diskFS}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, r := range rep.Results {
		head := append(append([]string{}, machine...), r.scenario(), strconv.Itoa(r.workers()), r.Data, r.DType, i64(r.SizeBytes), i64(r.Elements), r.Transport, r.Kind)
		if len(r.Runs) == 0 {
			row := append(head, "0", strconv.FormatBool(r.Verified), r.Error, r.Skipped)
			row = append(row, make([]string, len(csvHeader)-len(row))...)
			if err := cw.Write(row); err != nil {
				return err
			}
			continue
		}
		for i, x := range r.Runs {
			row := append(append([]string{}, head...), strconv.Itoa(i+1), strconv.FormatBool(r.Verified), r.Error, r.Skipped,
				i64(int64(x.Producer)), i64(int64(x.Fill)), i64(int64(x.Handoff)), i64(int64(x.Open)), i64(int64(x.Read)),
				i64(int64(x.Total)), strconv.FormatFloat(gbPerSec(r.SizeBytes, x.Total), 'f', 4, 64),
				i64(x.RSSPeak), i64(x.Stored),
				i64(x.ConsumersPSS), i64(x.MemDrop), i64(x.Updates), i64(x.Lost), i64(int64(x.Latency)))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeFile creates name and writes it with f, reporting errors with the
// file's name.
func writeFile(name string, f func(io.Writer) error) error {
	out, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := f(out); err != nil {
		out.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}
