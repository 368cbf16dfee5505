//go:build linux

package store

import (
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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

// TestManyArrays: 20,000 small arrays put, got, listed and evicted keep no
// descriptor or mapping open per array; a reader that got and released
// every one holds only the ones it still holds.
func TestManyArrays(t *testing.T) {
	n := 20000
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
	}
	assert.Equal(t, fds0, fdCount(t), "descriptors after %d puts", n)
	assert.Equal(t, maps0, mapCount(t, dir), "mappings after %d puts", n)
	var held []*Ref
	got := 0
	for i := range n {
		r, err := s.Get("a" + strconv.Itoa(i))
		if err != nil {
			require.ErrorIs(t, err, ErrNotFound)
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
	assert.GreaterOrEqual(t, got, n*9/10-1)
	assert.Equal(t, fds0+len(held), fdCount(t), "descriptors: one per array held")
	assert.Equal(t, maps0+len(held), mapCount(t, dir), "mappings: one per array held")
	list, err := s.List()
	require.NoError(t, err)
	assert.Equal(t, got, len(list))
	for _, r := range held {
		r.Release()
	}
	assert.Equal(t, fds0, fdCount(t))
	assert.Equal(t, maps0, mapCount(t, dir))
	u, err := s.Usage()
	require.NoError(t, err)
	assert.LessOrEqual(t, u.Used, s.Capacity())
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
