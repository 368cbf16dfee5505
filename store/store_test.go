package store

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/mmfile"
)

// putChecked stores a checksummed uint64 array of n elements under key.
func putChecked(t testing.TB, s *Store, key string, n int, seed uint64) {
	t.Helper()
	w, err := s.Create(key, u8(n))
	require.NoError(t, err)
	v, err := mmfile.Slice[uint64](w.Array())
	require.NoError(t, err)
	fill(v, seed)
	require.NoError(t, w.Publish())
}

// getChecked maps key and checks its data.
func getChecked(t testing.TB, s *Store, key string) *Ref {
	t.Helper()
	r, err := s.Get(key)
	require.NoError(t, err)
	v, err := mmfile.Slice[uint64](r.Array())
	require.NoError(t, err)
	require.True(t, intact(v), "array %s torn", key)
	return r
}

func TestPutGetDelete(t *testing.T) {
	s, err := Open(shmDir(t), nil)
	require.NoError(t, err)
	defer s.Close()

	require.NoError(t, Put(s, "a", []float64{1, 2, 3}, nil))
	r, err := s.Get("a")
	require.NoError(t, err)
	v, err := mmfile.Slice[float64](r.Array())
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 2, 3}, v)
	assert.Equal(t, s.Path("a"), r.Path())
	assert.Equal(t, "a", r.Key())
	assert.False(t, r.Spilled())

	// Sealed: a key is published once.
	err = Put(s, "a", []float64{4}, nil)
	assert.ErrorIs(t, err, ErrExists)
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, s.Path("a"), pe.Path)

	// Two producers of one key: the second Publish fails and leaves nothing.
	w1, err := s.Create("b", u8(4))
	require.NoError(t, err)
	w2, err := s.Create("b", u8(4))
	require.NoError(t, err)
	require.NoError(t, w1.Publish())
	assert.ErrorIs(t, w2.Publish(), ErrExists)
	assert.ErrorIs(t, w2.Publish(), ErrDone)
	entries, err := mmfile.List(s.Dir())
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary left: %v", entries)

	w3, err := s.Create("c", u8(4))
	require.NoError(t, err)
	require.NoError(t, w3.Abort())
	_, err = s.Get("c")
	assert.ErrorIs(t, err, ErrNotFound)

	for _, bad := range []string{"", ".x", "a/b", "a..b", "é", string(make([]byte, 300))} {
		_, err := s.Create(bad, u8(1))
		assert.ErrorIs(t, err, ErrBadKey, "%q", bad)
		_, err = s.Get(bad)
		assert.ErrorIs(t, err, ErrBadKey, "%q", bad)
	}

	// Delete while held: the holder keeps its mapping.
	require.NoError(t, s.Delete("a"))
	assert.Equal(t, []float64{1, 2, 3}, v)
	require.NoError(t, r.Release())
	assert.ErrorIs(t, r.Release(), fs.ErrClosed)
	_, err = s.Get("a")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, s.Delete("a"), ErrNotFound)
	require.NoError(t, Put(s, "a", []float64{5}, nil), "a deleted key can be used again")

	u, err := s.Usage()
	require.NoError(t, err)
	assert.Equal(t, 2, u.Arrays)
	assert.Equal(t, 1, u.Pooled, "the deleted array was held: it waits in the pool")
	assert.EqualValues(t, 3*pageSize, u.Used)
}

// TestCapacityEvictsLRU: a create that does not fit evicts the least
// recently used arrays no one holds; one that cannot fit fails at once,
// naming sizes, folder and $ARRFILE_DIR.
func TestCapacityEvictsLRU(t *testing.T) {
	dir := shmDir(t)
	const n = 4096/8*4 - 16 // a 16 KiB file (4 pages) with its header
	s, err := Open(dir, &Options{Capacity: 64 << 10})
	require.NoError(t, err)
	defer s.Close()
	for i := range 4 {
		putChecked(t, s, "k"+strconv.Itoa(i), n, uint64(i))
	}
	u, err := s.Usage()
	require.NoError(t, err)
	assert.EqualValues(t, 64<<10, u.Used)

	getChecked(t, s, "k0").Release() // k0 is now the most recent
	held := getChecked(t, s, "k1")
	putChecked(t, s, "k4", n, 4)
	_, err = s.Get("k2")
	assert.ErrorIs(t, err, ErrNotFound, "k2 was the least recently used unheld array")
	for _, k := range []string{"k0", "k1", "k3", "k4"} {
		getChecked(t, s, k).Release()
	}
	u, err = s.Usage()
	require.NoError(t, err)
	assert.LessOrEqual(t, u.Used, s.Capacity())

	// Hold everything: nothing can be evicted.
	var refs []*Ref
	for _, k := range []string{"k0", "k3", "k4"} {
		refs = append(refs, getChecked(t, s, k))
	}
	refs = append(refs, held)
	_, err = s.Create("k5", u8(n))
	require.ErrorIs(t, err, ErrFull)
	var ce *CapacityError
	require.ErrorAs(t, err, &ce)
	assert.EqualValues(t, 16<<10, ce.Need)
	assert.EqualValues(t, 64<<10, ce.Held)
	assert.Contains(t, err.Error(), "16.0 KiB")
	assert.Contains(t, err.Error(), s.Dir())
	assert.Contains(t, err.Error(), "$ARRFILE_DIR")
	for _, r := range refs {
		r.Release()
	}
	// Too large for the store at all.
	_, err = s.Create("huge", u8(1<<20))
	require.ErrorIs(t, err, ErrFull)
	putChecked(t, s, "k5", n, 5)
}

// TestSpill: with a spill folder, eviction moves arrays there, Get still
// maps them, held arrays stay.
func TestSpill(t *testing.T) {
	dir, spill := shmDir(t), t.TempDir()
	const n = 4096/8*4 - 16
	s, err := Open(dir, &Options{Capacity: 32 << 10, SpillDir: spill})
	require.NoError(t, err)
	defer s.Close()
	putChecked(t, s, "a", n, 1)
	putChecked(t, s, "b", n, 2)
	held := getChecked(t, s, "b")
	defer held.Release()
	putChecked(t, s, "c", n, 3)
	r := getChecked(t, s, "a")
	assert.True(t, r.Spilled())
	assert.Equal(t, filepath.Join(s.SpillDir(), "a.npy"), r.Path())
	r.Release()
	assert.False(t, getChecked(t, s, "b").Spilled())
	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, "a", list[0].Key)
	assert.True(t, list[0].Spilled)
	assert.True(t, list[1].Held)
	assert.Contains(t, list[1].Pids, os.Getpid())
	assert.Equal(t, 1, len(list[1].Pids))
	require.NoError(t, s.Delete("a"))
	_, err = s.Get("a")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.NoFileExists(t, filepath.Join(spill, "a.npy"))
	assert.ErrorIs(t, Put(s, "c", []uint64{1}, nil), ErrExists)
}

// TestRecycle: a deleted array's file is reused for a new array that fits,
// unless a process holds it.
func TestRecycle(t *testing.T) {
	dir := shmDir(t)
	s, err := Open(dir, &Options{RecycleMin: 64 << 10})
	require.NoError(t, err)
	defer s.Close()
	const n = 32 << 10 // 256 KiB
	putChecked(t, s, "a", n, 1)
	fa, err := os.Stat(s.Path("a"))
	require.NoError(t, err)
	require.NoError(t, s.Delete("a"))

	w, err := s.Create("b", u8(n-512))
	require.NoError(t, err)
	assert.True(t, w.Recycled())
	assert.True(t, recycledTempLive(t, s.Dir()), "the recycled temporary carries the live mark")
	v, err := mmfile.Slice[uint64](w.Array())
	require.NoError(t, err)
	fill(v, 2)
	require.NoError(t, w.Publish())
	fb, err := os.Stat(s.Path("b"))
	require.NoError(t, err)
	assert.True(t, os.SameFile(fa, fb), "b reuses a's file")
	assert.EqualValues(t, 128+(n-512)*8, fb.Size())
	getChecked(t, s, "b").Release()

	// Held when deleted: not reused while the reference lasts.
	r := getChecked(t, s, "b")
	require.NoError(t, s.Delete("b"))
	w, err = s.Create("c", u8(n-512))
	require.NoError(t, err)
	assert.False(t, w.Recycled())
	require.NoError(t, w.Abort())
	require.NoError(t, r.Release())
	w, err = s.Create("c", u8(n-512))
	require.NoError(t, err)
	assert.True(t, w.Recycled())
	require.NoError(t, w.Abort())
	u, err := s.Usage()
	require.NoError(t, err)
	assert.Zero(t, u.Used, "an aborted recycled array gives its file up")
	assert.Zero(t, u.Pooled)

	// An unrecycled abort leaves no temporary either.
	entries, err := mmfile.List(s.Dir())
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// recycledTempLive reports whether the folder holds a live temporary.
func recycledTempLive(t *testing.T, dir string) bool {
	entries, err := mmfile.List(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Temp && e.Live {
			return true
		}
	}
	return false
}

// TestPoolBounded: the pool keeps at most PoolFiles files, the newest.
func TestPoolBounded(t *testing.T) {
	s, err := Open(shmDir(t), &Options{RecycleMin: 4096, PoolFiles: 3})
	require.NoError(t, err)
	defer s.Close()
	var want int64
	for i := range 6 {
		k := "k" + strconv.Itoa(i)
		n := 1024 * (i + 1) // each larger than every pooled file: none is reused
		putChecked(t, s, k, n, uint64(i))
		require.NoError(t, s.Delete(k))
		if i >= 3 {
			want += cost(128 + int64(n)*8)
		}
	}
	u, err := s.Usage()
	require.NoError(t, err)
	assert.Equal(t, 3, u.Pooled)
	assert.Equal(t, want, u.Used)
}
