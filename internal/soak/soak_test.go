//go:build linux

// Package soak_test is the soak test of the shared folder: Go producer
// processes publishing and republishing a few names, Python producers
// (python/arrfile.py) republishing what they read, Go and Python consumers
// verifying every load, arr gc --older-than 0s and RemoveStale running in
// loops, and random SIGKILLs of the producers. It checks that no consumer
// ever sees a torn array, that gc never removes a running producer's
// temporary file (its publish would fail), and that nothing but what gc
// removes is left behind.
//
// The run lasts $ARRFILE_SOAK (a Go duration; 5s by default, as in CI):
//
//	ARRFILE_SOAK=60s go test -v -run 'TestSoak$' ./internal/soak/
//
// TestStoreQueueSoak (store_test.go) is the soak of the store and the
// queue: worker processes putting, getting, evicting, spilling, moving
// back, pushing, claiming and finishing, with SIGKILLs, for the same
// $ARRFILE_SOAK.
package soak_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// envHelper selects a helper in TestMain; the helper's arguments are the
// process's arguments after "--".
const envHelper = "ARRFILE_SOAK_HELPER"

func TestMain(m *testing.M) {
	switch h := os.Getenv(envHelper); h {
	case "":
		os.Exit(m.Run())
	case "producer", "consumer", "store":
		args := os.Args
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		var err error
		switch h {
		case "producer":
			err = producer(args)
		case "consumer":
			err = consumer(args)
		default:
			err = storeWorker(args)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, h+":", err)
			os.Exit(1)
		}
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", h)
		os.Exit(3)
	}
}

// goNames are the names the Go producers republish; Python producers
// publish pyN.npy.
var goNames = []string{"a.npy", "b.npy", "c.npy", "d.npy"}

// The arrays: int64, shape (rows, 8). Element 0 holds rows (a header over
// another file's data shows), element 1 a seed, element 2 the wrapping
// uint64 sum of elements 3..end, which are splitmix64(seed+i).
const cols = 8

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// fill writes a checksummed array of rows rows into v.
func fill(v []int64, seed uint64) {
	rows := len(v) / cols
	v[0], v[1] = int64(rows), int64(seed)
	var sum uint64
	for i := 3; i < len(v); i++ {
		x := splitmix(seed + uint64(i))
		v[i] = int64(x)
		sum += x
	}
	v[2] = int64(sum)
}

// verify checks a loaded array; the error says how it is torn.
func verify(shape []int, v []int64) error {
	if len(shape) != 2 || shape[1] != cols || len(v) != shape[0]*cols || len(v) < 3 {
		return fmt.Errorf("shape %v with %d elements", shape, len(v))
	}
	if v[0] != int64(shape[0]) {
		return fmt.Errorf("header says %d rows, data says %d", shape[0], v[0])
	}
	var sum uint64
	for _, x := range v[3:] {
		sum += uint64(x)
	}
	if sum != uint64(v[2]) {
		return fmt.Errorf("checksum %#x, stored %#x (seed %d)", sum, uint64(v[2]), v[1])
	}
	return nil
}

// producer publishes checksummed arrays under random goNames in dir until
// args[1] (Unix nanoseconds), pausing up to 5 ms before each publish so
// that gc has time to look at the temporary. It prints "pub" for each
// publish and "lost ERR" for a publish that failed (its temporary was
// removed under it).
func producer(args []string) error {
	dir := args[0]
	until, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	for time.Now().UnixNano() < until {
		name := filepath.Join(dir, goNames[rand.IntN(len(goNames))])
		rows := 1 + rand.IntN(512)
		a, err := mmfile.Create(name, &npy.Header{DType: npy.DTypeOf[int64](), Shape: []int{rows, cols}}, nil)
		if err != nil {
			return err
		}
		v, err := mmfile.Slice[int64](a)
		if err != nil {
			return err
		}
		fill(v, rand.Uint64()>>1)
		time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond)
		if err := a.Publish(); err != nil {
			fmt.Fprintf(w, "lost %v\n", err)
		} else {
			fmt.Fprintln(w, "pub")
		}
		w.Flush()
		a.Close()
	}
	return nil
}

// consumer opens random names in dir (goNames and args[2:]) until args[1]
// and verifies every load, printing "loads N", "miss N" (not published
// yet), "torn NAME: WHY" and "err NAME: ERR".
func consumer(args []string) error {
	dir := args[0]
	until, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil {
		return err
	}
	names := append(append([]string{}, goNames...), args[2:]...)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	loads, miss := 0, 0
	for time.Now().UnixNano() < until {
		name := filepath.Join(dir, names[rand.IntN(len(names))])
		a, err := mmfile.Open(name, mmfile.ReadOnly, nil)
		if errors.Is(err, fs.ErrNotExist) {
			miss++
			continue
		}
		if err != nil {
			fmt.Fprintf(w, "err %s: %v\n", name, err)
			continue
		}
		err = a.Do(func([]byte) error {
			v, err := mmfile.Slice[int64](a)
			if err != nil {
				return err
			}
			return verify(a.Header().Shape, v)
		})
		a.Close()
		if err != nil {
			fmt.Fprintf(w, "torn %s: %v\n", name, err)
			continue
		}
		loads++
	}
	fmt.Fprintf(w, "loads %d\nmiss %d\n", loads, miss)
	return nil
}

// pyScript is the Python side: with "consume" it loads random names with
// arrfile.load and verifies them; with "republish" it also publishes a copy
// of each array it loaded under its own name with arrfile.create(...)
// .publish(), pausing up to 5 ms first. Its output lines are the Go
// helpers' (loads/miss at the end, pub, lost, torn, err as they happen).
const pyScript = `
import os, random, sys, time
import numpy as np
import arrfile

mode, folder, until, own = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
names = sys.argv[5:]
loads = miss = 0

def verify(a):
    if a.dtype != np.dtype("<i8") or a.ndim != 2 or a.shape[1] != 8 or a.size < 3:
        return "dtype %s shape %s" % (a.dtype, a.shape)
    f = a.reshape(-1)
    if int(f[0]) != a.shape[0]:
        return "header says %d rows, data says %d" % (a.shape[0], f[0])
    s = int(f[3:].view(np.uint64).sum(dtype=np.uint64))
    if s != int(f[2:3].view(np.uint64)[0]):
        return "checksum %x, stored %x" % (s, int(f[2:3].view(np.uint64)[0]))
    return None

def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()

while time.time_ns() < until:
    name = os.path.join(folder, random.choice(names))
    try:
        a = arrfile.load(name)
    except FileNotFoundError:
        miss += 1
        continue
    except Exception as e:
        out("err %s: %r" % (name, e))
        continue
    why = verify(a)
    if why:
        out("torn %s: %s" % (name, why))
        continue
    loads += 1
    if mode == "republish":
        try:
            p = arrfile.create(os.path.join(folder, own), a.dtype, a.shape)
            p.array[...] = a
            time.sleep(random.random() * 0.005)
            p.publish(sync=False)
            out("pub")
        except Exception as e:
            out("lost %r" % (e,))
    del a
out("loads %d" % loads)
out("miss %d" % miss)
`

// counts are the totals of the run.
type counts struct {
	mu                                  sync.Mutex
	goPub, pyPub, lost, goLoads, pyLoad int
	miss, torn, errs                    int
	kills, gcRuns, gcRemoved, rsRemoved int
	finalRemoved                        int
	details                             []string
}

// take counts one output line of a helper; py tells Python's apart.
func (c *counts) take(line string, py bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	n := 0
	if len(f) > 1 {
		n, _ = strconv.Atoi(f[1])
	}
	switch f[0] {
	case "pub":
		if py {
			c.pyPub++
		} else {
			c.goPub++
		}
	case "loads":
		if py {
			c.pyLoad += n
		} else {
			c.goLoads += n
		}
	case "miss":
		c.miss += n
	case "lost":
		c.lost++
		c.details = append(c.details, line)
	case "torn":
		c.torn++
		c.details = append(c.details, line)
	case "err":
		c.errs++
		c.details = append(c.details, line)
	}
}

// soakDuration is $ARRFILE_SOAK, 5 s by default.
func soakDuration(t *testing.T) time.Duration {
	s := os.Getenv("ARRFILE_SOAK")
	if s == "" {
		return 5 * time.Second
	}
	d, err := time.ParseDuration(s)
	require.NoError(t, err, "ARRFILE_SOAK")
	return d
}

// soakDir is a fresh folder in /dev/shm (where arrays are shared), or a
// temporary folder where there is none.
func soakDir(t *testing.T) string {
	d, err := os.MkdirTemp("/dev/shm", "arrfile-soak-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// buildArr builds cmd/arr for the gc loop.
func buildArr(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "arr")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/arr").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// TestSoak runs the soak (see the package doc).
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped in -short mode")
	}
	py := pytest.Require(t)
	pyDir, err := filepath.Abs("../../python")
	require.NoError(t, err)
	arr := buildArr(t)
	dur := soakDuration(t)
	dir := soakDir(t)
	exe, err := os.Executable()
	require.NoError(t, err)
	deadline := time.Now().Add(dur)
	until := strconv.FormatInt(deadline.UnixNano(), 10)
	pyNames := []string{"py0.npy", "py1.npy"}
	var c counts
	var wg sync.WaitGroup

	// start starts cmd, feeding its output lines to c; done gets nil when
	// it exits cleanly or by SIGKILL (expected for producers), else why.
	start := func(cmd *exec.Cmd, py bool) (*exec.Cmd, <-chan error) {
		done := make(chan error, 1)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			done <- err
			return cmd, done
		}
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				c.take(sc.Text(), py)
			}
			err := cmd.Wait()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
					err = nil
				} else {
					err = fmt.Errorf("%v: %v: %s", cmd.Args, err, stderr.String())
				}
			}
			done <- err
		}()
		return cmd, done
	}
	goHelper := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(exe, append([]string{"-test.run=^$", "--"}, args...)...)
		cmd.Env = append(os.Environ(), envHelper+"="+name, "GORACE=atexit_sleep_ms=0")
		return cmd
	}
	var failures []error
	var fmu sync.Mutex
	fail := func(err error) {
		if err != nil {
			fmu.Lock()
			failures = append(failures, err)
			fmu.Unlock()
		}
	}

	// Producers: slots that restart their process after each SIGKILL.
	type slot struct {
		mu  sync.Mutex
		cmd *exec.Cmd
	}
	var slots []*slot
	producerCmd := func(i int) (*exec.Cmd, bool) {
		if i < 4 {
			return goHelper("producer", dir, until), false
		}
		own := pyNames[i-4]
		cmd := exec.Command(py, append([]string{"-c", pyScript, "republish", dir, until, own}, goNames...)...)
		cmd.Env = append(os.Environ(), "PYTHONPATH="+pyDir)
		return cmd, true
	}
	for i := 0; i < 4+len(pyNames); i++ {
		s := &slot{}
		slots = append(slots, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				cmd, isPy := producerCmd(i)
				s.mu.Lock()
				_, done := start(cmd, isPy)
				s.cmd = cmd
				s.mu.Unlock()
				fail(<-done)
			}
		}()
	}
	// Consumers: two Go, one Python; they stop at the deadline.
	for i := 0; i < 3; i++ {
		var cmd *exec.Cmd
		isPy := i == 2
		if isPy {
			cmd = exec.Command(py, append(append([]string{"-c", pyScript, "consume", dir, until, "-"}, goNames...), pyNames...)...)
			cmd.Env = append(os.Environ(), "PYTHONPATH="+pyDir)
		} else {
			cmd = goHelper("consumer", append([]string{dir, until}, pyNames...)...)
		}
		_, done := start(cmd, isPy)
		wg.Add(1)
		go func() { defer wg.Done(); fail(<-done) }()
	}
	// gc: arr gc --older-than 0s as processes, RemoveStale(dir, 0) here.
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			out, err := exec.Command(arr, "gc", "--older-than", "0s", dir).Output()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				fail(err)
			}
			c.mu.Lock()
			c.gcRuns++
			c.gcRemoved += strings.Count(string(out), "removed ")
			c.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			r, _ := mmfile.RemoveStale(dir, 0)
			c.mu.Lock()
			c.rsRemoved += len(r)
			c.mu.Unlock()
		}
	}()
	// Random SIGKILLs of producers, every 20-120 ms.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			time.Sleep(time.Duration(20+rand.IntN(100)) * time.Millisecond)
			s := slots[rand.IntN(len(slots))]
			s.mu.Lock()
			if s.cmd != nil && s.cmd.Process != nil && s.cmd.Process.Kill() == nil {
				c.mu.Lock()
				c.kills++
				c.mu.Unlock()
			}
			s.mu.Unlock()
		}
	}()
	wg.Wait()

	// After the run: only stale temporaries of killed producers may be
	// left, and one gc removes them all.
	removed, err := mmfile.RemoveStale(dir, 0)
	require.NoError(t, err)
	c.finalRemoved = len(removed)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		name := e.Name()
		assert.Contains(t, append(append([]string{}, goNames...), pyNames...), name, "left behind")
		a, err := mmfile.Open(filepath.Join(dir, name), mmfile.ReadOnly, nil)
		require.NoError(t, err)
		v, err := mmfile.Slice[int64](a)
		require.NoError(t, err)
		assert.NoError(t, verify(a.Header().Shape, v), name)
		a.Close()
	}

	t.Logf("soak %v in %s: publishes Go %d, Python %d; loads Go %d, Python %d (not yet published: %d); "+
		"torn %d; live temporaries removed (failed publishes) %d; errors %d; SIGKILLs %d; "+
		"arr gc runs %d removing %d, RemoveStale removing %d during the run, %d stale at the end",
		dur, dir, c.goPub, c.pyPub, c.goLoads, c.pyLoad, c.miss, c.torn, c.lost, c.errs, c.kills,
		c.gcRuns, c.gcRemoved, c.rsRemoved, c.finalRemoved)
	for _, d := range c.details[:min(len(c.details), 20)] {
		t.Log(d)
	}
	for _, err := range failures {
		t.Error(err)
	}
	assert.Zero(t, c.torn, "torn loads")
	assert.Zero(t, c.lost, "live temporaries removed by gc")
	assert.Zero(t, c.errs, "failed loads")
	assert.Positive(t, c.goPub)
	assert.Positive(t, c.pyPub)
	assert.Positive(t, c.goLoads)
	assert.Positive(t, c.pyLoad)
}
