//go:build linux

package store

import (
	"io/fs"
	"math/rand/v2"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/mmfile"
)

func fdCount(t testing.TB) int {
	t.Helper()
	if r, w, err := os.Pipe(); err == nil { // start the poller first
		r.Close()
		w.Close()
	}
	des, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(des)
}

func mapCount(t testing.TB, dir string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	return strings.Count(string(b), dir)
}

// envCount reads a count from the environment variable name, def if unset.
func envCount(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, name)
	require.Positive(t, n, name)
	return n
}

// TestManyArrays: $ARRFILE_STORE_ARRAYS small arrays (100,000 by default,
// 2,000 with -short) put, got, listed and evicted keep no descriptor or
// mapping open per array; a reader that got and released every one holds
// only the ones it still holds. 100,000 is past vm.max_map_count's 65,530
// mappings, so a mapping kept per array would fail the puts.
func TestManyArrays(t *testing.T) {
	n := envCount(t, "ARRFILE_STORE_ARRAYS", 100000)
	if testing.Short() {
		n = 2000
	}
	dir := shmDir(t)
	// Room for all but the last tenth: the last puts evict.
	s, err := Open(dir, &Options{Capacity: int64(n) * 9 / 10 * pageSize})
	require.NoError(t, err)
	defer s.Close()
	fds0, maps0 := fdCount(t), mapCount(t, dir)
	for i := range n {
		require.NoError(t, Put(s, "a"+strconv.Itoa(i), []uint64{uint64(i), 1, uint64(i) + 2}, nil))
		if i%(n/10) == 0 {
			require.Equal(t, fds0, fdCount(t), "descriptors after %d puts", i+1)
		}
	}
	assert.Equal(t, fds0, fdCount(t), "descriptors after %d puts", n)
	assert.Equal(t, maps0, mapCount(t, dir), "mappings after %d puts", n)
	u, err := s.Usage()
	require.NoError(t, err)
	assert.LessOrEqual(t, u.Used, s.Capacity())
	assert.Equal(t, n*9/10, u.Arrays, "the puts past the capacity evicted the oldest arrays")
	var held []*Ref
	got := 0
	for i := range n {
		r, err := s.Get("a" + strconv.Itoa(i))
		if err != nil {
			require.ErrorIs(t, err, ErrNotFound)
			require.Less(t, i, n/10+1, "only the oldest were evicted")
			continue
		}
		got++
		v, err := mmfile.Slice[uint64](r.Array())
		require.NoError(t, err)
		require.Equal(t, []uint64{uint64(i), 1, uint64(i) + 2}, v)
		if i%1000 == 0 {
			held = append(held, r)
			continue
		}
		require.NoError(t, r.Release())
	}
	assert.Equal(t, n*9/10, got)
	assert.Equal(t, fds0+len(held), fdCount(t), "descriptors: one per array held")
	assert.Equal(t, maps0+len(held), mapCount(t, dir), "mappings: one per array held")
	list, err := s.List()
	require.NoError(t, err)
	assert.Equal(t, got, len(list))
	nHeld := 0
	for _, in := range list {
		if in.Held {
			nHeld++
		}
	}
	assert.Equal(t, len(held), nHeld, "List sees the held arrays")
	// A second wave of puts evicts the least recently used fifth, which
	// holds most of the held arrays: they stay.
	for i := range n / 5 {
		require.NoError(t, Put(s, "b"+strconv.Itoa(i), []uint64{uint64(i), 2, uint64(i) + 3}, nil))
	}
	for _, r := range held {
		_, err := os.Stat(s.Path(r.Key()))
		require.NoError(t, err, "held array %s evicted", r.Key())
		v, err := mmfile.Slice[uint64](r.Array())
		require.NoError(t, err)
		require.Equal(t, uint64(1), v[1])
		r.Release()
	}
	_, err = os.Stat(s.Path("a" + strconv.Itoa(n/10+1)))
	assert.ErrorIs(t, err, fs.ErrNotExist, "an unheld array used early was evicted")
	assert.Equal(t, fds0, fdCount(t))
	assert.Equal(t, maps0, mapCount(t, dir))
	u, err = s.Usage()
	require.NoError(t, err)
	assert.LessOrEqual(t, u.Used, s.Capacity())
	assert.Equal(t, n*9/10, u.Arrays)
	for i := range n / 10 {
		require.NoError(t, s.Delete("b"+strconv.Itoa(i)))
	}
	u, err = s.Usage()
	require.NoError(t, err)
	assert.Equal(t, n*8/10, u.Arrays)
}

// TestGetReleaseCycles: a long-lived reader runs $ARRFILE_STORE_CYCLES Get
// and Release cycles (50,000 by default, 10,000 with -short; the issue's
// million is ARRFILE_STORE_CYCLES=1000000 go test -run TestGetReleaseCycles
// ./store/) over arrays in the store folder and the spill folder, holding
// up to 8 at a time, every other Get moving a spilled array back; its descriptors and mappings are at every check the
// ones at the start plus one per array held, and at the end the ones at
// the start.
func TestGetReleaseCycles(t *testing.T) {
	cycles := envCount(t, "ARRFILE_STORE_CYCLES", 50000)
	if testing.Short() {
		cycles = 10000
	}
	const n = 1000
	dir, spill := shmDir(t), t.TempDir()
	s, err := Open(dir, &Options{Capacity: n * 9 / 10 * pageSize, SpillDir: spill, NoSync: true})
	require.NoError(t, err)
	defer s.Close()
	for i := range n {
		require.NoError(t, Put(s, "a"+strconv.Itoa(i), []uint64{uint64(i), 1, uint64(i) + 2}, nil))
	}
	// Every other Get goes through a second handle that moves spilled
	// arrays back (spilling others to make room).
	mb, err := Open(dir, &Options{SpillDir: spill, NoSync: true, MoveBack: true})
	require.NoError(t, err)
	defer mb.Close()
	fds0, maps0, spillMaps0 := fdCount(t), mapCount(t, dir), mapCount(t, spill)
	start := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	var held []*Ref
	spilled := 0
	for c := range cycles {
		i := rng.IntN(n)
		st := s
		if c%2 == 1 {
			st = mb
		}
		r, err := st.Get("a" + strconv.Itoa(i))
		require.NoError(t, err)
		if r.Spilled() {
			spilled++
		}
		v, err := mmfile.Slice[uint64](r.Array())
		require.NoError(t, err)
		require.Equal(t, []uint64{uint64(i), 1, uint64(i) + 2}, v)
		held = append(held, r)
		if len(held) > rng.IntN(9) {
			require.NoError(t, held[0].Release())
			held = held[1:]
		}
		if c%(cycles/10) == 0 {
			require.Equal(t, fds0+len(held), fdCount(t), "descriptors after %d cycles", c+1)
			require.Equal(t, maps0+spillMaps0+len(held), mapCount(t, dir)+mapCount(t, spill), "mappings after %d cycles", c+1)
		}
	}
	for _, r := range held {
		require.NoError(t, r.Release())
	}
	assert.Equal(t, fds0, fdCount(t), "descriptors after %d cycles", cycles)
	assert.Equal(t, maps0, mapCount(t, dir), "mappings after %d cycles", cycles)
	assert.Equal(t, spillMaps0, mapCount(t, spill), "spill mappings after %d cycles", cycles)
	assert.Positive(t, spilled, "some gets mapped spilled arrays")
	u, err := s.Usage()
	require.NoError(t, err)
	assert.LessOrEqual(t, u.Used, s.Capacity())
	assert.Equal(t, n, u.Arrays+u.Spilled, "every array in one place")
	t.Logf("%d Get/Release cycles in %v (%d of spilled arrays, %d in the spill folder at the end); descriptors %d, mappings %d at start and end",
		cycles, time.Since(start).Round(time.Millisecond), spilled, u.Spilled, fds0, maps0+spillMaps0)
}

// smallTmpfs mounts a tmpfs of size bytes for the test (root only) or
// skips, saying why; under CI, which runs as root, it must work.
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs as root and must mount the small tmpfs")
		}
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot mount a tmpfs: %v", err)
		}
		t.Skipf("cannot mount a tmpfs (%v)", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestSmallTmpfsSpills: a container-like 4 MiB tmpfs with a spill folder
// on disk runs a workload twice its size with the default capacity; every
// array stays readable.
func TestSmallTmpfsSpills(t *testing.T) {
	dir := smallTmpfs(t, "4m")
	spill := t.TempDir()
	s, err := Open(dir, &Options{SpillDir: spill})
	require.NoError(t, err)
	defer s.Close()
	assert.LessOrEqual(t, s.Capacity(), int64(4<<20))
	const n = 256<<10/8 - 16 // 256 KiB files
	const count = 32         // 8 MiB
	for i := range count {
		k := "f" + strconv.Itoa(i)
		putChecked(t, s, k, n, uint64(i))
		if i%3 == 0 {
			getChecked(t, s, k).Release()
		}
	}
	spilled := 0
	for i := range count {
		r := getChecked(t, s, "f"+strconv.Itoa(i))
		if r.Spilled() {
			spilled++
		}
		r.Release()
	}
	assert.GreaterOrEqual(t, spilled, count/2)
	u, err := s.Usage()
	require.NoError(t, err)
	assert.LessOrEqual(t, u.Used, s.Capacity())
	des, err := os.ReadDir(spill)
	require.NoError(t, err)
	assert.Equal(t, spilled, len(des))
	// Without a spill folder the same tmpfs evicts instead.
	for i := range count {
		require.NoError(t, s.Delete("f"+strconv.Itoa(i)))
	}
	s2, err := Open(filepath.Join(dir, "evicting"), nil)
	require.NoError(t, err)
	defer s2.Close()
	for i := range count / 2 {
		putChecked(t, s2, "g"+strconv.Itoa(i), n, uint64(i))
	}
}

// TestNumPyReaderNotRecycled: a file a NumPy process maps (without any
// lock) is seen through /proc, listed with its pid, and never recycled or
// evicted while mapped.
func TestNumPyReaderNotRecycled(t *testing.T) {
	py := pytest.Require(t)
	dir := shmDir(t)
	s, err := Open(dir, &Options{RecycleMin: 4096, Capacity: 64 << 10})
	require.NoError(t, err)
	defer s.Close()
	const n = 4096/8*4 - 16
	putChecked(t, s, "a", n, 1)
	script := `import sys, numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
print(int(a[-1] == (a[:-1].sum(dtype=np.uint64) + np.uint64(1))), flush=True)
sys.stdin.readline()
`
	ch := startCmd(t, osexec.Command(py, "-c", script, s.Path("a")))
	ch.Expect(t, "1")
	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.False(t, list[0].Held, "NumPy holds no lock")
	assert.Equal(t, []int{ch.Cmd.Process.Pid}, list[0].Pids)

	// Capacity: a NumPy-mapped array is not evicted.
	for i := range 3 {
		putChecked(t, s, "b"+strconv.Itoa(i), n, uint64(i))
	}
	_, err = s.Create("c", u8(n))
	require.NoError(t, err, "evicts b0, the oldest array NumPy does not map")
	_, err = os.Stat(s.Path("a"))
	require.NoError(t, err)
	_, err = os.Stat(s.Path("b0"))
	require.ErrorIs(t, err, os.ErrNotExist)

	// Recycling: deleted, the mapped file goes to the pool and stays there.
	require.NoError(t, s.Delete("a"))
	w, err := s.Create("d", u8(n))
	if err == nil {
		assert.False(t, w.Recycled(), "a file NumPy maps is not reused")
		w.Abort()
	}
	ch.In.Close()
	require.NoError(t, ch.Cmd.Wait())
	w, err = s.Create("d", u8(n))
	require.NoError(t, err)
	assert.True(t, w.Recycled(), "reused once NumPy has exited")
	require.NoError(t, w.Abort())
}
