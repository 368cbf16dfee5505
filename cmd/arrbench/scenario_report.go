package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// scenario is the result's scenario, handoff for the transports' own rows.
func (r *result) scenario() string {
	if r.Scenario == "" {
		return scHandoff
	}
	return r.Scenario
}

// workers is the result's K, 1 for the hand-off.
func (r *result) workers() int {
	if r.Workers == 0 {
		return 1
	}
	return r.Workers
}

// scStats are the scenario columns of a result: medians over its runs but
// for lost updates, the largest count of any run.
type scStats struct {
	PSS, MemDrop  int64
	Lost          int64
	Latency       time.Duration
	UpdatesPerSec float64
}

func (r *result) scStats() scStats {
	var s scStats
	if len(r.Runs) == 0 {
		return s
	}
	col := func(f func(m measurement) int64) int64 {
		v := make([]int64, len(r.Runs))
		for i, m := range r.Runs {
			v[i] = f(m)
		}
		return median(v)
	}
	s.PSS = col(func(m measurement) int64 { return m.ConsumersPSS })
	s.MemDrop = col(func(m measurement) int64 { return m.MemDrop })
	s.Latency = time.Duration(col(func(m measurement) int64 { return int64(m.Latency) }))
	for _, m := range r.Runs {
		s.Lost = max(s.Lost, m.Lost)
	}
	if t := time.Duration(col(func(m measurement) int64 { return int64(m.Total) })); t > 0 {
		s.UpdatesPerSec = float64(col(func(m measurement) int64 { return m.Updates })) / t.Seconds()
	}
	return s
}

// scenarioJSON are the scenario fields of a --json result; each appears
// only in the rows of its scenario.
type scenarioJSON struct {
	ConsumersPSS  *int64   `json:"consumers_pss_bytes,omitempty"`      // fanout
	MemDrop       *int64   `json:"mem_available_drop_bytes,omitempty"` // fanout
	Updates       *int64   `json:"updates,omitempty"`                  // update: per run, all workers
	LostUpdates   *int64   `json:"lost_updates,omitempty"`             // update: the most any run lost
	UpdatesPerSec *float64 `json:"updates_per_s,omitempty"`            // update
	Frames        *int     `json:"frames,omitempty"`                   // stream: arrays per round
	FrameBytes    *int64   `json:"frame_bytes,omitempty"`              // stream
	LatencyNS     *int64   `json:"latency_ns,omitempty"`               // stream: median per-array time
}

func (r *result) scenarioJSON() scenarioJSON {
	s := r.scStats()
	var j scenarioJSON
	switch r.scenario() {
	case scFanout:
		j.ConsumersPSS, j.MemDrop = &s.PSS, &s.MemDrop
	case scUpdate:
		u := r.Updates
		j.Updates, j.LostUpdates, j.UpdatesPerSec = &u, &s.Lost, &s.UpdatesPerSec
	case scStream:
		f, fb, l := r.Frames, r.SizeBytes/int64(max(r.Frames, 1)), int64(s.Latency)
		j.Frames, j.FrameBytes, j.LatencyNS = &f, &fb, &l
	}
	return j
}

// handoffOnly is the report restricted to the hand-off rows, which the
// original table, benchmark lines and plot show.
func (rep *report) handoffOnly() *report {
	h := *rep
	h.Results = nil
	for _, r := range rep.Results {
		if r.scenario() == scHandoff {
			h.Results = append(h.Results, r)
		}
	}
	return &h
}

// scGroups groups the non-handoff rows by scenario, K and size, in
// scenarioNames order.
func (rep *report) scGroups() [][]*result {
	var groups [][]*result
	idx := map[string]int{}
	for _, s := range scenarioNames[1:] {
		for _, r := range rep.Results {
			if r.scenario() != s {
				continue
			}
			k := groupKey(r)
			i, ok := idx[k]
			if !ok {
				i = len(groups)
				idx[k] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], r)
		}
	}
	return groups
}

// writeScenarioTables prints a table per scenario, K and size: the rows
// sorted by median end-to-end time, then the references, then what failed,
// was skipped or does not apply.
func (rep *report) writeScenarioTables(w io.Writer, after bool) error {
	st := rep.statsAll()
	bw := &errWriter{w: w}
	for gi, g := range rep.scGroups() {
		if after || gi > 0 {
			bw.printf("\n")
		}
		r0 := g[0]
		sc := r0.scenario()
		switch sc {
		case scFanout:
			bw.printf("fanout K=%d, %s %s: %s\n", r0.workers(), r0.Data, formatSize(r0.SizeBytes), scenarioDesc[sc])
		case scGather:
			bw.printf("gather K=%d, %s float64: %s\n", r0.workers(), formatSize(r0.SizeBytes), scenarioDesc[sc])
		case scUpdate:
			bw.printf("update K=%d, %d counters, %d updates per worker: %s\n", r0.workers(), r0.Elements, r0.Updates/int64(r0.workers()), scenarioDesc[sc])
		case scStream:
			bw.printf("stream, %d arrays of %s %s: %s\n", r0.Frames, r0.Data, formatSize(r0.SizeBytes/int64(max(r0.Frames, 1))), scenarioDesc[sc])
		}
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
			if ri != rj || ri == 3 {
				return ri < rj
			}
			return st[g[i]].Total.Median < st[g[j]].Total.Median
		})
		var unsync time.Duration
		for _, r := range g {
			if r.Transport == "unsynchronized" && r.Verified {
				unsync = st[r].Total.Median
			}
		}
		var head []string
		switch sc {
		case scFanout:
			head = []string{"", "transport", "end-to-end", "min", "max", "vs gob", "producer", "open", "read", "consumers PSS", "PSS/size", "MemAvailable drop", "runs"}
		case scGather:
			head = []string{"", "transport", "end-to-end", "min", "max", "GB/s", "vs gob", "runs"}
		case scUpdate:
			head = []string{"", "method", "end-to-end", "min", "max", "updates/s", "lost updates", "vs unsynchronized", "runs"}
		case scStream:
			head = []string{"", "transport", "round", "GB/s", "per array", "vs gob", "runs"}
		}
		rows := [][]string{head}
		var notes []string
		winner := true
		for _, r := range g {
			s, x := st[r], r.scStats()
			if !r.Verified {
				why, label := r.Skipped, "skipped"
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
			dur := func(d time.Duration) string {
				if d == 0 {
					return "-"
				}
				return formatDuration(d)
			}
			bytes := func(n int64) string {
				if n == 0 {
					return "-"
				}
				return formatBytes(n)
			}
			tot := []string{mark, r.Transport, formatDuration(s.Total.Median), formatDuration(s.Total.Min), formatDuration(s.Total.Max)}
			switch sc {
			case scFanout:
				ratio := "-"
				if x.PSS > 0 {
					ratio = sig3(float64(x.PSS) / float64(r.SizeBytes))
				}
				drop := "-"
				if r.Kind != kindRef && x.MemDrop != 0 {
					drop = formatSignedBytes(x.MemDrop)
				}
				rows = append(rows, append(tot, speed, dur(s.Median.Producer), dur(s.Median.Open), dur(s.Median.Read), bytes(x.PSS), ratio, drop, strconv.Itoa(s.Total.N)))
			case scGather:
				rows = append(rows, append(tot, sig3(s.GBps), speed, strconv.Itoa(s.Total.N)))
			case scUpdate:
				cost := "-"
				if unsync > 0 {
					cost = sig3(float64(s.Total.Median)/float64(unsync)) + "x"
				}
				rows = append(rows, append(tot, sig3(x.UpdatesPerSec), strconv.FormatInt(x.Lost, 10), cost, strconv.Itoa(s.Total.N)))
			case scStream:
				rows = append(rows, []string{mark, r.Transport, formatDuration(s.Total.Median), sig3(s.GBps), dur(x.Latency), speed, strconv.Itoa(s.Total.N)})
			}
		}
		if len(rows) > 1 {
			writeColumns(bw, rows, 2)
		}
		for _, n := range notes {
			bw.printf("%s\n", n)
		}
		switch sc {
		case scFanout:
			bw.printf("end-to-end: until the last of K answers; open, read: the slowest consumer's; consumers PSS: their proportional set sizes summed while each holds the array (shared pages count once); MemAvailable drop: since before the run.\n")
		case scUpdate:
			bw.printf("lost updates: K x updates minus the counters' sum (the most of any run); vs unsynchronized: this method's time / unsynchronized's.\n")
		case scStream:
			bw.printf("round: all arrays, one after the other, each released before the next; per array: median of one array's end-to-end time.\n")
		}
	}
	return bw.err
}

// formatSignedBytes is formatBytes with a sign for negative values.
func formatSignedBytes(n int64) string {
	if n < 0 {
		return "-" + formatBytes(-n)
	}
	return formatBytes(n)
}

// writeScenarioBenchLines prints the verified scenario rows as Go
// benchmark lines, with their extra metrics.
func (rep *report) writeScenarioBenchLines(w io.Writer) error {
	st := rep.statsAll()
	bw := &errWriter{w: w}
	for _, g := range rep.scGroups() {
		for _, r := range g {
			s, x := st[r], r.scStats()
			if !r.Verified || !s.HaveRuns {
				continue
			}
			name := strings.ToUpper(r.scenario()[:1]) + r.scenario()[1:]
			extra := ""
			switch r.scenario() {
			case scFanout:
				extra = fmt.Sprintf("\t%12d consumers-pss-B", x.PSS)
			case scUpdate:
				extra = fmt.Sprintf("\t%12.0f updates/s\t%8d lost-updates", x.UpdatesPerSec, x.Lost)
			case scStream:
				extra = fmt.Sprintf("\t%12d ns/array", int64(x.Latency))
			}
			bw.printf("Benchmark%s/workers=%d/data=%s/size=%s/transport=%s-%d\t%8d\t%12d ns/op\t%10.2f MB/s%s\n",
				name, r.workers(), r.Data, formatSize(r.SizeBytes), r.Transport, rep.Machine.Cores, s.Total.N, int64(s.Total.Median), s.GBps*1e3, extra)
		}
	}
	return bw.err
}

// writeAllPlots draws the hand-off plot to name (when the hand-off ran)
// and one plot per other scenario to name with "-SCENARIO" before the
// extension: fanout the consumers' summed PSS against K per transport
// (largest size), gather the end-to-end time against the size (largest
// K), update the updates per second against K, stream the throughput per
// transport.
func (rep *report) writeAllPlots(name string) ([]string, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".svg", ".png", ".pdf", ".eps", ".jpg", ".jpeg", ".tif", ".tiff":
	default:
		return nil, fmt.Errorf("--plot %s: use a .svg, .png or .pdf file", name)
	}
	var written []string
	if h := rep.handoffOnly(); len(h.Results) > 0 {
		w, err := h.writePlots(name)
		written = append(written, w...)
		if err != nil {
			return written, err
		}
	}
	st := rep.statsAll()
	ext := filepath.Ext(name)
	for _, sc := range scenarioNames[1:] {
		var rs []*result
		for _, r := range rep.Results {
			if r.scenario() == sc && r.Verified {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		file := strings.TrimSuffix(name, ext) + "-" + sc + ext
		p := plot.New()
		p.Add(plotter.NewGrid())
		var order []string
		series := map[string]plotter.XYs{}
		add := func(t string, x, y float64) {
			if _, ok := series[t]; !ok {
				order = append(order, t)
			}
			series[t] = append(series[t], plotter.XY{X: x, Y: y})
		}
		var maxSize int64
		maxK := 0
		for _, r := range rs {
			maxSize, maxK = max(maxSize, r.SizeBytes), max(maxK, r.workers())
		}
		switch sc {
		case scFanout:
			p.Title.Text = fmt.Sprintf("arrbench fanout: memory of K consumers holding one %s array", formatSize(maxSize))
			p.X.Label.Text = "consumer processes K"
			p.Y.Label.Text = "consumers' summed PSS, MiB"
			// Copies grow with K, in-place mappings stay flat: a log axis
			// shows both, and their ratio, at every K.
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{}
			for _, r := range rs {
				if r.SizeBytes == maxSize && r.Kind != kindRef {
					add(r.Transport, float64(r.workers()), float64(r.scStats().PSS)/(1<<20))
				}
			}
		case scGather:
			p.Title.Text = fmt.Sprintf("arrbench gather: K=%d workers fill one float64 result", maxK)
			p.X.Label.Text = "result size"
			p.Y.Label.Text = "end-to-end time, median"
			p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
			var sizes []int64
			for _, r := range rs {
				if r.workers() == maxK {
					add(r.Transport, float64(r.SizeBytes), st[r].Total.Median.Seconds())
					if !slices.Contains(sizes, r.SizeBytes) {
						sizes = append(sizes, r.SizeBytes)
					}
				}
			}
			slices.Sort(sizes)
			p.X.Tick.Marker = sizeTicks(sizes)
			p.Y.Tick.Marker = durationTicks{}
		case scUpdate:
			p.Title.Text = "arrbench update: shared int64 counters"
			p.X.Label.Text = "worker processes K"
			p.Y.Label.Text = "updates per second"
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{}
			for _, r := range rs {
				add(r.Transport, float64(r.workers()), r.scStats().UpdatesPerSec)
			}
		case scStream:
			p.Title.Text = "arrbench stream: arrays published in a row"
			p.Y.Label.Text = "throughput, GB/s"
			var names []string
			var vals plotter.Values
			for _, r := range rs {
				names = append(names, r.Transport)
				vals = append(vals, st[r].GBps)
			}
			bars, err := plotter.NewBarChart(vals, vg.Points(14))
			if err != nil {
				return written, fmt.Errorf("plot %s: %w", file, err)
			}
			p.Add(bars)
			p.NominalX(names...)
		}
		if sc != scStream {
			var args []any
			for _, t := range order {
				xy := series[t]
				sort.Slice(xy, func(i, j int) bool { return xy[i].X < xy[j].X })
				args = append(args, t, xy)
			}
			if len(args) == 0 {
				continue
			}
			if err := plotutil.AddLinePoints(p, args...); err != nil {
				return written, fmt.Errorf("plot %s: %w", file, err)
			}
		}
		if err := savePlot(p, file); err != nil {
			return written, fmt.Errorf("plot %s: %w", file, err)
		}
		written = append(written, file)
	}
	return written, nil
}
