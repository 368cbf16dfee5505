//go:build linux

package python_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/npy"
)

// envHelper selects a helper process in TestMain (the test binary re-execs
// itself to run the Go producer).
const envHelper = "ARRFILE_PYTHON_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(envHelper) {
	case "":
		code := m.Run()
		if arrBin != "" {
			os.RemoveAll(filepath.Dir(arrBin))
		}
		os.Exit(code)
	case "republish":
		if err := republish(os.Args[len(os.Args)-1]); err != nil {
			fmt.Fprintln(os.Stderr, "republish:", err)
			os.Exit(1)
		}
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(envHelper))
		os.Exit(3)
	}
}

// The two shapes the Go producer alternates between. Every element of an
// array holds shapeCode of its own shape, so a header from one file with
// the data of the other is detectable. Their sizes differ (128 KiB and
// 16 KiB): a big header over a small file cannot be mapped at all.
var shapes = [2][2]int{{128, 128}, {32, 64}}

func shapeCode(s [2]int) int64 { return int64(s[0])*100000 + int64(s[1]) }

// republish writes name with alternating shapes as fast as it can, each
// time a complete file under a temporary name then os.Rename onto name,
// until it is killed.
func republish(name string) error {
	var data [2][]int64
	for i, s := range shapes {
		data[i] = make([]int64, s[0]*s[1])
		for j := range data[i] {
			data[i][j] = shapeCode(s)
		}
	}
	dir := filepath.Dir(name)
	for i := 0; ; i++ {
		k := i % 2
		f, err := os.CreateTemp(dir, ".republish-*.tmp")
		if err != nil {
			return err
		}
		if err := npy.Write(f, data[k], shapes[k][0], shapes[k][1]); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(f.Name(), name); err != nil {
			return err
		}
	}
}

// moduleDir is the folder of arrfile.py: this package's folder, which is
// the working directory of its tests.
func moduleDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(wd, "arrfile.py"))
	return wd
}

// pyCmd returns a command running script with the NumPy interpreter and
// arrfile.py importable.
func pyCmd(t testing.TB, ctx context.Context, script string, args ...string) *exec.Cmd {
	t.Helper()
	py := pytest.Require(t)
	cmd := exec.CommandContext(ctx, py, append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+moduleDir(t), "PYTHONDONTWRITEBYTECODE=1")
	return cmd
}

// runPy runs script to its end (at most a minute) and returns its
// standard output; the test fails with its stderr on error.
func runPy(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := pyCmd(t, ctx, script, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "python: %s", stderr.String())
	return out
}

// syncBuffer is a bytes.Buffer that may be read while a child process
// writes it (exec copies a non-file Stderr from another goroutine).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// shmDir returns a fresh folder on /dev/shm (where arrays are shared in
// practice), or a temporary folder where there is none.
func shmDir(t testing.TB) string {
	t.Helper()
	if unix.Access("/dev/shm", unix.W_OK) == nil {
		d, err := os.MkdirTemp("/dev/shm", "arrfile-python-test-")
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return t.TempDir()
}

// dataOffset returns the size of the .npy header of the file at path (the
// file offset of data byte 0), read from the raw bytes.
func dataOffset(t testing.TB, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var pre [12]byte
	_, err = io.ReadFull(f, pre[:])
	require.NoError(t, err)
	require.Equal(t, "\x93NUMPY", string(pre[:6]))
	if pre[6] == 1 {
		return 10 + int64(binary.LittleEndian.Uint16(pre[8:10]))
	}
	return 12 + int64(binary.LittleEndian.Uint32(pre[8:12]))
}

var (
	arrOnce sync.Once
	arrBin  string
	arrErr  error
)

// buildArr builds cmd/arr once per test binary, from the module root.
func buildArr(t *testing.T) string {
	t.Helper()
	arrOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		gomod, err := exec.Command(goBin, "env", "GOMOD").Output()
		if err != nil {
			arrErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(gomod)))
		dir, err := os.MkdirTemp("", "arrfile-python-arr-")
		if err != nil {
			arrErr = err
			return
		}
		bin := filepath.Join(dir, "arr")
		cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/arr")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			arrErr = fmt.Errorf("go build ./cmd/arr: %v\n%s", err, out)
			return
		}
		arrBin = bin
	})
	require.NoError(t, arrErr)
	return arrBin // kept for the other tests; TestMain removes it
}

// loadLoop is the Python consumer of TestLoadWhileGoRepublishes: it loads
// name for SECS seconds with arrfile.load or np.load(mmap_mode="r") and
// counts loads whose shape does not match their data.
const loadLoop = `
import json, sys, time
import numpy as np
import arrfile
name, how, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
load = arrfile.load if how == "arrfile" else (lambda n: np.load(n, mmap_mode="r"))
res = {"loads": 0, "mismatches": 0, "errors": 0, "changes": 0, "shapes": [], "error_kinds": {}}
last = None
end = time.monotonic() + secs
while time.monotonic() < end:
    try:
        a = load(name)
    except Exception as e:
        res["errors"] += 1
        kind = type(e).__name__ + ": " + str(e).split(":")[-1].strip()[:50]
        res["error_kinds"][kind] = res["error_kinds"].get(kind, 0) + 1
        continue
    res["loads"] += 1
    code = a.shape[0] * 100000 + a.shape[1]
    if int(a[0, 0]) != code or int(a[-1, -1]) != code:
        res["mismatches"] += 1
    if a.shape != last:
        res["changes"] += 1
        last = a.shape
        if list(a.shape) not in res["shapes"]:
            res["shapes"].append(list(a.shape))
    del a
print(json.dumps(res))
`

type loadResult struct {
	Loads, Mismatches, Errors, Changes int
	Shapes                             [][]int
	ErrorKinds                         map[string]int `json:"error_kinds"`
}

// TestLoadWhileGoRepublishes: a Go process republishes one name with
// alternating shapes as fast as it can while Python loads it in a loop.
// arrfile.load (one open, everything through that descriptor) must never
// return a shape that does not match its data, nor fail; plain
// np.load(name, mmap_mode="r"), which opens the path three times, is run
// the same way for comparison (its counts are logged, not asserted: how
// often the race hits depends on the machine).
func TestLoadWhileGoRepublishes(t *testing.T) {
	pytest.Require(t)
	dir := shmDir(t)
	name := filepath.Join(dir, "frames.npy")
	require.NoError(t, writeNpyFile(name, make([]int64, 4), 2, 2)) // the name exists from the start

	exe, err := os.Executable()
	require.NoError(t, err)
	prod := exec.Command(exe, "-test.run=^$", name)
	prod.Env = append(os.Environ(), envHelper+"=republish")
	var prodErr bytes.Buffer
	prod.Stderr = &prodErr
	require.NoError(t, prod.Start())
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			prod.Process.Kill()
			prod.Wait()
		}
	}
	defer stop()
	time.Sleep(50 * time.Millisecond) // let it get going

	run := func(how string) loadResult {
		var r loadResult
		out := runPy(t, loadLoop, name, how, "1.5")
		require.NoError(t, json.Unmarshal(out, &r), "%s", out)
		return r
	}
	withArrfile := run("arrfile")
	raw := run("numpy")
	stop()
	require.Empty(t, prodErr.String(), "the Go producer failed")

	t.Logf("arrfile.load: %d loads, %d shape changes seen, %d with a shape not matching their data, %d errors %v",
		withArrfile.Loads, withArrfile.Changes, withArrfile.Mismatches, withArrfile.Errors, withArrfile.ErrorKinds)
	t.Logf("np.load(mmap_mode=\"r\"), for comparison: %d loads, %d shape changes seen, %d with a shape not matching their data, %d errors %v",
		raw.Loads, raw.Changes, raw.Mismatches, raw.Errors, raw.ErrorKinds)

	assert.Zero(t, withArrfile.Mismatches, "arrfile.load mixed one file's header with another's data")
	assert.Zero(t, withArrfile.Errors, "arrfile.load failed while the name was republished: %v", withArrfile.ErrorKinds)
	assert.Greater(t, withArrfile.Loads, 100)
	// The test means something only if the name changed under the loop.
	assert.Len(t, withArrfile.Shapes, 2, "arrfile.load saw only %v: the producer did not republish during the loop", withArrfile.Shapes)
	assert.Greater(t, withArrfile.Changes, 10)
}

// gcLoop runs `arr gc --older-than AGE dir` over and over until stop is
// closed, and returns the number of runs and every path gc removed.
func gcLoop(t *testing.T, arr, age, dir string, stop <-chan struct{}) (runs func() int, removed func() []string, wait func()) {
	var (
		mu   sync.Mutex
		n    int
		rm   []string
		errs []string
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			var stderr bytes.Buffer
			cmd := exec.Command(arr, "gc", "--older-than", age, dir)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			mu.Lock()
			n++
			if err != nil {
				errs = append(errs, fmt.Sprintf("%v: %s", err, stderr.String()))
			}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if p, ok := strings.CutPrefix(line, "removed "); ok {
					rm = append(rm, p)
				}
			}
			mu.Unlock()
		}
	}()
	return func() int { mu.Lock(); defer mu.Unlock(); return n },
		func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), rm...) },
		func() {
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			assert.Empty(t, errs, "arr gc failed")
		}
}

// producerLoop is the Python producer of TestPythonProducerWhileGCLoops:
// N arrays, each filled, then held unpublished for PAUSE seconds, then
// published. With "arrfile" it uses arrfile.create; with "recipe" the raw
// NumPy recipe (mkstemp in mmfile's name pattern, open_memmap, os.replace)
// for comparison; with "recipe-locked" the raw recipe of python/README.md,
// which adds the OFD lock.
const producerLoop = `
import fcntl, json, os, struct, sys, tempfile, time
import numpy as np
import arrfile
name, how, n, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
res = {"published": 0, "failed": [], "temps": []}
for i in range(n):
    try:
        if how == "arrfile":
            p = arrfile.create(name, "i8", (1000,))
            res["temps"].append(p.temp)
            p.array[:] = i
            time.sleep(pause)
            p.publish()
        else:
            folder, base = os.path.split(name)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + base + ".", suffix=".arrtmp")
            if how == "recipe-locked":
                fcntl.fcntl(fd, getattr(fcntl, "F_OFD_SETLK", 37), struct.pack("hhqqi", fcntl.F_WRLCK, 0, 1 << 62, 1, 0))
            else:
                os.close(fd)
            res["temps"].append(tmp)
            a = np.lib.format.open_memmap(tmp, mode="w+", dtype="i8", shape=(1000,))
            if how == "recipe-locked":
                os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
            a[:] = i
            a.flush()
            del a
            time.sleep(pause)
            os.replace(tmp, name)
            if how == "recipe-locked":
                os.close(fd)
        b = np.load(name)
        assert b[0] == i and b[-1] == i, (b[0], i)
        res["published"] += 1
    except Exception as e:
        res["failed"].append("%s: %s" % (type(e).__name__, e))
print(json.dumps(res))
`

type produceResult struct {
	Published int
	Failed    []string
	Temps     []string
}

// TestPythonProducerWhileGCLoops: a Python producer pauses before each
// publish while `arr gc --older-than 0s` runs in a loop on its folder:
// every publish must succeed and gc must never remove its temporary file
// (it holds the OFD lock Go's RemoveStale reads as "producer running").
// The raw NumPy recipe is run the same way for comparison (logged only).
func TestPythonProducerWhileGCLoops(t *testing.T) {
	pytest.Require(t)
	arr := buildArr(t)
	dir := shmDir(t)
	name := filepath.Join(dir, "out.npy")

	r, runs, removed := produceUnderGC(t, arr, "0s", dir, name, "arrfile", 8, "0.2")
	t.Logf("arrfile.create: %d of %d published, %d gc runs meanwhile, gc removed %d files", r.Published, 8, runs, len(removed))
	assert.Equal(t, 8, r.Published, "failures: %v", r.Failed)
	assert.Empty(t, r.Failed)
	assert.Greater(t, runs, 3, "gc did not loop while the producer ran")
	require.Len(t, r.Temps, 8)
	for _, tmp := range r.Temps {
		assert.Regexp(t, `^\.out\.npy\.[0-9]+\.arrtmp$`, filepath.Base(tmp))
		assert.NotContains(t, removed, tmp, "gc removed a running producer's temporary file")
	}

	rr, rruns, rremoved := produceUnderGC(t, arr, "0s", dir, name, "recipe", 4, "0.2")
	first := ""
	if len(rr.Failed) > 0 {
		first = "; first failure: " + rr.Failed[0]
	}
	t.Logf("raw NumPy recipe, for comparison: %d of 4 published, %d gc runs meanwhile, %d removals by gc (open_memmap recreates a removed temporary, so one can go twice)%s",
		rr.Published, rruns, len(rremoved), first)
	assertOnly(t, dir, "out.npy")
}

// TestReadmeRecipeWhileGCLoops: the raw NumPy producer recipe of
// python/README.md (mkstemp, OFD lock, open_memmap, os.replace) survives
// an `arr gc` loop too. gc runs with --older-than 500ms, not 0s: between
// mkstemp and the lock there is a window of microseconds, which this
// keeps out of the test (arrfile.create has no such window).
func TestReadmeRecipeWhileGCLoops(t *testing.T) {
	pytest.Require(t)
	arr := buildArr(t)
	dir := shmDir(t)
	name := filepath.Join(dir, "out.npy")
	r, runs, removed := produceUnderGC(t, arr, "500ms", dir, name, "recipe-locked", 3, "0.7")
	t.Logf("README recipe: %d of 3 published, %d gc runs meanwhile, gc removed %d files", r.Published, runs, len(removed))
	assert.Equal(t, 3, r.Published, "failures: %v", r.Failed)
	assert.Empty(t, removed)
	assertOnly(t, dir, "out.npy")
}

// assertOnly checks that dir holds only the named files.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	assert.Equal(t, names, left)
}

// produceUnderGC runs producerLoop (how, n arrays, pause seconds) while gc
// loops with --older-than age; it returns the producer's result, the gc
// runs during it and the paths gc removed.
func produceUnderGC(t *testing.T, arr, age, dir, name, how string, n int, pause string) (produceResult, int, []string) {
	t.Helper()
	stop := make(chan struct{})
	runs, removed, wait := gcLoop(t, arr, age, dir, stop)
	for runs() < 2 { // gc is looping before the producer starts
		time.Sleep(time.Millisecond)
	}
	before := runs()
	out := runPy(t, producerLoop, name, how, strconv.Itoa(n), pause)
	during := runs() - before
	close(stop)
	wait()
	var r produceResult
	require.NoError(t, json.Unmarshal(out, &r), "%s", out)
	return r, during, removed()
}

// TestKilledPythonProducerIsCollected: the temporary file of a running
// Python producer survives `arr gc --older-than 0s`; once the producer is
// SIGKILLed, the next gc removes it.
func TestKilledPythonProducerIsCollected(t *testing.T) {
	pytest.Require(t)
	arr := buildArr(t)
	dir := shmDir(t)
	name := filepath.Join(dir, "crash.npy")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := pyCmd(t, ctx, `
import sys, time
import arrfile
p = arrfile.create(sys.argv[1], "f8", (1 << 16,))
p.array[:] = 1
print(p.temp, flush=True)
time.sleep(60)
`, name)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "python: %s", stderr.String())
	tmp := strings.TrimSpace(line)
	require.FileExists(t, tmp)

	gc := func() string {
		out, err := exec.Command(arr, "gc", "--older-than", "0s", dir).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	for range 3 {
		assert.Empty(t, gc())
		assert.FileExists(t, tmp, "gc removed a running producer's temporary file")
	}
	out, err := exec.Command(arr, "ls", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("arr ls while the producer runs:\n%s", out)

	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	assert.Equal(t, "removed "+tmp+"\n", gc())
	assert.NoFileExists(t, tmp)
	assert.NoFileExists(t, name)
}

// lockScript holds locks from Python, then tests Go's: it takes an
// exclusive range lock on data bytes [64, 128) and the exclusive whole-file
// lock, says "locked", waits for a line, releases both, says "unlocked",
// waits for a line, then tries locks that Go now holds and prints the
// results as JSON.
const lockScript = `
import json, sys
import arrfile
a = arrfile.load(sys.argv[1], "r+")
assert arrfile.lock_range(a, 64, 64, exclusive=True, wait=False)
assert arrfile.lock(a, exclusive=True, wait=False)
print("locked", flush=True)
sys.stdin.readline()
arrfile.unlock_range(a, 64, 64)
arrfile.unlock(a)
print("unlocked", flush=True)
sys.stdin.readline()
print(json.dumps({
    "range_go_mmfile": arrfile.lock_range(a, 96, 8, wait=False),
    "range_go_raw": arrfile.lock_range(a, 0, 8, exclusive=False, wait=False),
    "range_free": arrfile.lock_range(a, 200, 8, wait=False),
    "whole_shared": arrfile.lock(a, exclusive=False, wait=False),
}), flush=True)
`

// ofdTryLock tries an OFD lock (typ F_RDLCK or F_WRLCK) on the file bytes
// [start, start+n) of f with a raw fcntl, the call mmfile makes.
func ofdTryLock(t *testing.T, f *os.File, typ int16, start, n int64) bool {
	t.Helper()
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: start, Len: n}
	err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
	if err == unix.EAGAIN || err == unix.EACCES {
		return false
	}
	require.NoError(t, err)
	return true
}

// TestLocksWithGo: locks taken by Python exclude Go and the other way
// round, through mmfile's Array locks and through raw fcntl calls on the
// file offsets mmfile uses (data offset = header size + off).
func TestLocksWithGo(t *testing.T) {
	pytest.Require(t)
	dir := shmDir(t)
	name := filepath.Join(dir, "locks.npy")
	require.NoError(t, writeNpyFile(name, make([]float64, 64), 64)) // 512 data bytes
	hdr := dataOffset(t, name)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := pyCmd(t, ctx, lockScript, name)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdoutPipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	stdout := bufio.NewReader(stdoutPipe)
	expect := func(want string) string {
		t.Helper()
		line, err := stdout.ReadString('\n')
		require.NoError(t, err, "python: %s", stderr.String())
		if want != "" {
			require.Equal(t, want, strings.TrimSpace(line))
		}
		return line
	}
	expect("locked")

	// Python holds data [64, 128) and the whole-file flock.
	raw, err := os.OpenFile(name, os.O_RDWR, 0)
	require.NoError(t, err)
	defer raw.Close()
	assert.False(t, ofdTryLock(t, raw, unix.F_WRLCK, hdr+64, 64))
	assert.False(t, ofdTryLock(t, raw, unix.F_RDLCK, hdr+127, 1))
	assert.True(t, ofdTryLock(t, raw, unix.F_WRLCK, hdr+128, 8))
	assert.True(t, ofdTryLock(t, raw, unix.F_UNLCK, hdr+128, 8))
	lk := unix.Flock_t{Type: unix.F_WRLCK, Start: 0, Len: 0}
	require.NoError(t, unix.FcntlFlock(raw.Fd(), unix.F_OFD_GETLK, &lk))
	assert.Equal(t, int16(unix.F_WRLCK), lk.Type)
	assert.Equal(t, [2]int64{hdr + 64, 64}, [2]int64{lk.Start, lk.Len}, "Python's range lock is not at header size + off")
	assert.Equal(t, int32(-1), lk.Pid, "not an OFD lock")

	g := openGo(t, name)
	assert.False(t, g.tryLockRange(t, 64, 64, true))
	assert.False(t, g.tryLockRange(t, 120, 4, false))
	assert.True(t, g.tryLockRange(t, 0, 64, true))
	assert.False(t, g.tryLock(t, false))
	g.close(t)

	fmt.Fprintln(stdin)
	expect("unlocked")
	// Now Go holds: mmfile data [64, 128) exclusive and the exclusive
	// whole-file lock; raw OFD data [0, 8) exclusive.
	g = openGo(t, name)
	defer g.close(t)
	require.True(t, g.tryLockRange(t, 64, 64, true))
	require.True(t, g.tryLock(t, true))
	require.True(t, ofdTryLock(t, raw, unix.F_WRLCK, hdr, 8))
	fmt.Fprintln(stdin)
	var got map[string]bool
	line := expect("")
	require.NoError(t, json.Unmarshal([]byte(line), &got), "%s", line)
	assert.Equal(t, map[string]bool{
		"range_go_mmfile": false,
		"range_go_raw":    false,
		"range_free":      true,
		"whole_shared":    false,
	}, got)
	require.NoError(t, cmd.Wait(), "python: %s", stderr.String())
}

// recvScript receives four arrays on the socket at descriptor 3: sealed
// (accepted), unsealed (refused read-only), unsealed with
// require_sealed=False (accepted), and one from mmfile.Send.
const recvScript = `
import json, socket
import arrfile
sock = socket.socket(fileno=3)
res = {}
a = arrfile.recv_array(sock)
res["sealed"] = [list(a.shape), str(a.dtype), int(a.sum()), a.flags.writeable]
try:
    arrfile.recv_array(sock)
    res["unsealed"] = "accepted"
except arrfile.SealError as e:
    res["unsealed"] = "refused: " + str(e)
b = arrfile.recv_array(sock, require_sealed=False)
res["unsealed_allowed"] = [list(b.shape), int(b.sum())]
c = arrfile.recv_array(sock)
res["mmfile"] = [list(c.shape), str(c.dtype), float(c.sum())]
try:
    arrfile.recv_array(sock)
except EOFError:
    res["eof"] = True
print(json.dumps(res))
`

// memfdArray returns a memfd holding the .npy of data (int64), sealed
// against shrinking and growing if seal.
func memfdArray(t *testing.T, data []int64, seal bool) *os.File {
	t.Helper()
	fd, err := unix.MemfdCreate("arrfile:test", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	require.NoError(t, err)
	f := os.NewFile(uintptr(fd), "memfd")
	require.NoError(t, npy.Write(f, data))
	if seal {
		_, err = unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW)
		require.NoError(t, err)
	}
	return f
}

// sendRaw sends f over the socket as mmfile.Send does: one data byte 'A'
// with one SCM_RIGHTS descriptor.
func sendRaw(t *testing.T, sock int, f *os.File) {
	t.Helper()
	require.NoError(t, unix.Sendmsg(sock, []byte{'A'}, unix.UnixRights(int(f.Fd())), nil, 0))
}

// TestReceiveGoMemfd: Python receives memfd arrays sent by Go, accepting
// the sealed ones and refusing an unsealed one for read-only use.
func TestReceiveGoMemfd(t *testing.T) {
	pytest.Require(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	goEnd := os.NewFile(uintptr(fds[0]), "go-end")
	pyEnd := os.NewFile(uintptr(fds[1]), "py-end")
	defer goEnd.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := pyCmd(t, ctx, recvScript)
	cmd.ExtraFiles = []*os.File{pyEnd} // descriptor 3
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	pyEnd.Close()

	data := make([]int64, 1000)
	var sum int64
	for i := range data {
		data[i] = int64(3 * i)
		sum += data[i]
	}
	for _, seal := range []bool{true, false, false} {
		f := memfdArray(t, data, seal)
		sendRaw(t, fds[0], f)
		f.Close()
	}
	sendGo(t, goEnd)
	require.NoError(t, goEnd.Close()) // EOF for the last receive
	require.NoError(t, cmd.Wait(), "python: %s", stderr.String())

	var got map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got), "%s", stdout.String())
	assert.Equal(t, []any{[]any{1000.0}, "int64", float64(sum), false}, got["sealed"])
	assert.Contains(t, got["unsealed"], "refused: memfd:arrfile:test: the received file is not sealed")
	assert.Equal(t, []any{[]any{1000.0}, float64(sum)}, got["unsealed_allowed"])
	assert.Equal(t, []any{[]any{4.0, 8.0}, "float32", 496.0}, got["mmfile"])
	assert.Equal(t, true, got["eof"])
}

// TestPythonUnitTests runs test_arrfile.py (the module's unit tests) with
// the NumPy interpreter. Under CI nothing may be skipped.
func TestPythonUnitTests(t *testing.T) {
	py := pytest.Require(t)
	dir := moduleDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-m", "unittest", "discover", "-v", "-s", dir, "-t", dir, "-p", "test_*.py")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "python unit tests failed:\n%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Log(strings.Join(lines[len(lines)-3:], " "))
	if os.Getenv("CI") != "" {
		assert.NotContains(t, string(out), "skipped", "python unit tests were skipped in CI:\n%s", out)
	}
	assert.Regexp(t, `Ran [0-9]+ tests`, string(out))
}

// writeNpyFile writes data as an .npy file (npy.Write into the file).
func writeNpyFile[T npy.Elem](name string, data []T, shape ...int) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := npy.Write(f, data, shape...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
