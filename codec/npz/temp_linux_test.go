//go:build linux

package npz

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// TestNpzTempIsMmfileTemp: Create writes through a live mmfile temporary
// that Close publishes (or removes after an error).
func TestNpzTempIsMmfileTemp(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.npz")
	z, err := Create(name)
	require.NoError(t, err)
	require.NoError(t, writeArray(z, "x", []int32{1, 2, 3}))
	entries, err := mmfile.List(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.True(t, entries[0].Temp)
	assert.True(t, entries[0].Live)
	assert.Equal(t, "a.npz", entries[0].Target)
	require.NoError(t, z.Close())
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, des, 1)
	assert.Equal(t, "a.npz", des[0].Name())
	fi, err := os.Stat(name)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	// A failed archive leaves nothing behind.
	z, err = Create(filepath.Join(dir, "b.npz"))
	require.NoError(t, err)
	mw, err := z.Create("y")
	require.NoError(t, err)
	hb, err := npy.AppendHeader(nil, &npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{4}})
	require.NoError(t, err)
	_, err = mw.Write(append(hb, make([]byte, 8)...))
	require.NoError(t, err)
	assert.Error(t, mw.Close(), "short member")
	assert.Error(t, z.Close())
	des, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, des, 1, "only a.npz")
}
