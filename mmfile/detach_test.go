//go:build linux

package mmfile

import (
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/mmhook"
)

// TestDetach: mmhook.Detach moves the mapping and the file into a new
// Array and leaves the old one closed; it refuses a pinned, locked,
// unpublished or closed Array.
func TestDetach(t *testing.T) {
	dir := shmDir(t)
	path := filepath.Join(dir, "a.npy")
	w, err := Create(path, f8(4), nil)
	require.NoError(t, err)
	_, ok := mmhook.Detach(w)
	assert.False(t, ok, "an unpublished created array")
	v, err := Slice[float64](w)
	require.NoError(t, err)
	v[0] = 7
	require.NoError(t, w.Publish())
	require.NoError(t, w.Close())
	_, ok = mmhook.Detach(w)
	assert.False(t, ok, "closed")

	a, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	unpin, err := a.Pin()
	require.NoError(t, err)
	_, ok = mmhook.Detach(a)
	assert.False(t, ok, "pinned")
	unpin()
	_, err = a.Lock(false, true)
	require.NoError(t, err)
	_, ok = mmhook.Detach(a)
	assert.False(t, ok, "locked")
	require.NoError(t, a.Unlock())

	before, err := a.Bytes()
	require.NoError(t, err)
	x, ok := mmhook.Detach(a)
	require.True(t, ok)
	b := x.(*Array)
	after, err := b.Bytes()
	require.NoError(t, err)
	assert.Same(t, &before[0], &after[0], "the same mapping")
	s, err := Slice[float64](b)
	require.NoError(t, err)
	assert.Equal(t, 7.0, s[0])
	_, err = a.Bytes()
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = a.Pin()
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = a.File()
	assert.ErrorIs(t, err, fs.ErrClosed)
	assert.ErrorIs(t, a.Close(), fs.ErrClosed, "closed already")
	f, err := b.File()
	require.NoError(t, err)
	_, err = f.Stat()
	require.NoError(t, err, "the old Array's Close left the file open")
	require.NoError(t, b.Close())
}
