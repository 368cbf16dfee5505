package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreatePublish(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "data.bin.zst")
	f, err := Create(name, 0o640)
	require.NoError(t, err)
	base := filepath.Base(f.Name())
	target, ok := Target(base)
	require.True(t, ok, base)
	assert.Equal(t, "data.bin.zst", target)
	assert.Equal(t, dir, filepath.Dir(f.Name()))
	assert.Equal(t, runtime.GOOS == "linux", Live(f.Name()))
	_, err = f.WriteString("payload")
	require.NoError(t, err)

	// Publishing under another name is refused and renames nothing.
	g, err := Create(name, 0)
	require.NoError(t, err)
	err = Publish(g, filepath.Join(dir, "other.zst"), false)
	assert.ErrorIs(t, err, ErrNotTemp)
	assert.ErrorContains(t, err, "is not one for")
	assert.FileExists(t, g.Name())
	require.NoError(t, Abandon(g), "closed by Publish: closing again is not an error here")
	assert.NoFileExists(t, g.Name())

	require.NoError(t, Publish(f, name, false))
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "payload", string(b))
	fi, err := os.Stat(name)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	assert.False(t, Live(name))
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, des, 1, "no temporary left")

	// Default permission: 0666 under the umask (TestUmask).
	h, err := Create(filepath.Join(dir, "b"), 0)
	require.NoError(t, err)
	fi, err = h.Stat()
	require.NoError(t, err)
	if mask, err := umaskOf(); err == nil {
		assert.Equal(t, os.FileMode(0o666&^mask), fi.Mode().Perm())
	}
	require.NoError(t, Abandon(h))
	assert.NoFileExists(t, h.Name())
	assert.False(t, Live(h.Name()))

	// Abandon does not remove other files.
	other, err := os.Create(filepath.Join(dir, "keep.npy"))
	require.NoError(t, err)
	assert.ErrorIs(t, Abandon(other), ErrNotTemp)
	assert.FileExists(t, other.Name())

	_, err = Create(dir+"/", 0)
	assert.ErrorIs(t, err, ErrNoName)
	_, err = Create(filepath.Join(dir, "missing", "x"), 0)
	assert.ErrorIs(t, err, os.ErrNotExist)
	var pe *os.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, filepath.Join(dir, "missing", "x"), pe.Path, "names the file asked for, not the temporary")
}

// TestTempLikeName: a name of a temporary file's form is refused, at
// Create and at Publish (housekeeping would remove it).
func TestTempLikeName(t *testing.T) {
	dir := t.TempDir()
	_, err := Create(filepath.Join(dir, ".data.v2.arrtmp"), 0)
	assert.ErrorIs(t, err, ErrTempName)
	var pe *os.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, filepath.Join(dir, ".data.v2.arrtmp"), pe.Path)
	f, err := Create(filepath.Join(dir, "data"), 0)
	require.NoError(t, err)
	defer Abandon(f)
	if runtime.GOOS == "windows" {
		return // no Rename of open files
	}
	_, err = Rename(f, filepath.Join(dir, ".data.1.arrtmp"), true)
	assert.ErrorIs(t, err, ErrTempName)
	des, _ := os.ReadDir(dir)
	assert.Len(t, des, 1, "only the temporary")
}

func TestTarget(t *testing.T) {
	for name, want := range map[string]string{
		".a.npy.123.arrtmp":     "a.npy",
		".x.y.npy.9.arrtmp":     "x.y.npy",
		"a.npy.123.arrtmp":      "",
		".arrtmp":               "",
		"..arrtmp":              "",
		".a.npy":                "",
		".noversion.arrtmp.npy": "",
	} {
		got, ok := Target(name)
		assert.Equal(t, want != "", ok, name)
		assert.Equal(t, want, got, name)
	}
}

// TestRename: the file stays usable under its new name, without its live
// mark; a failed rename leaves the temporary for Abandon.
func TestRename(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.npy")
	f, err := Create(name, 0)
	require.NoError(t, err)
	if runtime.GOOS == "windows" {
		t.Skip("open files cannot be renamed")
	}
	tmp := f.Name()
	renamed, err := Rename(f, name, false)
	require.NoError(t, err)
	assert.True(t, renamed)
	assert.NoFileExists(t, tmp)
	assert.False(t, Live(name), "the live mark goes with the temporary name")
	_, err = f.WriteAt([]byte("later"), 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "later", string(b))

	t.Cleanup(func() { TestHookRename = os.Rename })
	TestHookRename = func(string, string) error { return syscall.EIO }
	f, err = Create(name, 0)
	require.NoError(t, err)
	renamed, err = Rename(f, name, true)
	assert.ErrorIs(t, err, syscall.EIO)
	assert.False(t, renamed)
	assert.FileExists(t, f.Name())
	require.NoError(t, Abandon(f))
	assert.NoFileExists(t, f.Name())
	b, err = os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "later", string(b), "untouched")

	_, err = Rename(f, filepath.Join(dir, "other"), true)
	assert.ErrorIs(t, err, ErrNotTemp)
	TestHookRename = os.Rename

	// A folder sync error comes after the rename: renamed, and the error.
	t.Cleanup(func() { TestHookSync, TestHookSyncDir = (*os.File).Sync, syncDir })
	synced := false
	TestHookSync = func(f *os.File) error { synced = true; return f.Sync() }
	TestHookSyncDir = func(string) error { return syscall.EIO }
	f, err = Create(name, 0)
	require.NoError(t, err)
	defer f.Close()
	renamed, err = Rename(f, name, false)
	if !synced {
		t.Skip("the test's temporary folder is in memory; need a disk-backed one")
	}
	assert.ErrorIs(t, err, syscall.EIO)
	assert.True(t, renamed)
	assert.NoFileExists(t, f.Name())
}

// TestInjectedErrors: a sync or rename error fails Publish, removes the
// temporary and leaves the existing file alone; a folder sync error comes
// after the rename.
func TestInjectedErrors(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "x")
	require.NoError(t, os.WriteFile(name, []byte("old"), 0o644))
	t.Cleanup(func() { TestHookSync, TestHookRename, TestHookSyncDir = (*os.File).Sync, os.Rename, syncDir })
	check := func(what string) {
		t.Helper()
		b, err := os.ReadFile(name)
		require.NoError(t, err, what)
		assert.Equal(t, "old", string(b), what)
		des, _ := os.ReadDir(dir)
		assert.Len(t, des, 1, what)
	}
	publish := func() error {
		f, err := Create(name, 0)
		require.NoError(t, err)
		_, err = f.WriteString("new")
		require.NoError(t, err)
		return Publish(f, name, false)
	}
	var calls []string
	TestHookSync = func(*os.File) error { calls = append(calls, "sync"); return syscall.EIO }
	err := publish()
	if len(calls) == 0 {
		t.Skip("the test's temporary folder is in memory; need a disk-backed one")
	}
	assert.ErrorIs(t, err, syscall.EIO)
	var pe *os.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, name, pe.Path)
	check("sync error")
	TestHookSync = (*os.File).Sync

	TestHookRename = func(string, string) error { return syscall.EIO }
	assert.ErrorIs(t, publish(), syscall.EIO)
	check("rename error")
	TestHookRename = os.Rename

	TestHookSyncDir = func(string) error { return syscall.EIO }
	assert.ErrorIs(t, publish(), syscall.EIO)
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "new", string(b))
}

// TestWrite: a fill that fails leaves the old file and no temporary; one
// that succeeds replaces the file.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "x.bin")
	require.NoError(t, os.WriteFile(name, []byte("old"), 0o644))
	boom := os.ErrDeadlineExceeded
	err := Write(name, 0, func(f *os.File) error {
		f.WriteString("half")
		return boom
	})
	assert.ErrorIs(t, err, boom)
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "the temporary was removed")

	require.NoError(t, Write(name, 0o600, func(f *os.File) error {
		_, err := f.WriteString("new")
		return err
	}))
	b, err = os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "new", string(b))
	st, err := os.Stat(name)
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	}
}
