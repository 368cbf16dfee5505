//go:build linux

package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/mmfile"
)

func init() {
	// crash DIR SPILL CAP OP KEY N: open the store and run OP, printing
	// each stage it reaches and waiting for a line on stdin there (the
	// parent kills it at the stage it wants).
	helpers["crash"] = func(args []string) error {
		dir, spill, op, key := args[0], args[1], args[3], args[4]
		capacity, _ := strconv.ParseInt(args[2], 10, 64)
		n, _ := strconv.Atoi(args[5])
		s, err := Open(dir, &Options{Capacity: capacity, SpillDir: spill, RecycleMin: 4096})
		if err != nil {
			return err
		}
		pause := func(stage string) {
			fmt.Println(stage)
			readStdinLine()
		}
		put := func() error {
			w, err := s.Create(key, u8(n))
			if err != nil {
				return err
			}
			if w.Recycled() {
				pause("recycled")
			}
			pause("created")
			v, err := mmfile.Slice[uint64](w.Array())
			if err != nil {
				return err
			}
			fill(v, 7)
			copy(v[:n/2], make([]uint64, n/2)) // a torn half, then the whole
			pause("half")
			fill(v, 7)
			if err := w.Publish(); err != nil {
				return err
			}
			pause("published")
			return nil
		}
		switch op {
		case "put":
			return put()
		case "get":
			r, err := s.Get(key)
			if err != nil {
				return err
			}
			pause("held")
			return r.Release()
		case "evict":
			evictHook = func(string) { pause("evicting") }
			spillHook = func(string) { pause("spilling") }
			return put()
		case "recycle":
			if err := s.Delete(key); err != nil {
				return err
			}
			key += "-new"
			return put()
		case "moveback":
			// Get a spilled key through a store that moves it back.
			mb, err := Open(dir, &Options{Capacity: capacity, SpillDir: spill, MoveBack: true})
			if err != nil {
				return err
			}
			moveBackHook = pause
			r, err := mb.Get(key)
			if err != nil {
				return err
			}
			if r.Spilled() {
				return fmt.Errorf("%s not moved back", key)
			}
			pause("held")
			return r.Release()
		case "hold":
			// hold every key given after N
			for _, k := range args[6:] {
				if _, err := s.Get(k); err != nil {
					return err
				}
			}
			pause("held")
			return nil
		}
		return fmt.Errorf("unknown op %q", op)
	}
}

// checkStore checks the invariants after a crash: every array whole,
// temporaries only of dead producers and removable as arr gc does, then
// none, and the usage within capacity.
func checkStore(t *testing.T, s *Store) {
	t.Helper()
	for _, d := range []string{s.Dir(), s.SpillDir()} {
		if d == "" {
			continue
		}
		entries, err := mmfile.List(d)
		require.NoError(t, err)
		for _, e := range entries {
			if e.Temp {
				assert.False(t, e.Live, "temporary %s still live after its producer died", e.Name)
			}
		}
		_, err = mmfile.RemoveStale(d, 0)
		require.NoError(t, err)
		entries, err = mmfile.List(d)
		require.NoError(t, err)
		for _, e := range entries {
			assert.False(t, e.Temp, "temporary %s left after arr gc", e.Name)
		}
	}
	list, err := s.List()
	require.NoError(t, err)
	for _, in := range list {
		a, err := mmfile.Open(in.Path, mmfile.ReadOnly, nil)
		require.NoError(t, err, in.Key)
		v, err := mmfile.Slice[uint64](a)
		require.NoError(t, err)
		assert.True(t, intact(v), "array %s torn", in.Key)
		a.Close()
	}
	u, err := s.Usage()
	require.NoError(t, err)
	assert.LessOrEqual(t, u.Used, s.Capacity())
}

// TestKilledAtEveryStep kills a process with SIGKILL at each step of put,
// get, evict, spill and recycle, and checks that every array is whole or
// gone, nothing is left that arr gc does not clean, and the store goes on.
func TestKilledAtEveryStep(t *testing.T) {
	const n = 4096/8*4 - 16 // 16 KiB files
	const capacity = 64 << 10
	cases := []struct {
		op, stage string
		spill     bool
		present   bool // whether the key of the step is there after the kill
	}{
		{"put", "created", false, false},
		{"put", "half", false, false},
		{"put", "published", false, true},
		{"get", "held", false, true},
		{"evict", "evicting", false, false},
		{"evict", "spilling", true, false},
		{"evict", "created", true, false},
		{"recycle", "recycled", false, false},
		{"recycle", "half", false, false},
		{"moveback", "copying", true, false},
		{"moveback", "copied", true, false},
		{"moveback", "published", true, true},
		{"moveback", "held", true, true},
	}
	for _, c := range cases {
		t.Run(c.op+"-"+c.stage, func(t *testing.T) {
			dir, spill := shmDir(t), ""
			if c.spill {
				spill = t.TempDir()
			}
			s, err := Open(dir, &Options{Capacity: capacity, SpillDir: spill, RecycleMin: 4096})
			require.NoError(t, err)
			defer s.Close()
			key := "x"
			switch c.op {
			case "get", "recycle":
				putChecked(t, s, key, n, 1)
			case "evict":
				for i := range 4 {
					putChecked(t, s, "old"+strconv.Itoa(i), n, uint64(i))
				}
			case "moveback":
				putChecked(t, s, key, n, 1)
				for i := range 4 {
					putChecked(t, s, "old"+strconv.Itoa(i), n, uint64(i))
				}
				require.NoError(t, s.Delete("old0"))
				_, err := os.Stat(filepath.Join(spill, key+".npy"))
				require.NoError(t, err, "spilled")
			}
			ch := startHelper(t, "crash", dir, spill, strconv.Itoa(capacity), c.op, key, strconv.Itoa(n))
			for {
				line, err := ch.ReadLine()
				require.NoError(t, err, ch.Stderr.String())
				if line == c.stage {
					break
				}
				ch.In.Write([]byte("\n"))
			}
			if c.op == "get" {
				assert.True(t, isHeld(s.Path(key)))
			}
			ch.Kill(t)
			_, err = os.Stat(s.Path(key))
			assert.Equal(t, c.present, err == nil, "key %s present", key)
			if c.op == "get" {
				assert.False(t, isHeld(s.Path(key)), "the reference died with its process")
			}
			if c.op == "recycle" {
				_, err := s.Get(key)
				assert.ErrorIs(t, err, ErrNotFound, "deleted before the crash")
				_, err = s.Get(key + "-new")
				assert.ErrorIs(t, err, ErrNotFound)
			}
			if c.op == "evict" {
				// The array being evicted is whole in one place or gone.
				for i := range 4 {
					if r, err := s.Get("old" + strconv.Itoa(i)); err == nil {
						v, err := mmfile.Slice[uint64](r.Array())
						require.NoError(t, err)
						assert.True(t, intact(v))
						r.Release()
					}
				}
			}
			if c.op == "moveback" {
				// Whole in the spill folder, or whole in the store folder
				// (and, killed before the spilled copy was removed, whole
				// there too); the next move back leaves one copy.
				sp := filepath.Join(spill, key+".npy")
				_, err := os.Stat(sp)
				assert.Equal(t, c.stage != "held", err == nil, "spilled copy present")
				for _, p := range []string{s.Path(key), sp} {
					if a, err := mmfile.Open(p, mmfile.ReadOnly, nil); err == nil {
						v, err := mmfile.Slice[uint64](a)
						require.NoError(t, err)
						assert.True(t, intact(v), "%s torn", p)
						a.Close()
					}
				}
				checkStore(t, s)
				mb, err := Open(dir, &Options{Capacity: capacity, SpillDir: spill, MoveBack: true})
				require.NoError(t, err)
				r := getChecked(t, mb, key)
				assert.False(t, r.Spilled(), "moved back after the crash")
				r.Release()
				mb.Close()
				_, err = os.Stat(sp)
				assert.ErrorIs(t, err, os.ErrNotExist, "one copy left")
			}
			checkStore(t, s)
			putChecked(t, s, "after", n, 9) // the store goes on
			getChecked(t, s, "after").Release()
			checkStore(t, s)
		})
	}
}

// TestReferenceDiesWithProcess: arrays another process holds are never
// evicted; List names its pid; SIGKILL releases them.
func TestReferenceDiesWithProcess(t *testing.T) {
	const n = 4096/8*4 - 16
	dir := shmDir(t)
	s, err := Open(dir, &Options{Capacity: 64 << 10})
	require.NoError(t, err)
	defer s.Close()
	keys := []string{"a", "b", "c", "d"}
	for i, k := range keys {
		putChecked(t, s, k, n, uint64(i))
	}
	ch := startHelper(t, "crash", append([]string{dir, "", strconv.Itoa(64 << 10), "hold", "", "0"}, keys...)...)
	ch.Expect(t, "held")
	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 4)
	for _, in := range list {
		assert.True(t, in.Held, in.Key)
		assert.Equal(t, []int{ch.Cmd.Process.Pid}, in.Pids, in.Key)
		assert.False(t, in.Created.IsZero())
	}
	_, err = s.Create("e", u8(n))
	require.ErrorIs(t, err, ErrFull, "every array is held by the child")
	ch.Kill(t)
	putChecked(t, s, "e", n, 5)
	list, err = s.List()
	require.NoError(t, err)
	assert.Len(t, list, 4)
	for _, in := range list {
		assert.False(t, in.Held, in.Key)
		assert.Empty(t, in.Pids, in.Key)
	}
}

// TestRecycledTempIsLive: the live mark this package sets on a recycled
// temporary is the one atomicfile.Live (and so arr gc) sees.
func TestRecycledTempIsLive(t *testing.T) {
	dir := shmDir(t)
	f, err := os.Create(filepath.Join(dir, ".k.npy.1234.arrtmp"))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, atomicfile.Live(f.Name()))
	require.NoError(t, setLive(f))
	assert.True(t, atomicfile.Live(f.Name()))
	clearLive(f)
	assert.False(t, atomicfile.Live(f.Name()))
}

func init() {
	// soak DIR SPILL CAP SEED MS: put and get random checksummed arrays
	// for MS milliseconds (moving spilled arrays back on use if SEED is
	// even); fail on a torn array or on a held array that was moved or
	// removed.
	helpers["soak"] = func(args []string) error {
		dir, spill := args[0], args[1]
		capacity, _ := strconv.ParseInt(args[2], 10, 64)
		seed, _ := strconv.ParseUint(args[3], 10, 64)
		ms, _ := strconv.Atoi(args[4])
		// Every other worker moves spilled arrays back on use.
		s, err := Open(dir, &Options{Capacity: capacity, SpillDir: spill, RecycleMin: 4096, MoveBack: seed%2 == 0})
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		deadline := time.Now().Add(time.Duration(ms) * time.Millisecond)
		var held []*Ref
		for time.Now().Before(deadline) {
			key := "k" + strconv.Itoa(rng.IntN(48))
			switch rng.IntN(3) {
			case 0:
				n := 256 + rng.IntN(4096)
				w, err := s.Create(key, u8(n))
				if errors.Is(err, ErrExists) || errors.Is(err, ErrFull) {
					continue
				}
				if err != nil {
					return err
				}
				v, err := mmfile.Slice[uint64](w.Array())
				if err != nil {
					return err
				}
				fill(v, rng.Uint64())
				if err := w.Publish(); err != nil && !errors.Is(err, ErrExists) {
					return err
				}
			default:
				r, err := s.Get(key)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				v, err := mmfile.Slice[uint64](r.Array())
				if err != nil {
					return err
				}
				if !intact(v) {
					return fmt.Errorf("array %s torn", r.Path())
				}
				held = append(held, r)
				if len(held) > 4 || rng.IntN(2) == 0 {
					r := held[0]
					held = held[1:]
					f, _ := r.Array().File()
					fi, err1 := f.Stat()
					pi, err2 := os.Stat(r.Path())
					if err1 != nil || err2 != nil || !os.SameFile(fi, pi) {
						return fmt.Errorf("held array %s was evicted or moved", r.Path())
					}
					r.Release()
				}
			}
		}
		return nil
	}
}

// TestSoak runs 8 processes putting and getting arrays in a store four
// times too small, with a spill folder (half of them moving spilled arrays
// back on use), killing two at random with
// SIGKILL in each round of 600 ms; meanwhile the store never holds more
// than its capacity, and after every round no array is torn, no held array
// was evicted (the workers check) and gc leaves no temporary. CI runs 4
// rounds; $ARRFILE_STORE_SOAK (a Go duration) runs as many rounds as fit
// in it, and $ARRFILE_STORE_SOAK_PROCS sets the processes per round:
//
//	ARRFILE_STORE_SOAK=5m go test -count=1 -v -run 'TestSoak$' ./store/
//
// (internal/soak's TestStoreQueueSoak adds the queue and a long-lived
// reader's descriptors and mappings.)
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak in -short mode")
	}
	dir, spill := shmDir(t), t.TempDir()
	const capacity = 512 << 10
	s, err := Open(dir, &Options{Capacity: capacity, SpillDir: spill})
	require.NoError(t, err)
	defer s.Close()

	var over atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // capacity monitor
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			s.locked(func() error {
				if used := s.recount(); used > capacity {
					over.Store(used)
				}
				return nil
			})
		}
	}()
	const roundMS = 600
	rounds, workers := 4, envCount(t, "ARRFILE_STORE_SOAK_PROCS", 8)
	if v := os.Getenv("ARRFILE_STORE_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "ARRFILE_STORE_SOAK")
		rounds = max(1, int(d/(roundMS*time.Millisecond)))
	}
	start := time.Now()
	seed := uint64(0)
	kills := 0
	for round := range rounds {
		var procs []*child
		for range workers {
			seed++
			procs = append(procs, startHelper(t, "soak", dir, spill, strconv.Itoa(capacity), strconv.FormatUint(seed, 10), strconv.Itoa(roundMS)))
		}
		time.Sleep(time.Duration(roundMS/3+rand.IntN(roundMS/3)) * time.Millisecond)
		for _, i := range rand.Perm(workers)[:min(2, workers)] {
			procs[i].Kill(t)
			kills++
		}
		for _, p := range procs {
			if p.Cmd.ProcessState != nil {
				continue
			}
			err := p.Cmd.Wait()
			if ee, ok := err.(*exec.ExitError); ok && ee.Sys().(syscall.WaitStatus).Signaled() {
				continue
			}
			require.NoError(t, err, "round %d worker: %s", round, p.Stderr.String())
		}
		require.Zero(t, over.Load(), "store over capacity")
		checkStore(t, s)
	}
	close(stop)
	wg.Wait()
	assert.Zero(t, over.Load(), "store over capacity")
	u, err := s.Usage()
	require.NoError(t, err)
	t.Logf("%d rounds of %d processes in %v, %d kills; checked after every round: no torn array, no held array evicted or moved, "+
		"no live or leftover temporary, capacity never exceeded (sampled every 5 ms); at the end %d arrays in the store, %d spilled, %d of %d bytes used",
		rounds, workers, time.Since(start).Round(time.Second), kills, u.Arrays, u.Spilled, u.Used, int64(capacity))
	assert.Positive(t, u.Spilled, "the soak spilled arrays")
}

// TestSoleOpener: the lease question sees another descriptor and a
// mapping whose descriptor was closed.
func TestSoleOpener(t *testing.T) {
	p := filepath.Join(shmDir(t), "f")
	require.NoError(t, os.WriteFile(p, make([]byte, 8192), 0o644))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	sole, known := soleOpener(f)
	require.True(t, known, "leases unavailable here: the /proc scan stands in")
	assert.True(t, sole)
	g, err := os.Open(p)
	require.NoError(t, err)
	sole, _ = soleOpener(f)
	assert.False(t, sole, "another descriptor")
	m, err := syscall.Mmap(int(g.Fd()), 0, 4096, syscall.PROT_READ, syscall.MAP_SHARED)
	require.NoError(t, err)
	g.Close()
	sole, _ = soleOpener(f)
	assert.False(t, sole, "a mapping without a descriptor")
	require.NoError(t, syscall.Munmap(m))
	sole, _ = soleOpener(f)
	assert.True(t, sole)
}
