//go:build linux

package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	osexec "os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/mmfile"
)

func init() {
	// park DIR PARKFILES: a reader with a store of its own on DIR. Lines
	// on stdin: "get KEY" (prints "ok INTACT REUSED FIRST": the data
	// whole, the mapping one of an earlier Ref's, its first element),
	// "release KEY", "map PATH" (a plain mapping, no store, no lock),
	// "open PATH" (a plain descriptor, not mapped),
	// "count" (prints its descriptors and mappings of files under DIR).
	helpers["park"] = func(args []string) error {
		dir := args[0]
		nPark, _ := strconv.Atoi(args[1])
		s, err := Open(dir, &Options{ParkFiles: nPark})
		if err != nil {
			return err
		}
		defer s.Close()
		held := map[string]*Ref{}
		seen := map[*byte]bool{}  // the mappings handed out, by address, while mapped
		var plain []*mmfile.Array // kept mapped until the helper ends
		defer func() {
			for _, a := range plain {
				a.Close()
			}
		}()
		for {
			line, err := readStdinLine()
			if err != nil {
				return nil
			}
			op, arg, _ := strings.Cut(line, " ")
			switch op {
			case "get":
				r, err := s.Get(arg)
				if err != nil {
					return err
				}
				v, err := mmfile.Slice[uint64](r.Array())
				if err != nil {
					return err
				}
				held[arg] = r
				fmt.Println("ok", b2i(intact(v)), b2i(seen[mapAddr(r.Array())]), v[0])
				seen[mapAddr(r.Array())] = true
			case "release":
				m := mapAddr(held[arg].Array())
				if err := held[arg].Release(); err != nil {
					return err
				}
				if !s.parksAt(m) {
					delete(seen, m) // unmapped: a new mapping may get its address
				}
				delete(held, arg)
				fmt.Println("released")
			case "map":
				a, err := mmfile.Open(arg, mmfile.ReadOnly, nil)
				if err != nil {
					return err
				}
				plain = append(plain, a)
				fmt.Println("mapped")
			case "open": // a descriptor only, not mapped (yet)
				f, err := os.Open(arg)
				if err != nil {
					return err
				}
				defer f.Close()
				fmt.Println("opened")
			case "count":
				fds, maps := usesUnder(dir)
				fmt.Println(fds, maps)
			default:
				return fmt.Errorf("unknown %q", line)
			}
		}
	}
}

// mapAddr is the address of a's data: the mapping's identity while it
// stays mapped.
func mapAddr(a *mmfile.Array) *byte {
	b, err := a.Bytes()
	if err != nil || len(b) == 0 {
		return nil
	}
	return &b[0]
}

// parksAt reports whether s keeps a parked mapping whose data start at m.
func (s *Store) parksAt(m *byte) bool {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	for _, x := range s.parked {
		if mapAddr(x.a) == m {
			return true
		}
	}
	return false
}

// hasParkMarkOn reports whether /proc/locks lists a park mark on the
// file of inode ino.
func hasParkMarkOn(t *testing.T, ino uint64) bool {
	b, err := os.ReadFile("/proc/locks")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || f[1] != "OFDLCK" || !strings.HasSuffix(f[5], ":"+strconv.FormatUint(ino, 10)) || f[6] != f[7] {
			continue
		}
		if at, err := strconv.ParseInt(f[6], 10, 64); err == nil {
			if _, ok := markPID(at); ok {
				return true
			}
		}
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// usesUnder counts this process's descriptors and mappings of files
// under dir.
func usesUnder(dir string) (fds, maps int) {
	des, _ := os.ReadDir("/proc/self/fd")
	for _, de := range des {
		if t, err := os.Readlink("/proc/self/fd/" + de.Name()); err == nil && strings.HasPrefix(t, dir+"/") &&
			strings.HasSuffix(strings.TrimSuffix(t, " (deleted)"), ext) {
			fds++
		}
	}
	b, _ := os.ReadFile("/proc/self/maps")
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if strings.Contains(sc.Text(), " "+dir+"/") {
			maps++
		}
	}
	return fds, maps
}

// first is the first element fill writes for seed.
func first(seed uint64) uint64 {
	v := make([]uint64, 2)
	fill(v, seed)
	return v[0]
}

// createRecycled creates key and reports whether it was written into a
// recycled file; it publishes it filled from seed.
func createRecycled(t *testing.T, s *Store, key string, n int, seed uint64) bool {
	t.Helper()
	w, err := s.Create(key, u8(n))
	require.NoError(t, err)
	v, err := mmfile.Slice[uint64](w.Array())
	require.NoError(t, err)
	fill(v, seed)
	rec := w.Recycled()
	require.NoError(t, w.Publish())
	return rec
}

// TestParkerDoesNotBlockReuse: a reader in another process that parks
// its released mapping does not keep the producer from recycling the
// file, and its next Get of the recycled file (under a new key) reuses
// the mapping and sees the new array; while it holds a reference, the
// file is not reused.
func TestParkerDoesNotBlockReuse(t *testing.T) {
	dir := shmDir(t)
	s := parkingProducer(t, dir)
	const n = 128 << 10 // 1 MiB: parked (parkMin)
	putChecked(t, s, "a", n, 1)
	ch := parkedHelper(t, dir)

	require.NoError(t, s.Delete("a"))
	s.judging.Wait() // the look at its openers, which Delete starts
	assert.True(t, createRecycled(t, s, "b", n, 2), "a parked mapping does not block reuse")
	fmt.Fprintln(ch.In, "get b")
	ch.Expect(t, fmt.Sprint("ok 1 1 ", first(2))) // the parked mapping, the new array

	// Held (the reference), it blocks reuse.
	require.NoError(t, s.Delete("b"))
	s.judging.Wait() // the look at its openers, which Delete starts
	assert.False(t, createRecycled(t, s, "c", n, 3), "a held file is not reused")
	fmt.Fprintln(ch.In, "release b")
	ch.Expect(t, "released")
	assert.True(t, createRecycled(t, s, "d", n, 4), "released, parked again: reused")
	fmt.Fprintln(ch.In, "get d")
	ch.Expect(t, fmt.Sprint("ok 1 1 ", first(4)))
	fmt.Fprintln(ch.In, "get c") // a new file: a new mapping
	ch.Expect(t, fmt.Sprint("ok 1 0 ", first(3)))
	fmt.Fprintln(ch.In, "count")
	ch.Expect(t, "2 2")
}

// TestPlainReaderBlocksReuse: next to a parker, a reader that maps the
// file without the park mark (a plain mapping, or a reference from a
// Store that does not park) keeps the file from being recycled.
func TestPlainReaderBlocksReuse(t *testing.T) {
	dir := shmDir(t)
	s := parkingProducer(t, dir)
	const n = 128 << 10 // 1 MiB: parked (parkMin)
	for _, reader := range []string{"map", "get"} {
		t.Run(reader, func(t *testing.T) {
			putChecked(t, s, "a", n, 1)
			parker := startHelper(t, "park", dir, "4")
			fmt.Fprintln(parker.In, "get a")
			parker.Expect(t, fmt.Sprint("ok 1 0 ", first(1)))
			fmt.Fprintln(parker.In, "release a")
			parker.Expect(t, "released")
			other := startHelper(t, "park", dir, "0") // parks nothing
			if reader == "map" {
				fmt.Fprintln(other.In, "map", s.Path("a"))
				other.Expect(t, "mapped")
			} else {
				fmt.Fprintln(other.In, "get a")
				other.Expect(t, fmt.Sprint("ok 1 0 ", first(1)))
				fmt.Fprintln(other.In, "release a") // closes: nothing of it left
				other.Expect(t, "released")
				fmt.Fprintln(other.In, "get a")
				other.Expect(t, fmt.Sprint("ok 1 0 ", first(1)))
			}
			require.NoError(t, s.Delete("a"))
			s.judging.Wait() // the look at its openers, which Delete starts
			w, err := s.Create("b", u8(n))
			require.NoError(t, err)
			assert.False(t, w.Recycled(), "a file a plain reader maps is not reused")
			require.NoError(t, w.Abort())
			other.In.Close()
			require.NoError(t, other.Cmd.Wait())
			assert.True(t, createRecycled(t, s, "b", n, 2), "reused once only the parker is left")
			fmt.Fprintln(parker.In, "get b")
			parker.Expect(t, fmt.Sprint("ok 1 1 ", first(2)))
			parker.In.Close()
			require.NoError(t, parker.Cmd.Wait())
			require.NoError(t, s.Delete("b"))
			s.judging.Wait() // the look at its openers, which Delete starts
		})
	}
}

// TestNumPyAndParker: a NumPy process and a parker both map a pooled
// file: it is not reused until NumPy exits.
func TestNumPyAndParker(t *testing.T) {
	py := pytest.Require(t)
	dir := shmDir(t)
	s := parkingProducer(t, dir)
	const n = 128 << 10 // 1 MiB: parked (parkMin)
	putChecked(t, s, "a", n, 1)
	parker := parkedHelper(t, dir)
	script := `import sys, numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
print(int(a[-1] == (a[:-1].sum(dtype=np.uint64) + np.uint64(1))), flush=True)
sys.stdin.readline()
`
	ch := startCmd(t, osexec.Command(py, "-c", script, s.Path("a")))
	ch.Expect(t, "1")
	require.NoError(t, s.Delete("a"))
	s.judging.Wait() // the look at its openers, which Delete starts
	for i := range 2 {
		w, err := s.Create("b"+strconv.Itoa(i), u8(n))
		require.NoError(t, err)
		assert.False(t, w.Recycled(), "a file NumPy maps is not reused, parker or not")
		require.NoError(t, w.Abort())
	}
	ch.In.Close()
	require.NoError(t, ch.Cmd.Wait())
	assert.True(t, createRecycled(t, s, "b", n, 2), "reused once NumPy has exited")
	fmt.Fprintln(parker.In, "get b")
	parker.Expect(t, fmt.Sprint("ok 1 1 ", first(2)))
}

// TestParkerKilled: a parker killed with SIGKILL while it holds a
// reference leaves nothing that blocks reuse.
func TestParkerKilled(t *testing.T) {
	dir := shmDir(t)
	s := parkingProducer(t, dir)
	const n = 128 << 10 // 1 MiB: parked (parkMin)
	putChecked(t, s, "a", n, 1)
	parker := startHelper(t, "park", dir, "4")
	fmt.Fprintln(parker.In, "get a")
	parker.Expect(t, fmt.Sprint("ok 1 0 ", first(1)))
	fi, err := os.Stat(s.Path("a"))
	require.NoError(t, err)
	assert.True(t, hasParkMarkOn(t, idOf(fi).ino), "the parker's mark")
	require.NoError(t, s.Delete("a"))
	s.judging.Wait() // the look at its openers, which Delete starts
	w, err := s.Create("b", u8(n))
	require.NoError(t, err)
	assert.False(t, w.Recycled(), "held")
	require.NoError(t, w.Abort())
	parker.Kill(t)
	assert.False(t, hasParkMarkOn(t, idOf(fi).ino), "the mark went with the parker")
	assert.True(t, createRecycled(t, s, "b", n, 2), "the killed parker's locks and mapping went with it")
}

// TestParkRevalidates: a parked mapping is reused only for the file, size
// and header it was made for; a recycled file with another header of the
// same size is mapped afresh.
func TestParkRevalidates(t *testing.T) {
	dir := shmDir(t)
	s, p := parkPair(t, dir)
	const n = 128 << 10 // 1 MiB: parked (parkMin)
	putChecked(t, s, "a", n, 1)
	r := getChecked(t, p, "a")
	a := r.Array()
	m := mapAddr(a)
	require.NoError(t, r.Release())
	require.ErrorIs(t, r.Release(), os.ErrClosed)
	require.Len(t, p.parked, 1)
	// The user's Array is closed; the mapping moved to one of the store's.
	_, err := a.Bytes()
	require.ErrorIs(t, err, os.ErrClosed)
	_, err = a.Pin()
	require.ErrorIs(t, err, os.ErrClosed)
	_, err = a.File()
	require.ErrorIs(t, err, os.ErrClosed)
	require.ErrorIs(t, a.Close(), os.ErrClosed)

	r = getChecked(t, p, "a") // the same key again: the same mapping, a new Array
	assert.NotSame(t, a, r.Array())
	assert.Equal(t, m, mapAddr(r.Array()))
	require.ErrorIs(t, a.Close(), os.ErrClosed, "a stale holder's Close")
	v0, err := mmfile.Slice[uint64](r.Array())
	require.NoError(t, err)
	assert.Equal(t, first(1), v0[0], "the new Ref's mapping is intact")
	b := r.Array()
	require.NoError(t, r.Release())
	_, err = b.Bytes()
	require.ErrorIs(t, err, os.ErrClosed)

	require.NoError(t, s.Delete("a"))
	s.judging.Wait() // the look at its openers, which Delete starts
	h := u8(n)
	h.Shape = []int{n / 2, 2}
	w, err := s.Create("b", h)
	require.NoError(t, err)
	require.True(t, w.Recycled())
	v, err := mmfile.Slice[uint64](w.Array())
	require.NoError(t, err)
	fill(v, 2)
	require.NoError(t, w.Publish())
	r = getChecked(t, p, "b")
	assert.NotSame(t, a, r.Array(), "another header: mapped afresh")
	assert.Empty(t, p.parked, "the stale mapping was unmapped")
	assert.Equal(t, []int{n / 2, 2}, r.Array().Header().Shape)
	require.NoError(t, r.Release())
	assert.Len(t, p.parked, 1, "the stale mapping was unmapped")
}

// TestParkBounded: parked mappings are bounded in number and bytes, the
// least recently parked go first, Close unmaps them, and a long run of
// recycled arrays leaves no more descriptors or mappings than the bound.
func TestParkBounded(t *testing.T) {
	dir := shmDir(t)
	s, err := Open(dir, &Options{RecycleMin: 4096})
	require.NoError(t, err)
	defer s.Close()
	const n = 128 << 10
	size := cost(128 + n*8)
	for _, c := range []struct {
		files int
		bytes int64
		want  int
	}{{2, 0, 2}, {10, 3 * size, 3}, {10, size - 1, 0}} {
		p, err := Open(dir, &Options{ParkFiles: c.files, ParkBytes: c.bytes})
		require.NoError(t, err)
		var ids []fileID
		for i := range 5 {
			k := "k" + strconv.Itoa(i)
			putChecked(t, s, k, n, uint64(i))
			r := getChecked(t, p, k)
			fi, err := os.Stat(r.Path())
			require.NoError(t, err)
			ids = append(ids, idOf(fi))
			require.NoError(t, r.Release())
		}
		require.Len(t, p.parked, c.want)
		for i, e := range p.parked {
			assert.Equal(t, ids[5-c.want+i], e.id, "the newest are kept")
		}
		assert.LessOrEqual(t, parkedBytes(p.parked), p.opt.ParkBytes)
		require.NoError(t, p.Close())
		fds, maps := usesUnder(dir)
		assert.Zero(t, fds)
		assert.Zero(t, maps)
		for i := range 5 {
			require.NoError(t, s.Delete("k"+strconv.Itoa(i)))
		}
	}

	// Small arrays are not parked.
	p, err := Open(dir, &Options{ParkFiles: 4})
	require.NoError(t, err)
	putChecked(t, s, "small", 1<<10, 1)
	r := getChecked(t, p, "small")
	require.NoError(t, r.Release())
	assert.Empty(t, p.parked)
	require.NoError(t, p.Close())
	require.NoError(t, s.Delete("small"))

	// Many cycles, producer and reader parking: recycled, both mappings
	// reused, no leak.
	p, err = Open(dir, &Options{ParkFiles: 4})
	require.NoError(t, err)
	defer p.Close()
	sp, err := Open(dir, &Options{RecycleMin: 4096, ParkFiles: 4})
	require.NoError(t, err)
	defer sp.Close()
	seen := map[*byte]bool{}
	var recycled, reused, rewritten int
	const cycles = 200
	for i := range cycles {
		k := "c" + strconv.Itoa(i)
		w, err := sp.Create(k, u8(n))
		require.NoError(t, err)
		v, err := mmfile.Slice[uint64](w.Array())
		require.NoError(t, err)
		fill(v, uint64(i))
		if w.Recycled() {
			recycled++
		}
		if w.own {
			rewritten++
		}
		require.NoError(t, w.Publish())
		r := getChecked(t, p, k)
		v, err = mmfile.Slice[uint64](r.Array())
		require.NoError(t, err)
		require.Equal(t, first(uint64(i)), v[0])
		m := mapAddr(r.Array())
		if seen[m] {
			reused++
		}
		seen[m] = true
		require.NoError(t, r.Release())
		if !p.parksAt(m) {
			delete(seen, m)
		}
		require.NoError(t, sp.Delete(k))
		sp.judging.Wait()
	}
	assert.GreaterOrEqual(t, recycled, cycles-6)
	assert.GreaterOrEqual(t, reused, cycles-6)
	assert.GreaterOrEqual(t, rewritten, cycles-6, "the producer writes through its parked mapping")
	fds, maps := usesUnder(dir)
	assert.LessOrEqual(t, fds, 8)
	assert.LessOrEqual(t, maps, 8)
	require.NoError(t, p.Close())
	require.NoError(t, sp.Close())
	fds, maps = usesUnder(dir)
	assert.Zero(t, fds)
	assert.Zero(t, maps)
}

// parkingProducer opens a Store on dir that recycles files of 4 KiB or
// more and parks (only a parking producer recycles under parked
// mappings); it is closed when the test ends.
func parkingProducer(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, &Options{RecycleMin: 4096, ParkFiles: 4})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// parkPair opens a parking producer and, in the same process, a parking
// consumer on dir.
func parkPair(t *testing.T, dir string) (producer, parker *Store) {
	t.Helper()
	p, err := Open(dir, &Options{ParkFiles: 4})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return parkingProducer(t, dir), p
}

// parkedHelper starts a parking helper process on dir that gets the
// array "a" (put with seed 1) and releases it, so that its mapping of
// a's file is parked.
func parkedHelper(t *testing.T, dir string) *child {
	t.Helper()
	ch := startHelper(t, "park", dir, "4")
	fmt.Fprintln(ch.In, "get a")
	ch.Expect(t, fmt.Sprint("ok 1 0 ", first(1)))
	fmt.Fprintln(ch.In, "release a")
	ch.Expect(t, "released")
	return ch
}
