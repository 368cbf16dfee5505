package mmfile

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateTempPublish(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "data.bin.zst")
	f, err := CreateTemp(name, 0o640)
	require.NoError(t, err)
	base := filepath.Base(f.Name())
	target, ok := isTempName(base)
	require.True(t, ok, base)
	assert.Equal(t, "data.bin.zst", target)
	assert.Equal(t, dir, filepath.Dir(f.Name()))
	_, err = f.WriteString("payload")
	require.NoError(t, err)

	entries, err := List(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.True(t, entries[0].Temp)
	assert.Equal(t, "data.bin.zst", entries[0].Target)
	assert.Equal(t, runtime.GOOS == "linux", entries[0].Live)

	// Publishing under another name is refused and renames nothing.
	g, err := CreateTemp(name, 0)
	require.NoError(t, err)
	err = PublishTemp(g, filepath.Join(dir, "other.zst"), nil)
	assert.ErrorContains(t, err, "not a temporary file for")
	assert.FileExists(t, g.Name())
	require.NoError(t, AbandonTemp(g), "closed by PublishTemp: closing again is not an error here")
	assert.NoFileExists(t, g.Name())

	require.NoError(t, PublishTemp(f, name, nil))
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "payload", string(b))
	fi, err := os.Stat(name)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, des, 1, "no temporary left")

	// Default permission.
	h, err := CreateTemp(filepath.Join(dir, "b"), 0)
	require.NoError(t, err)
	fi, err = h.Stat()
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	require.NoError(t, AbandonTemp(h))
	assert.NoFileExists(t, h.Name())

	// AbandonTemp does not remove other files.
	other, err := os.Create(filepath.Join(dir, "keep.npy"))
	require.NoError(t, err)
	assert.ErrorIs(t, AbandonTemp(other), ErrNotArray)
	assert.FileExists(t, other.Name())

	_, err = CreateTemp(dir+"/", 0)
	assert.Error(t, err)
	_, err = CreateTemp(filepath.Join(dir, "missing", "x"), 0)
	assert.ErrorIs(t, err, os.ErrNotExist)
}
