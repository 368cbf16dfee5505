package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ms(v ...float64) []measurement {
	var out []measurement
	for _, x := range v {
		d := time.Duration(x * float64(time.Millisecond))
		out = append(out, measurement{Producer: d / 4, Open: d / 4, Read: d / 4, Handoff: d / 4, Total: d, RSSPeak: 20 << 20, Stored: 1 << 20})
	}
	return out
}

// testReport is a made-up run: one data set and size, a baseline, a
// faster transport, a reference, a failure and a skip.
func testReport() *report {
	cfg := &config{sizes: []int64{1 << 20}, data: dataKinds[:1], warmup: 1, timeout: time.Minute, shmDir: "/dev/shm", diskDir: "/var/tmp"}
	res := func(name, kind string, runs []measurement) *result {
		return &result{Transport: name, Kind: kind, Description: name + " desc", Data: "normal", DType: "<f8",
			SizeBytes: 1 << 20, Elements: 1 << 17, Checksum: 42, Warmup: 1, Verified: len(runs) > 0, Runs: runs}
	}
	gob := res("pipe-gob", kindGo, ms(10, 12, 11))
	raw := res("pipe-raw", kindGo, ms(1, 3, 2))
	sum := res("inproc-sum", kindRef, ms(0.5))
	failed := res("py-shm", kindPython, nil)
	failed.Error = "consumer died"
	skipped := res("py-npy", kindPython, nil)
	skipped.Skipped = "no numpy"
	return &report{
		Date:    time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC),
		Command: "arrbench --sizes 1MiB",
		Machine: machineInfo{CPU: "Test CPU", Cores: 2, MemoryBytes: 1 << 34, Kernel: "Linux 6.1", OS: "linux", Arch: "amd64",
			GoVersion: "go1.26", Folders: []folderInfo{{"shm", "/dev/shm", "tmpfs"}, {"disk", "/var/tmp", "ext4"}}},
		Config:     cfg,
		Transports: []*transport{allTransports[0], allTransports[1]},
		Results:    []*result{gob, failed, raw, sum, skipped},
	}
}

func TestWriteTable(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, testReport().writeTable(&out))
	lines := strings.Split(out.String(), "\n")
	assert.Equal(t, "normal 1MiB: standard normal float64 (incompressible), 131072 elements of <f8", lines[0])
	assert.Regexp(t, `^\s+transport\s+end-to-end\s+min\s+max\s+GB/s\s+vs gob`, lines[1])
	assert.Regexp(t, `^\*\s+pipe-raw\s+2\.00ms\s+1\.00ms\s+3\.00ms\s+0\.524\s+5\.50x\s+500µs\s+-\s+500µs\s+500µs\s+500µs\s+20\.0MiB\s+3$`, lines[2])
	assert.Regexp(t, `^\s+pipe-gob\s+11\.0ms\s+10\.0ms\s+12\.0ms\s+0\.0953\s+1\.00x`, lines[3])
	assert.Regexp(t, `^ref\s+inproc-sum\s+500µs`, lines[4])
	assert.Equal(t, "  py-shm             FAILED: consumer died", lines[5])
	assert.Equal(t, "  py-npy             skipped: no numpy", lines[6])
	assert.Contains(t, out.String(), "* fastest transport")
}

func TestWriteBenchLines(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, testReport().writeBenchLines(&out))
	s := out.String()
	assert.True(t, strings.HasPrefix(s, "goos: linux\ngoarch: amd64\npkg: github.com/arrfile/arrfile/cmd/arrbench\ncpu: Test CPU\n"))
	assert.Regexp(t, regexp.MustCompile(`(?m)^BenchmarkArrbench/data=normal/size=1MiB/transport=pipe-raw-2\s+3\s+2000000 ns/op\s+524\.29 MB/s$`), s)
	assert.Regexp(t, regexp.MustCompile(`(?m)^BenchmarkArrbench/data=normal/size=1MiB/transport=pipe-gob-2\s+3\s+11000000 ns/op\s+95\.33 MB/s$`), s)
	assert.NotContains(t, s, "py-shm", "failed results have no benchmark line")
	assert.Equal(t, 3, strings.Count(s, "Benchmark"))
}

// jsonFields are the fields every --json document must have.
var (
	jsonTopFields     = []string{"tool", "command", "date", "machine", "config", "results", "bigdata"}
	jsonMachineFields = []string{"cpu", "cores", "memory_bytes", "kernel", "os", "arch", "go_version", "python", "python_version", "numpy_version", "folders"}
	jsonConfigFields  = []string{"sizes", "data", "transports", "repeats", "warmup", "cold", "populate", "bigdata_bytes", "timeout_seconds"}
	jsonResultFields  = []string{"transport", "kind", "description", "data", "dtype", "size_bytes", "elements", "checksum", "verified",
		"error", "skipped", "warmup_runs", "repeats", "median", "min_total_ns", "max_total_ns", "gb_per_s", "speedup_vs_pipe_gob",
		"stored_bytes", "size_ratio", "consumer_rss_peak_bytes", "runs"}
	jsonPhaseFields = []string{"producer_ns", "fill_ns", "handoff_ns", "open_ns", "read_ns", "total_ns"}
	jsonRunFields   = append(append([]string{}, jsonPhaseFields...), "consumer_rss_peak_bytes", "stored_bytes", "checksum")
)

// requireFields fails unless m has every field.
func requireFields(t *testing.T, what string, m map[string]any, fields []string) {
	t.Helper()
	for _, f := range fields {
		_, ok := m[f]
		require.True(t, ok, "%s lacks %q: %v", what, f, m)
	}
}

// checkJSONShape checks that doc has every field at every level.
func checkJSONShape(t *testing.T, doc map[string]any) {
	t.Helper()
	requireFields(t, "report", doc, jsonTopFields)
	requireFields(t, "machine", doc["machine"].(map[string]any), jsonMachineFields)
	for _, f := range doc["machine"].(map[string]any)["folders"].([]any) {
		requireFields(t, "folder", f.(map[string]any), []string{"role", "path", "fs"})
	}
	requireFields(t, "config", doc["config"].(map[string]any), jsonConfigFields)
	for _, r := range doc["results"].([]any) {
		rm := r.(map[string]any)
		requireFields(t, "result", rm, jsonResultFields)
		requireFields(t, "median", rm["median"].(map[string]any), jsonPhaseFields)
		for _, run := range rm["runs"].([]any) {
			requireFields(t, "run", run.(map[string]any), jsonRunFields)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, testReport().writeJSON(&out))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	checkJSONShape(t, doc)
	res := doc["results"].([]any)
	require.Len(t, res, 5)
	raw := res[2].(map[string]any)
	assert.Equal(t, "pipe-raw", raw["transport"])
	assert.Equal(t, 2e6, raw["median"].(map[string]any)["total_ns"])
	assert.InDelta(t, 5.5, raw["speedup_vs_pipe_gob"], 1e-9)
	assert.Equal(t, 3.0, raw["repeats"])
	assert.Equal(t, 1.0, raw["size_ratio"])
	assert.Len(t, raw["runs"], 3)
	failed := res[1].(map[string]any)
	assert.Equal(t, "consumer died", failed["error"])
	assert.Equal(t, false, failed["verified"])
	assert.Equal(t, []any{}, failed["runs"], "runs is a list even when empty")
	assert.Equal(t, "2026-11-28T12:00:00Z", doc["date"])
}

func TestWriteCSV(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, testReport().writeCSV(&out))
	rows, err := csv.NewReader(&out).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+3+1+3+1+1, "header, a row per run, a row per result without runs")
	assert.Equal(t, csvHeader, rows[0])
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		require.Len(t, r, len(csvHeader))
		assert.Equal(t, "Test CPU", r[col["cpu"]])
		assert.Equal(t, "tmpfs", r[col["shm_fs"]])
		assert.Equal(t, "ext4", r[col["disk_fs"]])
	}
	raw := rows[5]
	assert.Equal(t, "pipe-raw", raw[col["transport"]])
	assert.Equal(t, "1", raw[col["run"]])
	assert.Equal(t, "1000000", raw[col["total_ns"]])
	assert.Equal(t, "1.0486", raw[col["gb_per_s"]])
	failed := rows[4]
	assert.Equal(t, "py-shm", failed[col["transport"]])
	assert.Equal(t, "consumer died", failed[col["error"]])
	assert.Equal(t, "", failed[col["total_ns"]])
}

func TestWritePlots(t *testing.T) {
	dir := t.TempDir()
	rep := testReport()
	rep.Config.data = dataKinds[:2]
	rep.Config.sizes = []int64{64 << 10, 1 << 20}
	small := *rep.Results[0]
	small.SizeBytes = 64 << 10
	small.Runs = ms(1)
	rep.Results = append(rep.Results, &small)
	for _, ext := range []string{".svg", ".png"} {
		files, err := rep.writePlots(filepath.Join(dir, "plot"+ext))
		require.NoError(t, err)
		require.Equal(t, []string{filepath.Join(dir, "plot"+ext)}, files, "no plot for a data set without results")
		b, err := os.ReadFile(files[0])
		require.NoError(t, err)
		if ext == ".svg" {
			assert.Contains(t, string(b[:200]), "<svg")
			assert.Contains(t, string(b), "pipe-raw")
			assert.Contains(t, string(b), "64KiB")
		} else {
			assert.Equal(t, "\x89PNG", string(b[:4]))
		}
	}
	_, err := rep.writePlots(filepath.Join(dir, "plot.txt"))
	assert.ErrorContains(t, err, ".svg")
	assert.Equal(t, map[string]string{"normal": "a/p.svg", "smooth": "a/p-smooth.svg"}, plotFiles("a/p.svg", dataKinds[:2]))
}

func TestDurationTicks(t *testing.T) {
	var labels []string
	for _, tk := range (durationTicks{}).Ticks(2e-6, 3) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	assert.Equal(t, []string{"10µs", "100µs", "1ms", "10ms", "100ms", "1s"}, labels)
	assert.Empty(t, (durationTicks{}).Ticks(0, 1))
	assert.Equal(t, "1.5s", trimZeros("1.50s"))
	assert.Equal(t, "10ms", trimZeros("10.0ms"))
	assert.Equal(t, "123ns", trimZeros("123ns"))
}
