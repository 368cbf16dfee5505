//go:build linux

package soak_test

import (
	"bufio"
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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
	"github.com/arrfile/arrfile/queue"
	"github.com/arrfile/arrfile/store"
)

// storeKeys is how many keys the store workers share: more than the store
// holds, so that creates evict and spill.
const storeKeys = 64

// storeWorker is a process of TestStoreQueueSoak. Arguments: the store
// folder, its spill folder, the queue folder, a staging folder, the
// capacity, a seed, the deadline (Unix nanoseconds) and "long" for the
// long-lived worker (never killed), which checks its own descriptors and
// mappings. Until the deadline it puts checksummed arrays under random
// keys, gets them (holding up to 4 and checking, before each release, that
// the held file is still where Get found it), puts and deletes other keys
// (recycling their files), pushes copies
// of arrays it got into the queue under unique names and claims from the
// queue. It prints "push NAME" once Push returned and "verified NAME"
// when a claimed file checked whole, before Done; an error ends it with
// status 1.
func storeWorker(args []string) error {
	if len(args) != 8 {
		return fmt.Errorf("want 8 arguments, have %d", len(args))
	}
	dir, spill, qdir, staging := args[0], args[1], args[2], args[3]
	capacity, err1 := strconv.ParseInt(args[4], 10, 64)
	seed, err2 := strconv.ParseUint(args[5], 10, 64)
	until, err3 := strconv.ParseInt(args[6], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	long := args[7] == "long"
	s, err := store.Open(dir, &store.Options{Capacity: capacity, SpillDir: spill, RecycleMin: 4096, MoveBack: seed%2 == 1})
	if err != nil {
		return err
	}
	q, err := queue.Open(qdir, nil)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	var held []*store.Ref
	release := func() error {
		r := held[0]
		held = held[1:]
		f, err := r.Array().File()
		if err != nil {
			return err
		}
		fi, err1 := f.Stat()
		pi, err2 := os.Stat(r.Path())
		if err1 != nil || err2 != nil || !os.SameFile(fi, pi) {
			return fmt.Errorf("held array %s was evicted or moved", r.Path())
		}
		return r.Release()
	}
	dirs := []string{dir, spill, qdir, staging}
	fds0, checks := -1, 0
	pushes := 0
	for op := 0; time.Now().UnixNano() < until; op++ {
		key := "k" + strconv.Itoa(rng.IntN(storeKeys))
		switch rng.IntN(8) {
		case 0, 1: // put
			rows := 1 + rng.IntN(512)
			w, err := s.Create(key, &npy.Header{DType: npy.DTypeOf[int64](), Shape: []int{rows, cols}})
			if errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrFull) {
				continue
			}
			if err != nil {
				return err
			}
			v, err := mmfile.Slice[int64](w.Array())
			if err != nil {
				return err
			}
			fill(v, rng.Uint64()>>1)
			if err := w.Publish(); err != nil && !errors.Is(err, store.ErrExists) {
				return err
			}
		case 2, 3, 4: // get, hold, maybe push a copy
			r, err := s.Get(key)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			v, err := mmfile.Slice[int64](r.Array())
			if err != nil {
				return err
			}
			if err := verify(r.Array().Header().Shape, v); err != nil {
				return fmt.Errorf("array %s torn: %v", r.Path(), err)
			}
			held = append(held, r)
			if rng.IntN(3) == 0 {
				name := fmt.Sprintf("w%d-%d.npy", seed, pushes)
				pushes++
				p := filepath.Join(staging, name)
				if err := mmfile.Write(p, v, r.Array().Header(), nil); err != nil {
					return err
				}
				if _, err := q.Push(p, false); err != nil {
					return err
				}
				fmt.Println("push", name)
			}
			if len(held) > 4 || rng.IntN(2) == 0 {
				if err := release(); err != nil {
					return err
				}
			}
		case 5, 6: // claim
			c, err := q.TryClaim()
			if errors.Is(err, queue.ErrEmpty) {
				continue
			}
			if err != nil {
				return err
			}
			a, err := mmfile.Open(c.Path(), mmfile.ReadOnly, nil)
			if err != nil {
				return err
			}
			v, err := mmfile.Slice[int64](a)
			if err == nil {
				err = verify(a.Header().Shape, v)
			}
			a.Close()
			if err != nil {
				return fmt.Errorf("queued %s torn: %v", c.Name(), err)
			}
			fmt.Println("verified", c.Name())
			if err := c.Done(); err != nil {
				return err
			}
		case 7: // put and delete a key nobody gets (a held array may be deleted; it is never evicted)
			dkey := "d" + strconv.Itoa(rng.IntN(8))
			w, err := s.Create(dkey, &npy.Header{DType: npy.DTypeOf[int64](), Shape: []int{64 + rng.IntN(512), cols}})
			if err == nil {
				if v, err := mmfile.Slice[int64](w.Array()); err == nil {
					fill(v, rng.Uint64()>>1)
				}
				err = w.Publish()
			}
			if err != nil && !errors.Is(err, store.ErrExists) && !errors.Is(err, store.ErrFull) {
				return err
			}
			if err := s.Delete(dkey); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if long && op%100 == 99 {
			for len(held) > 0 {
				if err := release(); err != nil {
					return err
				}
			}
			fds, maps, err := openAndMapped(dirs)
			if err != nil {
				return err
			}
			if fds0 < 0 {
				fds0 = fds // after a first round of every operation
			}
			if fds != fds0 || maps != 0 {
				return fmt.Errorf("after %d operations, holding nothing: %d descriptors (%d before), %d mappings of the folders", op+1, fds, fds0, maps)
			}
			checks++
		}
	}
	if long {
		fmt.Println("leakchecks", checks, fds0)
	}
	return nil
}

// openAndMapped counts this process's descriptors and its mappings of
// files under dirs.
func openAndMapped(dirs []string) (fds, maps int, err error) {
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, 0, err
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		for _, d := range dirs {
			if strings.Contains(line, d+"/") {
				maps++
				break
			}
		}
	}
	return len(des), maps, nil
}

// TestStoreQueueSoak runs store and queue workers for $ARRFILE_SOAK (5 s
// by default) in rounds of a second: a long-lived worker for the whole run
// and, each round, $ARRFILE_SOAK_PROCS-1 more (7 by default), SIGKILLed at
// random every 50-150 ms and restarted. They share a store four times too
// small for their keys, with a disk spill folder (half move spilled arrays
// back on use), and a queue. Checked during the run: the store never holds
// more than its capacity (Usage, every 5 ms); by the workers: no torn
// array, no held array evicted or moved, the long-lived worker's
// descriptors and mappings the same whenever it holds nothing; after
// every round: every array whole, no temporary but live ones after gc; at
// the end: every file pushed was claimed and checked or is still in the
// queue (nothing lost). The long run:
//
//	ARRFILE_SOAK=5m go test -count=1 -v -run TestStoreQueueSoak ./internal/soak/
func TestStoreQueueSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped in -short mode")
	}
	dur := soakDuration(t)
	procs := 8
	if v := os.Getenv("ARRFILE_SOAK_PROCS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "ARRFILE_SOAK_PROCS")
		procs = max(2, n)
	}
	base := soakDir(t)
	dir, qdir, staging := filepath.Join(base, "store"), filepath.Join(base, "queue"), filepath.Join(base, "staging")
	spill := t.TempDir()
	require.NoError(t, os.MkdirAll(staging, 0o755))
	const capacity = 1 << 20
	s, err := store.Open(dir, &store.Options{Capacity: capacity, SpillDir: spill})
	require.NoError(t, err)
	defer s.Close()
	q, err := queue.Open(qdir, nil)
	require.NoError(t, err)
	defer q.Close()
	exe, err := os.Executable()
	require.NoError(t, err)

	var (
		mu                        sync.Mutex
		pushed                    = map[string]bool{}
		verified                  = map[string]int{}
		leakChecks, fdsLong       int
		failures                  []string
		kills, started, redeliver int
		claims                    int
	)
	// run starts a worker; done gets its error (nil for SIGKILL).
	run := func(seed uint64, until int64, long bool) (*exec.Cmd, <-chan error) {
		kind := "short"
		if long {
			kind = "long"
		}
		cmd := exec.Command(exe, "-test.run=^$", "--", dir, spill, qdir, staging, strconv.Itoa(capacity),
			strconv.FormatUint(seed, 10), strconv.FormatInt(until, 10), kind)
		cmd.Env = append(os.Environ(), envHelper+"=store", "GORACE=atexit_sleep_ms=0")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		done := make(chan error, 1)
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
				f := strings.Fields(sc.Text())
				mu.Lock()
				switch {
				case len(f) == 2 && f[0] == "push":
					pushed[f[1]] = true
				case len(f) == 2 && f[0] == "verified":
					verified[f[1]]++
					claims++
					if verified[f[1]] == 2 {
						redeliver++
					}
				case len(f) == 3 && f[0] == "leakchecks":
					leakChecks, _ = strconv.Atoi(f[1])
					fdsLong, _ = strconv.Atoi(f[2])
				}
				mu.Unlock()
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
				err = nil
			} else if err != nil {
				err = fmt.Errorf("worker %d: %v: %s", seed, err, stderr.String())
			}
			done <- err
		}()
		return cmd, done
	}
	fail := func(err error) {
		if err != nil {
			mu.Lock()
			failures = append(failures, err.Error())
			mu.Unlock()
		}
	}

	// The capacity monitor.
	var over atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if u, err := s.Usage(); err == nil && u.Used > capacity {
				over.Store(u.Used)
			}
		}
	}()

	start := time.Now()
	end := start.Add(dur)
	_, longDone := run(1, end.UnixNano(), true)
	seed := uint64(1)
	rounds := 0
	for time.Now().Before(end) {
		rounds++
		roundEnd := time.Now().Add(time.Second)
		if roundEnd.After(end) {
			roundEnd = end
		}
		type slot struct {
			mu  sync.Mutex
			cmd *exec.Cmd
		}
		slots := make([]*slot, procs-1)
		var rwg sync.WaitGroup
		for i := range slots {
			slots[i] = &slot{}
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				for time.Now().Before(roundEnd) {
					mu.Lock()
					seed++
					my := seed
					started++
					mu.Unlock()
					cmd, done := run(my, roundEnd.UnixNano(), false)
					slots[i].mu.Lock()
					slots[i].cmd = cmd
					slots[i].mu.Unlock()
					fail(<-done)
				}
			}()
		}
		for time.Now().Before(roundEnd) {
			time.Sleep(time.Duration(50+rand.IntN(100)) * time.Millisecond)
			sl := slots[rand.IntN(len(slots))]
			sl.mu.Lock()
			if sl.cmd != nil && sl.cmd.Process != nil && sl.cmd.Process.Kill() == nil {
				mu.Lock()
				kills++
				mu.Unlock()
			}
			sl.mu.Unlock()
		}
		rwg.Wait()
		// After the round (the long-lived worker still runs): what the
		// killed left is gc's, every array is whole.
		for _, d := range []string{dir, spill, staging} {
			_, err := mmfile.RemoveStale(d, 0)
			require.NoError(t, err)
			ents, err := mmfile.List(d)
			require.NoError(t, err)
			for _, e := range ents {
				if e.Temp && !e.Live {
					// The long-lived worker may have published it between
					// the listing and the look at its mark.
					_, err := os.Lstat(e.Path)
					assert.ErrorIs(t, err, fs.ErrNotExist, "round %d: temporary %s left after gc", rounds, e.Name)
				}
			}
		}
		list, err := s.List()
		require.NoError(t, err)
		for _, in := range list {
			a, err := mmfile.Open(in.Path, mmfile.ReadOnly, nil)
			if errors.Is(err, fs.ErrNotExist) {
				continue // evicted or moved since listed
			}
			require.NoError(t, err)
			v, err := mmfile.Slice[int64](a)
			require.NoError(t, err)
			assert.NoError(t, verify(a.Header().Shape, v), "round %d: %s", rounds, in.Path)
			a.Close()
		}
		require.Zero(t, over.Load(), "round %d: store over capacity", rounds)
		mu.Lock()
		f := len(failures)
		mu.Unlock()
		require.Zero(t, f, "round %d: %v", rounds, failures)
	}
	fail(<-longDone)
	close(stop)
	wg.Wait()

	// Drain the queue: the claims of killed workers come back first.
	_, err = q.Reclaim()
	require.NoError(t, err)
	drained := 0
	for {
		c, err := q.TryClaim()
		if errors.Is(err, queue.ErrEmpty) {
			break
		}
		require.NoError(t, err)
		a, err := mmfile.Open(c.Path(), mmfile.ReadOnly, nil)
		require.NoError(t, err)
		v, err := mmfile.Slice[int64](a)
		require.NoError(t, err)
		assert.NoError(t, verify(a.Header().Shape, v), c.Name())
		a.Close()
		mu.Lock()
		verified[c.Name()]++
		mu.Unlock()
		require.NoError(t, c.Done())
		drained++
	}
	st, err := q.Status()
	require.NoError(t, err)
	assert.Empty(t, st.Claimed, "claims left")
	lost := 0
	for name := range pushed {
		if verified[name] == 0 {
			lost++
			t.Errorf("pushed %s never claimed and not in the queue", name)
		}
	}
	u, err := s.Usage()
	require.NoError(t, err)
	t.Logf("store and queue soak %v (%d rounds, %d workers at a time, %d started, %d SIGKILLs): %d pushed, "+
		"%d claimed and checked while running (%d given again after a kill), %d drained at the end, %d lost; "+
		"capacity never exceeded (largest use sampled over capacity: %d); no torn array, no held array evicted or moved; "+
		"long-lived worker: %d leak checks, %d descriptors each time, no mapping held; at the end %d arrays, %d spilled, %d of %d bytes used",
		time.Since(start).Round(time.Second), rounds, procs, started, kills, len(pushed), claims, redeliver,
		drained, lost, over.Load(), leakChecks, fdsLong, u.Arrays, u.Spilled, u.Used, int64(capacity))
	for _, f := range failures {
		t.Error(f)
	}
	assert.Zero(t, over.Load(), "store over capacity")
	assert.Positive(t, kills)
	assert.Positive(t, len(pushed))
	assert.Positive(t, leakChecks, "the long-lived worker checked itself")
	assert.Positive(t, u.Spilled, "arrays spilled")
}
