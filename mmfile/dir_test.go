//go:build linux

package mmfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

func TestListAndRemove(t *testing.T) {
	dir := shmDir(t)
	require.NoError(t, Write(filepath.Join(dir, "b.npy"), []int32{1, 2, 3}, nil, nil))
	require.NoError(t, Write(filepath.Join(dir, "noext"), []uint8{1}, nil, nil))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.npy"), []byte("\x93NUMPY\x09\x00"), 0o644))
	short := filepath.Join(dir, "short.npy")
	require.NoError(t, Write(short, []float64{1, 2}, nil, nil))
	require.NoError(t, os.Truncate(short, 130))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.npy"), 0o755))
	// A crashed producer's temporary file, two hours old.
	old := filepath.Join(dir, ".a.npy.123.arrtmp")
	require.NoError(t, os.WriteFile(old, []byte("\x93NUMPY"), 0o644))
	two := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(old, two, two))
	live, err := Create(filepath.Join(dir, "c.npy"), f8(4), nil)
	require.NoError(t, err)
	defer live.Close()

	entries, err := List(dir)
	require.NoError(t, err)
	names := map[string]Entry{}
	for _, e := range entries {
		names[e.Name] = e
	}
	require.Len(t, entries, 6, "%v", entries)
	assert.Equal(t, []int{3}, names["b.npy"].Header.Shape)
	assert.Equal(t, "<i4", names["b.npy"].Header.DType.String())
	assert.EqualValues(t, 128+12, names["b.npy"].Size)
	assert.NotNil(t, names["noext"].Header)
	assert.ErrorIs(t, names["broken.npy"].Err, npy.ErrUnsupportedVersion)
	assert.ErrorIs(t, names["short.npy"].Err, npy.ErrTruncated)
	tmpOld := names[".a.npy.123.arrtmp"]
	assert.True(t, tmpOld.Temp)
	assert.False(t, tmpOld.Live)
	assert.Equal(t, "a.npy", tmpOld.Target)
	assert.Error(t, tmpOld.Err)
	var liveEntry Entry
	for _, e := range entries {
		if e.Target == "c.npy" {
			liveEntry = e
		}
	}
	assert.True(t, liveEntry.Live)
	assert.NotNil(t, liveEntry.Header)

	removed, err := RemoveStale(dir, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []string{old}, removed)
	removed, err = RemoveStale(dir, 0)
	require.NoError(t, err)
	assert.Empty(t, removed, "live temporaries are never removed")

	require.NoError(t, Remove(filepath.Join(dir, "b.npy")))
	require.NoError(t, Remove(filepath.Join(dir, "noext")))
	assert.ErrorIs(t, Remove(filepath.Join(dir, "notes.txt")), ErrNotArray)
	assert.ErrorIs(t, Remove(filepath.Join(dir, "sub.npy")), ErrNotArray)
	assert.ErrorIs(t, Remove(filepath.Join(dir, "gone.npy")), os.ErrNotExist)
	_, err = os.Stat(filepath.Join(dir, "notes.txt"))
	assert.NoError(t, err)
	require.NoError(t, Remove(liveEntry.Path), "temporaries can be removed explicitly")

	_, err = List(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	t.Setenv(envDir, dir)
	entries, err = List("")
	require.NoError(t, err)
	assert.Len(t, entries, 2) // broken.npy, short.npy
}

func TestFormatBytes(t *testing.T) {
	assert.Equal(t, "512 B", formatBytes(512))
	assert.Equal(t, "1.0 KiB", formatBytes(1024))
	assert.Equal(t, "64.0 MiB", formatBytes(64<<20))
	assert.Equal(t, "1.5 GiB", formatBytes(3<<29))
	e := &SpaceError{Dir: "/dev/shm", Need: 1 << 30, Free: -1}
	assert.Contains(t, e.Error(), "an unknown amount")
}
