package main

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotFiles returns the file each data set's plot goes to: the first data
// set to name itself, the others to name with "-DATA" before the extension.
func plotFiles(name string, data []dataKind) map[string]string {
	out := map[string]string{}
	ext := filepath.Ext(name)
	for i, k := range data {
		if i == 0 {
			out[k.Name] = name
		} else {
			out[k.Name] = strings.TrimSuffix(name, ext) + "-" + k.Name + ext
		}
	}
	return out
}

// writePlots draws, for each data set, the median end-to-end time against
// the array size for every transport, log-log, into the file(s) of
// plotFiles. The format follows the extension (.svg, .png, .pdf, ...).
func (rep *report) writePlots(name string) ([]string, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".svg", ".png", ".pdf", ".eps", ".jpg", ".jpeg", ".tif", ".tiff":
	default:
		return nil, fmt.Errorf("--plot %s: use a .svg, .png or .pdf file", name)
	}
	st := rep.statsAll()
	var written []string
	for _, k := range rep.Config.data {
		file := plotFiles(name, rep.Config.data)[k.Name]
		p := plot.New()
		p.Title.Text = fmt.Sprintf("arrbench: handing a %s array to another process (%s)", k.DType, k.Name)
		p.X.Label.Text = "array size (bytes)"
		p.Y.Label.Text = "end-to-end time (s), median"
		p.X.Scale = plot.LogScale{}
		p.Y.Scale = plot.LogScale{}
		p.X.Tick.Marker = sizeTicks(rep.Config.sizes)
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Legend.Top = true
		p.Legend.Left = true
		p.Add(plotter.NewGrid())
		var args []any
		for _, t := range rep.Transports {
			var xy plotter.XYs
			for _, r := range rep.Results {
				if r.Transport == t.Name && r.Data == k.Name && r.Verified {
					if s := st[r]; s.Total.Median > 0 {
						xy = append(xy, plotter.XY{X: float64(r.SizeBytes), Y: s.Total.Median.Seconds()})
					}
				}
			}
			if len(xy) == 0 {
				continue
			}
			sort.Slice(xy, func(i, j int) bool { return xy[i].X < xy[j].X })
			label := t.Name
			if t.Kind == kindRef {
				label += " (in-process)"
			}
			args = append(args, label, xy)
		}
		if len(args) == 0 {
			continue
		}
		if err := plotutil.AddLinePoints(p, args...); err != nil {
			return written, fmt.Errorf("plot %s: %w", file, err)
		}
		if err := p.Save(22*vg.Centimeter, 15*vg.Centimeter, file); err != nil {
			return written, fmt.Errorf("plot %s: %w", file, err)
		}
		written = append(written, file)
	}
	return written, nil
}

// sizeTicks labels the x axis with the measured sizes ("64KiB", "1MiB").
type sizeTicks []int64

func (s sizeTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, v := range s {
		if f := float64(v); f >= lo*0.999 && f <= hi*1.001 {
			out = append(out, plot.Tick{Value: f, Label: formatSize(v)})
		}
	}
	// Minor ticks on every power of two in range.
	for e := math.Ceil(math.Log2(math.Max(lo, 1))); math.Pow(2, e) <= hi; e++ {
		out = append(out, plot.Tick{Value: math.Pow(2, e)})
	}
	return out
}
