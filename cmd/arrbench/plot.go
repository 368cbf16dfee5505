package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
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
		p.X.Label.Text = "array size"
		p.Y.Label.Text = "end-to-end time, median"
		p.X.Scale = plot.LogScale{}
		p.Y.Scale = plot.LogScale{}
		p.X.Tick.Marker = sizeTicks(rep.Config.sizes)
		p.Y.Tick.Marker = durationTicks{}
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
		if err := savePlot(p, file); err != nil {
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

// savePlot draws p with its legend to the right of the axes (thirteen
// lines would cover the data inside them) into file.
func savePlot(p *plot.Plot, file string) error {
	const width, height, legendWidth = 26 * vg.Centimeter, 15 * vg.Centimeter, 5.5 * vg.Centimeter
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(file)), ".")
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	leg := p.Legend
	p.Legend = plot.NewLegend()
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	leg.Top, leg.Left = true, true
	leg.XOffs = vg.Millimeter * 3
	leg.YOffs = -vg.Centimeter
	leg.Draw(draw.Crop(dc, width-legendWidth, 0, 0, 0))
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// durationTicks labels a logarithmic time axis in seconds with durations
// ("10µs", "1ms", "1s") at powers of ten, with unlabelled minor ticks.
type durationTicks struct{}

func (durationTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	if lo <= 0 || hi <= lo {
		return out
	}
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		base := math.Pow(10, e)
		for k := 1.0; k < 10; k++ {
			v := k * base
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if k == 1 {
				t.Label = trimZeros(formatDuration(time.Duration(math.Round(v * 1e9))))
			}
			out = append(out, t)
		}
	}
	return out
}

// trimZeros drops the trailing zeros of a number's fraction, keeping its
// unit: "10.0ms" becomes "10ms", "1.50s" becomes "1.5s".
func trimZeros(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], s[i:]
	if strings.Contains(num, ".") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	return num + unit
}
