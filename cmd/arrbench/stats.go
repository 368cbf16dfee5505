package main

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// summary describes a sample of durations.
type summary struct {
	N      int
	Median time.Duration
	Min    time.Duration
	Max    time.Duration
}

// summarize returns the median, minimum and maximum of d. The median of an
// even count is the mean of the two middle values. An empty sample gives
// the zero summary.
func summarize(d []time.Duration) summary {
	if len(d) == 0 {
		return summary{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = s[len(s)/2-1] + (s[len(s)/2]-s[len(s)/2-1])/2
	}
	return summary{N: len(s), Median: m, Min: s[0], Max: s[len(s)-1]}
}

// median returns the median of v (the mean of the middle two for an even
// count), or 0 for an empty slice.
func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	a, b := s[len(s)/2-1], s[len(s)/2]
	return a + (b-a)/2
}

// gbPerSec is bytes moved per second of d, in units of 10^9 bytes per second.
// It is 0 when d is not positive.
func gbPerSec(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / d.Seconds() / 1e9
}

// formatDuration prints d with three significant digits and a unit that
// keeps the number between 1 and 1000 ("812µs", "45.1ms", "2.81s").
func formatDuration(d time.Duration) string {
	ns := float64(d)
	switch a := math.Abs(ns); {
	case a == 0:
		return "0"
	case a < 999.5:
		return strconv.FormatFloat(ns, 'f', 0, 64) + "ns"
	case a < 999.5e3:
		return sig3(ns/1e3) + "µs"
	case a < 999.5e6:
		return sig3(ns/1e6) + "ms"
	default:
		return sig3(ns/1e9) + "s"
	}
}
