package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// sizeUnits maps a size suffix (lower case) to its multiplier. Binary
// prefixes (KiB, K) are powers of 1024, SI prefixes (KB) powers of 1000.
var sizeUnits = map[string]float64{
	"":    1,
	"b":   1,
	"k":   1 << 10,
	"kib": 1 << 10,
	"kb":  1e3,
	"m":   1 << 20,
	"mib": 1 << 20,
	"mb":  1e6,
	"g":   1 << 30,
	"gib": 1 << 30,
	"gb":  1e9,
	"t":   1 << 40,
	"tib": 1 << 40,
	"tb":  1e12,
}

// maxSize bounds a single size: a larger array cannot be generated in memory
// on any machine this benchmark targets, and the bound keeps products with
// small multipliers far from int64 overflow.
const maxSize = 1 << 50

// parseSize parses a byte count such as "65536", "64KiB", "1.5GiB", "8G" or
// "100MB". K, M, G and T without "B" are binary (as in dd), "KB", "MB",
// "GB" and "TB" are decimal. The result must be a whole, positive number
// of bytes no larger than 1 PiB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("size %q: empty", s)
	}
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)", s, t[i:])
	}
	if num == "" {
		return 0, fmt.Errorf("size %q: no number", s)
	}
	if strings.Contains(num, ".") {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("size %q: bad number %q", s, num)
		}
		v := f * mult
		if v <= 0 || v > maxSize {
			return 0, fmt.Errorf("size %q: must be between 1 byte and 1 PiB", s)
		}
		if v != math.Trunc(v) {
			return 0, fmt.Errorf("size %q: %g is not a whole number of bytes", s, v)
		}
		return int64(v), nil
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: bad number %q", s, num)
	}
	if n <= 0 || float64(n)*mult > maxSize {
		return 0, fmt.Errorf("size %q: must be between 1 byte and 1 PiB", s)
	}
	return n * int64(mult), nil
}

// parseSizes parses a comma-separated list of sizes and returns them
// sorted ascending without duplicates.
func parseSizes(s string) ([]int64, error) {
	var out []int64
	seen := map[int64]bool{}
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		v, err := parseSize(f)
		if err != nil {
			return nil, err
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no sizes in %q", s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// formatSize prints a byte count exactly, so that it parses back to the
// same number: with the largest binary unit that divides it ("64KiB",
// "256MiB", "8GiB"), else the largest decimal unit ("100MB"), else in bytes
// ("200004B").
func formatSize(n int64) string {
	units := []struct {
		name string
		v    int64
	}{
		{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
	}
	for _, u := range units {
		if n >= u.v && n%u.v == 0 {
			return strconv.FormatInt(n/u.v, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// formatBytes prints an approximate byte count with three significant
// digits of the largest binary unit it reaches ("10.7MiB", "256MiB", "512B").
func formatBytes(n int64) string {
	units := []struct {
		name string
		v    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if n >= u.v {
			return sig3(float64(n)/float64(u.v)) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// sig3 formats v with three significant digits ("1.23", "12.3", "123",
// "1230"); 9.996 becomes "10.0".
func sig3(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	decimals := func(x float64) int { return 2 - int(math.Floor(math.Log10(math.Abs(x)))) }
	d := decimals(v)
	p := math.Pow(10, float64(d))
	r := math.Round(v*p) / p
	if d = decimals(r); d < 0 {
		d = 0
	}
	return strconv.FormatFloat(r, 'f', d, 64)
}
