//go:build linux

package mmfile

import (
	"fmt"
	"io/fs"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

func init() {
	// lockwriter PATH ID ROUNDS: ROUNDS times, take the exclusive file
	// lock and set every element to ID, pausing in the middle.
	helpers["lockwriter"] = func(args []string) error {
		id, _ := strconv.ParseInt(args[1], 10, 64)
		rounds, _ := strconv.Atoi(args[2])
		a, err := Open(args[0], ReadWrite, nil)
		if err != nil {
			return err
		}
		defer a.Close()
		s, err := Slice[int64](a)
		if err != nil {
			return err
		}
		for range rounds {
			if err := errOf(a.Lock(true, true)); err != nil {
				return err
			}
			for i := range s {
				s[i] = id
				if i == len(s)/2 {
					time.Sleep(50 * time.Microsecond)
				}
			}
			if err := a.Unlock(); err != nil {
				return err
			}
		}
		return nil
	}
	// trylockrange PATH OFF N EXCL: print whether the range lock is free.
	helpers["trylockrange"] = func(args []string) error {
		off, _ := strconv.ParseInt(args[1], 10, 64)
		n, _ := strconv.ParseInt(args[2], 10, 64)
		a, err := Open(args[0], ReadWrite, nil)
		if err != nil {
			return err
		}
		defer a.Close()
		ok, err := a.LockRange(off, n, args[3] == "x", false)
		if err != nil {
			return err
		}
		fmt.Println(ok)
		return nil
	}
	// trylock PATH EXCL: print whether the whole-file lock is free.
	helpers["trylock"] = func(args []string) error {
		a, err := Open(args[0], ReadOnly, nil)
		if err != nil {
			return err
		}
		defer a.Close()
		ok, err := a.Lock(args[1] == "x", false)
		if err != nil {
			return err
		}
		fmt.Println(ok)
		return nil
	}
	// atomicadd PATH N: add 1 to the int64 at element 0 N times with
	// sync/atomic, and store N into the element given by the process.
	helpers["atomicadd"] = func(args []string) error {
		n, _ := strconv.Atoi(args[1])
		a, err := Open(args[0], ReadWrite, nil)
		if err != nil {
			return err
		}
		defer a.Close()
		s, err := Slice[int64](a)
		if err != nil {
			return err
		}
		fmt.Println("ready")
		if _, err := readStdinLine(); err != nil {
			return err
		}
		for range n {
			atomic.AddInt64(&s[0], 1)
		}
		return nil
	}
	// rwwriter PATH N: for generation g = 1..N, write g to elements
	// 1..len-1 and then publish g in element 0 with an atomic store.
	helpers["rwwriter"] = func(args []string) error {
		gens, _ := strconv.Atoi(args[1])
		a, err := Open(args[0], ReadWrite, nil)
		if err != nil {
			return err
		}
		defer a.Close()
		s, err := Slice[int64](a)
		if err != nil {
			return err
		}
		for g := int64(1); g <= int64(gens); g++ {
			for i := 1; i < len(s); i++ {
				atomic.StoreInt64(&s[i], g)
			}
			atomic.StoreInt64(&s[0], g)
		}
		return nil
	}
}

func makeInt64(t *testing.T, path string, n int) {
	t.Helper()
	a, err := Create(path, &npy.Header{DType: npy.DTypeOf[int64](), Shape: []int{n}}, nil)
	require.NoError(t, err)
	require.NoError(t, a.Publish())
	require.NoError(t, a.Close())
}

// TestLockSerializesProcesses: two writer processes take the exclusive
// lock to overwrite the whole array; a reader under the shared lock never
// sees a mix of their values.
func TestLockSerializesProcesses(t *testing.T) {
	path := tempPath(t, "locked.npy")
	makeInt64(t, path, 1<<15)
	r, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	defer r.Close()
	s, err := Slice[int64](r)
	require.NoError(t, err)

	w1 := startHelper(t, "lockwriter", path, "1", "200")
	w2 := startHelper(t, "lockwriter", path, "2", "200")
	done := make(chan struct{})
	go func() { w1.Cmd.Wait(); w2.Cmd.Wait(); close(done) }()
	reads := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		require.NoError(t, errOf(r.Lock(false, true)))
		first := s[0]
		for i, v := range s {
			if v != first {
				r.Unlock()
				t.Fatalf("mixed content under the lock: element 0 is %d, element %d is %d", first, i, v)
			}
		}
		require.NoError(t, r.Unlock())
		reads++
	}
	assert.True(t, w1.Cmd.ProcessState.Success(), w1.Stderr.String())
	assert.True(t, w2.Cmd.ProcessState.Success(), w2.Stderr.String())
	assert.Contains(t, []int64{1, 2}, s[0])
	t.Logf("%d consistent reads", reads)
}

func TestLockInProcess(t *testing.T) {
	path := tempPath(t, "l.npy")
	makeInt64(t, path, 16)
	a, err := Open(path, ReadWrite, nil)
	require.NoError(t, err)
	defer a.Close()
	b, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	defer b.Close()

	require.NoError(t, errOf(a.Lock(true, true)))
	assert.ErrorIs(t, errOf(a.Lock(true, true)), ErrLocked, "double lock through one Array")
	assert.ErrorIs(t, errOf(a.Lock(false, true)), ErrLocked)
	ok, err := b.Lock(false, false)
	require.NoError(t, err)
	assert.False(t, ok, "another Array of the same file must be excluded")
	assert.Equal(t, "false", trimmed(runHelper(t, "trylock", path, "s")))

	// b blocks until a unlocks.
	var got atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := errOf(b.Lock(false, true)); err == nil {
			got.Store(true)
		}
	}()
	time.Sleep(20 * time.Millisecond)
	assert.False(t, got.Load())
	require.NoError(t, a.Unlock())
	wg.Wait()
	assert.True(t, got.Load())
	assert.Equal(t, "true", trimmed(runHelper(t, "trylock", path, "s")), "shared locks coexist")
	assert.Equal(t, "false", trimmed(runHelper(t, "trylock", path, "x")))
	require.NoError(t, b.Unlock())
	assert.NoError(t, b.Unlock(), "Unlock without a lock does nothing")
	assert.Equal(t, "true", trimmed(runHelper(t, "trylock", path, "x")))

	// A Close while Lock waits: Close returns, the Lock reports fs.ErrClosed.
	c, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	require.NoError(t, errOf(a.Lock(true, true)))
	errc := make(chan error, 1)
	go func() { errc <- errOf(c.Lock(true, true)) }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, c.Close())
	require.NoError(t, a.Unlock())
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, fs.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Lock did not return after Close and Unlock")
	}

	// Close releases the lock.
	d, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	require.NoError(t, errOf(d.Lock(true, true)))
	require.NoError(t, d.Close())
	assert.Equal(t, "true", trimmed(runHelper(t, "trylock", path, "x")))
}

func trimmed(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

// TestRangeLocks: writers partitioning an array lock byte ranges; other
// processes and other Arrays see conflicts only where ranges overlap.
func TestRangeLocks(t *testing.T) {
	path := tempPath(t, "r.npy")
	makeInt64(t, path, 1000) // 8000 data bytes
	a, err := Open(path, ReadWrite, nil)
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, errOf(a.LockRange(0, 800, true, true)))
	require.NoError(t, errOf(a.LockRange(800, 800, false, true)))

	try := func(off, n int, excl string) string {
		return trimmed(runHelper(t, "trylockrange", path, strconv.Itoa(off), strconv.Itoa(n), excl))
	}
	assert.Equal(t, "false", try(400, 800, "x"), "overlaps the exclusive range")
	assert.Equal(t, "false", try(0, 8, "s"), "shared inside an exclusive range")
	assert.Equal(t, "true", try(800, 800, "s"), "shared with shared")
	assert.Equal(t, "false", try(1000, 8, "x"), "exclusive inside a shared range")
	assert.Equal(t, "true", try(1600, 6400, "x"), "disjoint")

	// Another Array in this process is another owner.
	b, err := Open(path, ReadWrite, nil)
	require.NoError(t, err)
	defer b.Close()
	ok, err := b.LockRange(0, 8, true, false)
	require.NoError(t, err)
	assert.False(t, ok)
	// The same Array is one owner: its ranges never conflict.
	ok, err = a.LockRange(0, 1600, true, false)
	require.NoError(t, err)
	assert.True(t, ok)

	require.NoError(t, a.UnlockRange(0, 1600))
	assert.Equal(t, "true", try(0, 8000, "x"))

	ro, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	defer ro.Close()
	assert.ErrorIs(t, errOf(ro.LockRange(0, 8, true, true)), fs.ErrPermission)
	require.NoError(t, errOf(ro.LockRange(0, 8, false, true)))
	for _, r := range [][2]int64{{-1, 8}, {0, 0}, {7999, 2}, {0, 1 << 62}} {
		assert.Error(t, errOf(a.LockRange(r[0], r[1], false, true)), r)
	}
}

// TestAtomicAcrossProcesses: sync/atomic on an aligned word of a shared
// mapping is atomic across processes: two processes each add 1 a million
// times to the same word at the same time, and no increment is lost.
func TestAtomicAcrossProcesses(t *testing.T) {
	path := tempPath(t, "atomic.npy")
	makeInt64(t, path, 8)
	a, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	defer a.Close()
	s, err := Slice[int64](a)
	require.NoError(t, err)
	require.Zero(t, uintptr(unsafe.Pointer(&s[0]))%8, "mapped words are 8-byte aligned")
	c1 := startHelper(t, "atomicadd", path, "1000000")
	c2 := startHelper(t, "atomicadd", path, "1000000")
	c1.Expect(t, "ready")
	c2.Expect(t, "ready")
	c1.Send(t, "go")
	c2.Send(t, "go")
	c1.Wait(t)
	c2.Wait(t)
	assert.EqualValues(t, 2000000, atomic.LoadInt64(&s[0]))
}

// TestWriterReaderProcesses: a writer process updates a read-write mapping
// while this process reads its own mapping of the same file; with the
// writer storing the generation last (release) and the reader loading it
// first (acquire), every element the reader sees is at least that
// generation.
func TestWriterReaderProcesses(t *testing.T) {
	path := tempPath(t, "rw.npy")
	makeInt64(t, path, 4096)
	a, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	defer a.Close()
	s, err := Slice[int64](a)
	require.NoError(t, err)
	const gens = 300
	w := startHelper(t, "rwwriter", path, strconv.Itoa(gens))
	deadline := time.Now().Add(20 * time.Second)
	seen := map[int64]bool{}
	for {
		g := atomic.LoadInt64(&s[0])
		seen[g] = true
		for i := 1; i < len(s); i++ {
			if v := atomic.LoadInt64(&s[i]); v < g {
				t.Fatalf("element %d is %d after generation %d was published", i, v, g)
			}
		}
		if g == gens {
			break
		}
		require.True(t, time.Now().Before(deadline), "writer did not finish")
	}
	w.Wait(t)
	t.Logf("observed %d distinct generations", len(seen))
}

// f8Int is the header of a C-order int64 array of the given shape.
func f8Int(shape ...int) *npy.Header {
	return &npy.Header{DType: npy.DTypeOf[int64](), Shape: shape}
}
