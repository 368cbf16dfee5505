package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runArrbench runs arrbench's main program in this process (its worker is
// this test binary, see TestMain) with private folders, and returns the
// exit status, stdout, stderr and the decoded --json document.
func runArrbench(t *testing.T, args ...string) (int, string, string, map[string]any) {
	t.Helper()
	shm, disk, out := t.TempDir(), t.TempDir(), t.TempDir()
	js := filepath.Join(out, "report.json")
	if !slices.Contains(args, "--scenario") {
		args = append([]string{"--scenario", "handoff"}, args...) // the tests of the other scenarios name theirs
	}
	args = append([]string{"--quiet", "--shm-dir", shm, "--disk-dir", disk, "--json", js}, args...)
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	var doc map[string]any
	if b, err := os.ReadFile(js); err == nil {
		require.NoError(t, json.Unmarshal(b, &doc), "the --json file is JSON")
	}
	assertEmpty(t, shm)
	assertEmpty(t, disk)
	if sharedMemoryDir != "" {
		m, _ := filepath.Glob(filepath.Join(sharedMemoryDir, "arrbench-shm-"+strconv.Itoa(os.Getpid())+"-*"))
		assert.Empty(t, m, "SharedMemory segments left behind")
	}
	children.Lock()
	assert.Empty(t, children.m, "child processes left running")
	children.Unlock()
	return code, stdout.String(), stderr.String(), doc
}

// assertEmpty checks that arrbench left nothing in dir.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "files left behind in %s", dir)
}

// resultsByName indexes the JSON results by transport/data/size.
func resultsByName(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range doc["results"].([]any) {
		m := r.(map[string]any)
		key := m["transport"].(string) + "/" + m["data"].(string) + "/" + strconv.FormatInt(int64(m["size_bytes"].(float64)), 10)
		out[key] = m
	}
	return out
}

// TestEndToEnd runs every transport on every data set at two tiny sizes
// and checks that each one verified its data, that the reports have every
// field, and that nothing is left behind. Python's transports must run
// where an interpreter imports NumPy, and always in CI.
func TestEndToEnd(t *testing.T) {
	py, pyErr := findPython("")
	if pyErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have a Python with NumPy for the py-* transports: %v", pyErr)
		}
		t.Logf("the py-* transports will be skipped: %v", pyErr)
	}
	dir := t.TempDir()
	csvPath, plotPath := filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.svg")
	code, stdout, stderr, doc := runArrbench(t, "--sizes", "64KiB,200000", "--data", "all", "--repeats", "2", "--cold",
		"--csv", csvPath, "--plot", plotPath)
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", stderr, stdout)
	require.NotNil(t, doc)
	checkJSONShape(t, doc)
	assert.NotContains(t, stderr, "was written into a recycled file", "npy-tmpfs-recycled recycles")

	res := resultsByName(doc)
	local := localTransports()
	assert.Len(t, res, len(local)*3*2, "one result per transport but the remote ones (--remote), data set and size")
	for _, tr := range local {
		for _, k := range dataKinds {
			for _, size := range []int64{64 << 10, 200000} {
				key := tr.Name + "/" + k.Name + "/" + strconv.FormatInt(size, 10)
				r, ok := res[key]
				require.True(t, ok, "no result for %s", key)
				if tr.Kind == kindPython && pyErr != nil {
					assert.NotEmpty(t, r["skipped"], key)
					continue
				}
				assert.Equal(t, true, r["verified"], "%s: %v %v", key, r["error"], r["skipped"])
				assert.Equal(t, "", r["error"], key)
				assert.Equal(t, 2.0, r["repeats"], key)
				assert.Equal(t, float64(size/int64(k.Size)), r["elements"], key)
				for _, run := range r["runs"].([]any) {
					m := run.(map[string]any)
					assert.Equal(t, r["checksum"], m["checksum"], "%s: the consumer's answer", key)
					assert.Greater(t, m["total_ns"], 0.0, key)
					if tr.Kind != kindRef && sharedMemoryDir != "" {
						assert.Greater(t, m["consumer_rss_peak_bytes"], 0.0, "%s: consumer peak RSS", key)
					}
				}
			}
		}
	}
	if py != nil {
		m := doc["machine"].(map[string]any)
		assert.Equal(t, py.NumPy, m["numpy_version"])
	}
	assert.Contains(t, stdout, "* fastest transport")
	assert.Contains(t, stdout, "BenchmarkArrbench/data=walk/size=200KB/transport=pipe-gob-")
	b, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	assert.Greater(t, strings.Count(string(b), "\n"), len(local)*3*2)
	st, err := os.Stat(plotPath)
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(1000))
}

// TestWorkerDies checks that a consumer dying mid-run becomes an error row
// naming the exit status and stderr, that the run goes on with a new
// worker, and that the exit status is 1.
func TestWorkerDies(t *testing.T) {
	t.Setenv(faultEnv, "pipe-raw:exit")
	code, stdout, stderr, doc := runArrbench(t, "--sizes", "64KiB,128KiB", "--only", "pipe-gob,pipe-raw,inproc-sum", "--repeats", "1", "--warmup", "0")
	assert.Equal(t, 1, code, stderr)
	res := resultsByName(doc)
	for _, size := range []string{"65536", "131072"} {
		raw := res["pipe-raw/normal/"+size]
		assert.Equal(t, false, raw["verified"])
		assert.Contains(t, raw["error"], "exit status 3")
		assert.Contains(t, raw["error"], "exiting on purpose")
		assert.Equal(t, true, res["pipe-gob/normal/"+size]["verified"], "the next transport gets a new worker")
	}
	assert.Contains(t, stdout, "pipe-raw           FAILED: ")
}

// TestWorkerHangs checks that a consumer that stops answering is killed
// after the timeout and reported, not waited for.
func TestWorkerHangs(t *testing.T) {
	t.Setenv(faultEnv, "pipe-raw:hang")
	code, _, stderr, doc := runArrbench(t, "--sizes", "64KiB", "--only", "pipe-raw,pipe-gob", "--repeats", "1", "--warmup", "0", "--timeout", "1s")
	assert.Equal(t, 1, code, stderr)
	res := resultsByName(doc)
	assert.Contains(t, res["pipe-raw/normal/65536"]["error"], "did not answer run within 1s; killed")
	assert.Equal(t, true, res["pipe-gob/normal/65536"]["verified"])
}

// TestInterrupt starts arrbench as a real process, interrupts it while its
// worker hangs, and checks that it exits with status 130, removes its
// folders and stops the worker.
func TestInterrupt(t *testing.T) {
	if sharedMemoryDir == "" {
		t.Skip("signals and /proc are needed")
	}
	shm, disk := t.TempDir(), t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), faultEnv+"=pipe-raw:hang",
		testMainEnv+"=--quiet --sizes 64KiB --only pipe-raw --warmup 0 --shm-dir "+shm+" --disk-dir "+disk)
	stderr := newTailBuffer(64 << 10) // safe to read while the process writes
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Wait for the worker: a child of the producer.
	var worker int
	deadline := time.Now().Add(20 * time.Second)
	for worker == 0 && time.Now().Before(deadline) {
		// Children are listed under the thread that started them.
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/*/children")
		for _, task := range tasks {
			b, _ := os.ReadFile(task)
			if f := strings.Fields(string(b)); len(f) > 0 {
				worker, _ = strconv.Atoi(f[0])
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NotZero(t, worker, "no worker started; stderr: %s", stderr.String())
	ents, _ := os.ReadDir(shm)
	require.Len(t, ents, 1, "the run's folder exists while it runs")
	time.Sleep(300 * time.Millisecond) // let the producer send the run the worker hangs on

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
	assert.Contains(t, stderr.String(), "interrupted")
	assertEmpty(t, shm)
	assertEmpty(t, disk)
	gone := false
	for i := 0; i < 200 && !gone; i++ {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(worker) + "/stat")
		gone = err != nil || strings.Contains(string(b), ") Z ")
		time.Sleep(10 * time.Millisecond)
	}
	assert.True(t, gone, "the worker (pid %d) still runs", worker)
}

// TestBigData runs a scaled-down --bigdata scan (the full one maps a file
// of twice the machine's memory and is a benchmark, not a test).
func TestBigData(t *testing.T) {
	code, stdout, stderr, doc := runArrbench(t, "--bigdata", "--bigdata-size", "32MiB", "--repeats", "3")
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", stderr, stdout)
	checkJSONShape(t, doc)
	big := doc["bigdata"].(map[string]any)
	requireFields(t, "bigdata", big, []string{"file", "fs", "size_bytes", "memory_bytes", "checksum", "verified", "error",
		"create_ns", "open_ns", "scan_ns", "scan_runs_ns", "scan_gb_per_s", "cat_tool", "cat_ns", "cat_runs_ns", "cat_gb_per_s",
		"consumer_rss_peak_bytes", "consumer_anon_peak_bytes"})
	assert.Equal(t, true, big["verified"], big["error"])
	assert.Equal(t, float64(32<<20), big["size_bytes"])
	assert.Greater(t, big["scan_ns"], 0.0)
	assert.Greater(t, big["cat_ns"], 0.0)
	assert.Len(t, big["scan_runs_ns"], 3)
	assert.Len(t, big["cat_runs_ns"], 3)
	if sharedMemoryDir != "" {
		assert.Greater(t, big["consumer_anon_peak_bytes"], 0.0)
	}
	assert.Contains(t, stdout, "mmap scan (consumer process)")
	assert.Contains(t, stdout, "BenchmarkBigdata/size=32MiB/method=mmap-scan-")
	assert.Empty(t, doc["results"])
}

func TestBigMarks(t *testing.T) {
	idx, val := bigMarks(1)
	assert.Equal(t, []int64{0}, idx)
	assert.Equal(t, []float64{1}, val)
	idx, val = bigMarks(160)
	assert.Len(t, idx, 16)
	assert.Equal(t, int64(150), idx[15])
	assert.Equal(t, 16.0, val[15])
	idx, _ = bigMarks(5)
	assert.Equal(t, []int64{0, 1, 2, 3, 4}, idx)
}

// TestPythonConsumerFails checks that a Python consumer that dies or hangs
// becomes an error row, that the Python producer goes on with a new
// consumer, and that its SharedMemory segment is removed.
func TestPythonConsumerFails(t *testing.T) {
	if _, err := findPython(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have a Python with NumPy: %v", err)
		}
		t.Skipf("needs a Python with NumPy: %v", err)
	}
	t.Run("exit", func(t *testing.T) {
		t.Setenv(faultEnv, "py-shm:exit")
		code, _, stderr, doc := runArrbench(t, "--sizes", "64KiB,128KiB", "--only", "py-shm,py-npy", "--repeats", "1", "--warmup", "0")
		assert.Equal(t, 1, code, stderr)
		res := resultsByName(doc)
		for _, size := range []string{"65536", "131072"} {
			assert.Contains(t, res["py-shm/normal/"+size]["error"], "consumer died (exit code 3)")
			assert.Equal(t, true, res["py-npy/normal/"+size]["verified"], res["py-npy/normal/"+size]["error"])
		}
	})
	t.Run("hang", func(t *testing.T) {
		t.Setenv(faultEnv, "py-npy:hang")
		code, _, stderr, doc := runArrbench(t, "--sizes", "64KiB", "--only", "py-npy,py-shm", "--repeats", "1", "--warmup", "0", "--timeout", "1s")
		assert.Equal(t, 1, code, stderr)
		res := resultsByName(doc)
		assert.Contains(t, res["py-npy/normal/65536"]["error"], "consumer did not answer within 1s; killed")
		assert.Equal(t, true, res["py-shm/normal/65536"]["verified"], res["py-shm/normal/65536"]["error"])
	})
}

// TestFolderTooSmall checks that a transport whose folder cannot hold the
// array is skipped with the reason (a 1 MiB tmpfs, mounted when the test
// runs as root), not failed or crashed.
func TestFolderTooSmall(t *testing.T) {
	if sharedMemoryDir == "" || os.Geteuid() != 0 {
		t.Skip("needs Linux and root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	var stdout, stderr bytes.Buffer
	code := run([]string{"--quiet", "--shm-dir", dir, "--disk-dir", t.TempDir(), "--sizes", "4MiB", "--only", "npy-tmpfs,npy-tmpfs-inplace",
		"--repeats", "1", "--format", "table"}, &stdout, &stderr)
	assert.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), "npy-tmpfs          skipped: needs about 4.00MiB in "+dir)
	assert.Contains(t, stdout.String(), "npy-tmpfs-inplace  skipped: needs about 4.00MiB in "+dir)
	assertEmpty(t, dir)
}
