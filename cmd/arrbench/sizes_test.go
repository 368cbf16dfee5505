package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSize(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"65536", 65536},
		{"64KiB", 64 << 10},
		{"64kib", 64 << 10},
		{"64K", 64 << 10},
		{"64KB", 64000},
		{"1MiB", 1 << 20},
		{"1 MiB", 1 << 20},
		{" 1GiB ", 1 << 30},
		{"8GiB", 8 << 30},
		{"8G", 8 << 30},
		{"1.5GiB", 3 << 29},
		{"100MB", 100e6},
		{"0.5KiB", 512},
		{"1TiB", 1 << 40},
		{"1B", 1},
		{"1024TiB", 1 << 50},
	}
	for _, c := range good {
		got, err := parseSize(c.in)
		if assert.NoError(t, err, c.in) {
			assert.Equal(t, c.want, got, c.in)
		}
	}
	bad := []struct{ in, msg string }{
		{"", "empty"},
		{"KiB", "no number"},
		{"0", "between"},
		{"-1MiB", "between"},
		{"1.3B", "whole number"},
		{"12XB", "unknown unit"},
		{"1..2MiB", "bad number"},
		{"2048TiB", "between"},
		{"99999999999999999999", "bad number"},
		{"1e3", "bad number"},
	}
	for _, c := range bad {
		_, err := parseSize(c.in)
		if assert.Error(t, err, c.in) {
			assert.Contains(t, err.Error(), c.msg, c.in)
		}
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("1MiB,64KiB,1MiB,,1GiB")
	require.NoError(t, err)
	assert.Equal(t, []int64{64 << 10, 1 << 20, 1 << 30}, got)
	_, err = parseSizes(",")
	assert.ErrorContains(t, err, "no sizes")
	_, err = parseSizes("1MiB,x")
	assert.ErrorContains(t, err, `"x"`)
}

func TestFormatSize(t *testing.T) {
	for in, want := range map[int64]string{
		1:           "1B",
		1000:        "1KB",
		1001:        "1001B",
		1024:        "1KiB",
		64 << 10:    "64KiB",
		256 << 20:   "256MiB",
		1 << 30:     "1GiB",
		8 << 30:     "8GiB",
		3 << 29:     "1536MiB",
		200000:      "200KB",
		200004:      "200004B",
		100e6:       "100MB",
		1<<30 + 512: "1073742336B",
	} {
		assert.Equal(t, want, formatSize(in), "%d", in)
	}
	// Exact sizes survive a round trip through the flag syntax.
	for _, v := range []int64{1, 1000, 1001, 1 << 10, 3 << 29, 8 << 30, 65536 * 3, 100e6, 1<<40 + 1} {
		back, err := parseSize(formatSize(v))
		require.NoError(t, err)
		assert.Equal(t, v, back)
	}
}

func TestFormatBytes(t *testing.T) {
	assert.Equal(t, "512B", formatBytes(512))
	assert.Equal(t, "10.7MiB", formatBytes(10916<<10))
	assert.Equal(t, "256MiB", formatBytes(256<<20))
	assert.Equal(t, "1.50GiB", formatBytes(3<<29))
}

func TestSig3(t *testing.T) {
	for in, want := range map[float64]string{
		0: "0", 1.234: "1.23", 12.34: "12.3", 123.4: "123", 1234: "1230",
		9.996: "10.0", 99.96: "100", 0.01234: "0.0123", -2.5: "-2.50",
	} {
		assert.Equal(t, want, sig3(in), "%v", in)
	}
}

func TestFormatDuration(t *testing.T) {
	for in, want := range map[time.Duration]string{
		0:                         "0",
		999:                       "999ns",
		1500:                      "1.50µs",
		45100 * time.Microsecond:  "45.1ms",
		999999 * time.Microsecond: "1.00s",
		2810 * time.Millisecond:   "2.81s",
		999700 * time.Nanosecond:  "1.00ms",
	} {
		assert.Equal(t, want, formatDuration(in), "%d", in)
	}
}

// FuzzParseSize checks that parseSize never panics, accepts only positive
// sizes within bounds, and that what it accepts formats back to a size
// that parses to the same number of bytes when the format is exact.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"64KiB", "1.5GiB", "100MB", "65536", "8G", "", ".", "1e9", "-1", "0.0001KiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseSize(s)
		if err != nil {
			return
		}
		if v <= 0 || v > maxSize {
			t.Fatalf("parseSize(%q) = %d out of bounds", s, v)
		}
		out := formatSize(v)
		back, err := parseSize(out)
		if err != nil || back != v {
			t.Fatalf("parseSize(%q) = %d, formatSize gives %q, which parses to %d, %v", s, v, out, back, err)
		}
	})
}
