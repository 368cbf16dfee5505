//go:build linux

package mmfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/npy"
)

func TestResolvePopulate(t *testing.T) {
	dir := shmDir(t)
	f, err := os.Create(filepath.Join(dir, "x"))
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, PopulateNone, resolvePopulate(PopulateNone, f, 1<<30))
	assert.Equal(t, PopulateAdvise, resolvePopulate(PopulateAdvise, f, 1<<30))
	if atomicfile.InMemory(f) {
		assert.Equal(t, PopulateAhead, resolvePopulate(PopulateDefault, f, aheadMin))
		assert.Equal(t, PopulateNone, resolvePopulate(PopulateDefault, f, aheadMin-1))
	}
	d, err := os.Create(filepath.Join(t.TempDir(), "y"))
	require.NoError(t, err)
	defer d.Close()
	if !atomicfile.InMemory(d) {
		assert.Equal(t, PopulateNone, resolvePopulate(PopulateDefault, d, 1<<30))
	}
}

// PopulateAhead reads the right data, stops at Close (no goroutine left),
// and survives the file being truncated under it.
func TestPopulateAhead(t *testing.T) {
	dir := shmDir(t)
	path := filepath.Join(dir, "ahead.npy")
	n := 8 << 20 // 64 MiB of float64

	a, err := Create(path, &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{n}}, &CreateOptions{Populate: PopulateAhead})
	require.NoError(t, err)
	s, err := Slice[float64](a)
	require.NoError(t, err)
	for i := range s {
		s[i] = float64(i % 977)
	}
	require.NoError(t, a.Publish())
	require.NoError(t, a.Close())

	for range 3 {
		r, err := Open(path, ReadOnly, &Options{Populate: PopulateAhead})
		require.NoError(t, err)
		v, err := Slice[float64](r)
		require.NoError(t, err)
		for _, i := range []int{0, 1, n / 2, n - 1} {
			require.Equal(t, float64(i%977), v[i])
		}
		require.NoError(t, r.Close()) // while the populator may still run
		assert.Zero(t, aheadRunning.Load(), "populator still running after Close")
	}

	// Truncate the file while the populator walks it: the populator's
	// faults are caught (the test process survives), guarded reads report
	// the shrink.
	release := make(chan struct{})
	aheadHook = func() { <-release }
	defer func() { aheadHook = nil }()
	faults := aheadFaults.Load()
	r, err := Open(path, ReadOnly, &Options{Populate: PopulateAhead})
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, 4096))
	close(release) // the populator starts at the (now missing) end
	var buf [8]byte
	_, err = r.ReadAt(buf[:], int64(n-1)*8)
	assert.True(t, errors.Is(err, ErrFault), "ReadAt after truncation: %v", err)
	assert.Eventually(t, func() bool { return aheadFaults.Load() == faults+1 }, 5*time.Second, time.Millisecond,
		"the populator did not meet the truncation")
	require.NoError(t, r.Close())
}
