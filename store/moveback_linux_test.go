//go:build linux

package store

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spilledStore makes a store of capacity for 4 16 KiB arrays with a spill
// folder, puts a0..a5 (a0 and a1 spill) and deletes a2 and a3, so that two
// arrays fit again.
func spilledStore(t *testing.T, opt Options) (*Store, string) {
	t.Helper()
	const n = 4096/8*4 - 16
	dir, spill := shmDir(t), t.TempDir()
	opt.Capacity, opt.SpillDir, opt.RecycleMin = 64<<10, spill, 1<<30
	s, err := Open(dir, &opt)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	for i := range 6 {
		putChecked(t, s, "a"+strconv.Itoa(i), n, uint64(i))
	}
	for _, k := range []string{"a0", "a1"} {
		_, err := os.Stat(filepath.Join(spill, k+".npy"))
		require.NoError(t, err, "%s spilled", k)
	}
	require.NoError(t, s.Delete("a2"))
	require.NoError(t, s.Delete("a3"))
	return s, spill
}

// TestMoveBack: with MoveBack a Get of a spilled array that fits moves it
// back and maps the moved file; one that another reference holds, or that
// fits only by evicting held arrays, stays spilled and is mapped there;
// without MoveBack nothing moves.
func TestMoveBack(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		s, _ := spilledStore(t, Options{})
		r := getChecked(t, s, "a0")
		assert.True(t, r.Spilled())
		r.Release()
	})
	t.Run("on", func(t *testing.T) {
		s, spill := spilledStore(t, Options{MoveBack: true})
		created := func(p string) int64 {
			fi, err := os.Stat(p)
			require.NoError(t, err)
			return fi.ModTime().UnixNano()
		}
		was := created(filepath.Join(spill, "a0.npy"))
		r := getChecked(t, s, "a0")
		assert.False(t, r.Spilled(), "moved back")
		assert.Equal(t, s.Path("a0"), r.Path())
		assert.Equal(t, was, created(s.Path("a0")), "the creation time moves with it")
		_, err := os.Stat(filepath.Join(spill, "a0.npy"))
		assert.ErrorIs(t, err, os.ErrNotExist, "the spilled copy is removed")
		assert.True(t, isHeld(s.Path("a0")), "the reference is on the moved file")
		r.Release()
		u, err := s.Usage()
		require.NoError(t, err)
		assert.LessOrEqual(t, u.Used, s.Capacity())
		assert.Equal(t, 1, u.Spilled)
		// a1 moves back too; the store is full then, which is fine.
		getChecked(t, s, "a1").Release()
		u, err = s.Usage()
		require.NoError(t, err)
		assert.Equal(t, 4, u.Arrays)
		assert.Zero(t, u.Spilled)
	})
	t.Run("held", func(t *testing.T) {
		s, _ := spilledStore(t, Options{MoveBack: true})
		other, err := Open(s.Dir(), &Options{SpillDir: s.SpillDir()})
		require.NoError(t, err)
		defer other.Close()
		held := getChecked(t, other, "a0") // a reference without MoveBack
		require.True(t, held.Spilled())
		r := getChecked(t, s, "a0")
		assert.True(t, r.Spilled(), "a held spilled array is not moved")
		r.Release()
		held.Release()
		r = getChecked(t, s, "a0")
		assert.False(t, r.Spilled(), "moved once released")
		r.Release()
	})
	t.Run("full of held arrays", func(t *testing.T) {
		s, _ := spilledStore(t, Options{MoveBack: true})
		putChecked(t, s, "b0", 4096/8*4-16, 10)
		putChecked(t, s, "b1", 4096/8*4-16, 11)
		var refs []*Ref
		for _, k := range []string{"a4", "a5", "b0", "b1"} {
			refs = append(refs, getChecked(t, s, k))
		}
		r := getChecked(t, s, "a0")
		assert.True(t, r.Spilled(), "fits only by evicting held arrays: stays spilled")
		r.Release()
		refs[0].Release()
		r = getChecked(t, s, "a0")
		assert.False(t, r.Spilled(), "evicts the released array and moves back")
		r.Release()
		_, err := os.Stat(filepath.Join(s.SpillDir(), "a4.npy"))
		assert.NoError(t, err, "the evicted array spilled in turn")
		for _, r := range refs[1:] {
			r.Release()
		}
	})
}
