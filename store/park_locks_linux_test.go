package store

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/mmfile"
)

// TestParkDropsRangeLocks: a reader's range lock (LockRange) ends with
// Release even when the mapping is parked, as it did when Release closed
// the file: another open then gets the range exclusively.
func TestParkDropsRangeLocks(t *testing.T) {
	dir := shmDir(t)
	s, err := Open(dir, &Options{RecycleMin: 4096})
	require.NoError(t, err)
	defer s.Close()
	p, err := Open(dir, &Options{ParkFiles: 4})
	require.NoError(t, err)
	defer p.Close()
	const n = 256 << 10
	putChecked(t, s, "k", n, 1)
	r := getChecked(t, p, "k")
	ok, err := r.Array().LockRange(0, 8, false, false)
	require.NoError(t, err)
	require.True(t, ok)
	path := r.Path()
	require.NoError(t, r.Release())
	p.pmu.Lock()
	parked := len(p.parked)
	p.pmu.Unlock()
	require.Equal(t, 1, parked, "the mapping is parked")
	w, err := mmfile.Open(path, mmfile.ReadWrite, nil)
	require.NoError(t, err)
	defer w.Close()
	ok, err = w.LockRange(0, 8, true, false)
	require.NoError(t, err)
	require.True(t, ok, "the parked descriptor kept the released reader's range lock")
	// The parked mapping is still reused by the next Get.
	r2 := getChecked(t, p, "k")
	require.NoError(t, r2.Release())
}
