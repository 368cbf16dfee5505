package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scenarioRows indexes the JSON results by scenario/K/transport/size.
func scenarioRows(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range doc["results"].([]any) {
		m := r.(map[string]any)
		key := m["scenario"].(string) + "/" + strconv.Itoa(int(m["workers"].(float64))) + "/" + m["transport"].(string) + "/" +
			strconv.FormatInt(int64(m["size_bytes"].(float64)), 10)
		_, dup := out[key]
		require.False(t, dup, "two results for %s", key)
		out[key] = m
	}
	return out
}

// havePython reports whether the py-* rows must run: where an interpreter
// imports NumPy, and always in CI.
func havePython(t *testing.T) bool {
	if _, err := findPython(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have a Python with NumPy: %v", err)
		}
		t.Logf("the py-* rows will be skipped: %v", err)
		return false
	}
	return true
}

// TestScenariosEndToEnd runs fanout, gather, update and stream with tiny
// sizes and every transport and method, Python's included, and checks
// that every row ran and verified its data (or says why it does not
// apply), that the JSON rows carry every field, that the safe update
// methods lost no update, that the CSV and the plots are written, and
// (runArrbench) that nothing is left behind; npy-tmpfs-recycled must
// write into recycled files.
func TestScenariosEndToEnd(t *testing.T) {
	py := havePython(t)
	dir := t.TempDir()
	csvPath, plotPath := filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.svg")
	code, stdout, stderr, doc := runArrbench(t, "--scenario", "fanout,gather,update,stream", "--workers", "1,3",
		"--sizes", "256KiB", "--repeats", "2", "--updates", "3000", "--counters", "100",
		"--stream-size", "64KiB", "--stream-count", "3", "--csv", csvPath, "--plot", plotPath)
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", stderr, stdout)
	checkJSONShape(t, doc)
	rows := scenarioRows(t, doc)

	check := func(s string, k int, e *scEntry, size int64) map[string]any {
		key := s + "/" + strconv.Itoa(k) + "/" + e.name + "/" + strconv.FormatInt(size, 10)
		r, ok := rows[key]
		require.True(t, ok, "no result for %s", key)
		requireFields(t, key, r, []string{"scenario", "workers", "transport", "verified", "median", "error", "skipped"})
		require.Contains(t, r["median"], "total_ns", key)
		switch {
		case e.na != "":
			assert.Contains(t, r["skipped"], "not applicable: ", key)
			return nil
		case e.kind == kindPython && !py:
			assert.NotEmpty(t, r["skipped"], key)
			return nil
		case e.unavailable != nil && e.unavailable(&bench{cfg: &config{}}) != "" && e.kind != kindPython:
			assert.NotEmpty(t, r["skipped"], key)
			return nil
		}
		assert.Equal(t, true, r["verified"], "%s: %v %v", key, r["error"], r["skipped"])
		assert.Equal(t, 2.0, r["repeats"], key)
		assert.Greater(t, r["median"].(map[string]any)["total_ns"], 0.0, key)
		return r
	}
	for _, k := range []int{1, 3} {
		for _, e := range scenarioEntries(scFanout) {
			r := check(scFanout, k, e, 256<<10)
			if r == nil {
				continue
			}
			require.Contains(t, r, "consumers_pss_bytes", e.name)
			require.Contains(t, r, "mem_available_drop_bytes", e.name)
			if e.kind != kindRef && sharedMemoryDir != "" {
				assert.Greater(t, r["consumers_pss_bytes"], 0.0, "%s K=%d: the consumers' PSS", e.name, k)
			}
			for _, run := range r["runs"].([]any) {
				assert.Equal(t, r["checksum"], run.(map[string]any)["checksum"], "%s: every consumer's answer", e.name)
			}
		}
		for _, e := range scenarioEntries(scGather) {
			check(scGather, k, e, 256<<10)
		}
		for _, e := range scenarioEntries(scUpdate) {
			r := check(scUpdate, k, e, 800)
			if r == nil {
				continue
			}
			require.Contains(t, r, "lost_updates", e.name)
			assert.Equal(t, float64(k*3000), r["updates"], e.name)
			if safeMethod(e.name) {
				assert.Equal(t, 0.0, r["lost_updates"], "%s lost updates", e.name)
			}
		}
	}
	streamed := 0
	for _, tr := range allTransports {
		if tr.Kind == kindRef || strings.HasSuffix(tr.Name, "-cold") || tr.Remote {
			continue
		}
		r := check(scStream, 1, &scEntry{name: tr.Name, kind: tr.Kind, unavailable: tr.Unavailable}, 3*64<<10)
		if r != nil {
			streamed++
			assert.Equal(t, 3.0, r["frames"])
			assert.Greater(t, r["latency_ns"], 0.0)
		}
	}
	assert.Greater(t, streamed, 5)
	assert.NotContains(t, stderr, "was written into a recycled file", "npy-tmpfs-recycled recycles")
	for _, want := range []string{"fanout K=3, normal 256KiB", "gather K=1, 256KiB float64", "update K=3, 100 counters, 3000 updates per worker",
		"stream, 3 arrays of normal 64KiB", "not applicable: ", "BenchmarkFanout/workers=3/data=normal/size=256KiB/transport=npy-tmpfs-",
		"BenchmarkUpdate/workers=3/data=counters/size=800B/transport=atomic-"} {
		assert.Contains(t, stdout, want)
	}
	b, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	assert.Contains(t, string(b), "consumers_pss_bytes")
	for _, s := range []string{"fanout", "gather", "update", "stream"} {
		st, err := os.Stat(filepath.Join(dir, "r-"+s+".svg"))
		require.NoError(t, err, s)
		assert.Greater(t, st.Size(), int64(1000), s)
	}
}

// TestScenarioWorkerDies kills a worker in the middle of a fanout, a
// gather and a Python fanout: each becomes an error row naming the cause,
// the other rows still run with new workers, and runArrbench checks that
// nothing is left in the shared folders or /dev/shm.
func TestScenarioWorkerDies(t *testing.T) {
	for _, c := range []struct{ fault, scenario, only, also string }{
		{"memfd:exit", "fanout", "memfd,npy-tmpfs", "npy-tmpfs"},
		{"npy-tmpfs-inplace:exit", "gather", "npy-tmpfs-inplace,pipe-raw", "pipe-raw"},
		{"atomic:exit", "update", "atomic,file-lock", "file-lock"},
		{"py-shm:exit", "fanout", "py-shm,py-npy", "py-npy"},
	} {
		t.Run(c.fault, func(t *testing.T) {
			if strings.HasPrefix(c.fault, "py-") && !havePython(t) {
				t.Skip("needs a Python with NumPy")
			}
			t.Setenv(faultEnv, c.fault)
			code, _, stderr, doc := runArrbench(t, "--scenario", c.scenario, "--workers", "2", "--sizes", "128KiB", "--only", c.only,
				"--repeats", "1", "--warmup", "0", "--updates", "100", "--counters", "16")
			assert.Equal(t, 1, code, stderr)
			rows := scenarioRows(t, doc)
			var failed, ok map[string]any
			for _, r := range rows {
				switch r["transport"] {
				case strings.Split(c.fault, ":")[0]:
					failed = r
				case c.also:
					ok = r
				}
			}
			require.NotNil(t, failed)
			require.NotNil(t, ok)
			assert.Equal(t, false, failed["verified"])
			assert.Contains(t, failed["error"], "exit")
			assert.Equal(t, true, ok["verified"], ok["error"])
		})
	}
}

func TestScenarioFlags(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"--scenario bogus", `unknown scenario "bogus"`},
		{"--scenario ,", "names no scenario"},
		{"--workers 0", "want numbers from 1 to 64"},
		{"--workers 2,x", "want numbers from 1 to 64"},
		{"--updates 0", "--updates 0"},
		{"--counters 0", "--counters 0"},
		{"--stream-size 4", "smaller than one element"},
		{"--stream-count 0", "--stream-count 0"},
		{"--scenario update --only bogus", `unknown transport "bogus"`},
	} {
		var stderr bytes.Buffer
		code := run(strings.Fields(c.args), &bytes.Buffer{}, &stderr)
		assert.Equal(t, 2, code, c.args)
		assert.Contains(t, stderr.String(), c.want, c.args)
	}
	cfg, _, err := parseFlags([]string{"--scenario", "all", "--workers", "8,1,2,2"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, scenarioNames, cfg.sc.names)
	assert.Equal(t, []int{1, 2, 8}, cfg.sc.workers)
	assert.False(t, cfg.sc.sizesSet)
	cfg, _, err = parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, []string{scHandoff, scFanout}, cfg.sc.names, "the default run shows the hand-off and a fanout")
	assert.Equal(t, []int{4}, cfg.sc.workers)
	var out bytes.Buffer
	require.Equal(t, 0, run([]string{"--list"}, &out, &bytes.Buffer{}))
	for _, want := range []string{"scenario fanout:", "scenario update:", "unsynchronized", "py-shm-lock", "arrow-tmpfs", "not applicable: "} {
		assert.Contains(t, out.String(), want)
	}
}

// TestScenarioInterrupt interrupts a fanout while its K workers hang and
// checks that arrbench exits with status 130, removes its folders and
// stops every worker.
func TestScenarioInterrupt(t *testing.T) {
	if sharedMemoryDir == "" {
		t.Skip("signals and /proc are needed")
	}
	shm, disk := t.TempDir(), t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), faultEnv+"=pipe-raw:hang",
		testMainEnv+"=--quiet --scenario fanout --workers 2 --sizes 64KiB --only pipe-raw --warmup 0 --shm-dir "+shm+" --disk-dir "+disk)
	stderr := newTailBuffer(64 << 10)
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var workers []int
	deadline := time.Now().Add(20 * time.Second)
	for len(workers) < 2 && time.Now().Before(deadline) {
		workers = workers[:0]
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/*/children")
		for _, task := range tasks {
			b, _ := os.ReadFile(task)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					workers = append(workers, pid)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.Len(t, workers, 2, "the two workers did not start; stderr: %s", stderr.String())
	time.Sleep(300 * time.Millisecond) // let the producer send the run the workers hang on

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	select {
	case err := <-done:
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, 130, ee.ExitCode())
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("arrbench did not exit after SIGINT")
	}
	assertEmpty(t, shm)
	assertEmpty(t, disk)
	for _, w := range workers {
		gone := false
		for i := 0; i < 200 && !gone; i++ {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(w) + "/stat")
			gone = err != nil || strings.Contains(string(b), ") Z ")
			time.Sleep(10 * time.Millisecond)
		}
		assert.True(t, gone, "worker %d still runs", w)
	}
}
