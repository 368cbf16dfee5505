//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// modeOf returns the permission bits of the file at p.
func modeOf(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

// TestCreateModeUmask runs arr create and arr convert as processes with
// umask 077: --mode sets the permission exactly; without it the file gets
// 0666 less the umask (0600), as np.save's and touch's files do.
func TestCreateModeUmask(t *testing.T) {
	dir := t.TempDir()
	arr := func(args ...string) {
		t.Helper()
		cmd := arrProc(context.Background(), []string{envUmask + "=077"}, args...)
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "arr %s: %s", strings.Join(args, " "), b)
	}
	t.Run("mode", func(t *testing.T) {
		for _, mode := range []fs.FileMode{0o640, 0o600, 0o604} {
			m := fmt.Sprintf("%04o", mode)
			p := filepath.Join(dir, "m"+m+".npy")
			arr("create", "--mode", m, "--dtype", "f8", "--shape", "100", p)
			assert.Equal(t, mode, modeOf(t, p), "create --mode %s", m)
			z := p + ".zst"
			arr("convert", "--mode", m, p, z)
			assert.Equal(t, mode, modeOf(t, z), "convert --mode %s to .npy.zst", m)
			back := filepath.Join(dir, "back"+m+".npy")
			arr("convert", "--mode", m, z, back)
			assert.Equal(t, mode, modeOf(t, back), "convert --mode %s to .npy", m)
			z2 := filepath.Join(dir, "re"+m+".npy.zst")
			arr("convert", "--mode", m, "--level", "1", z, z2)
			assert.Equal(t, mode, modeOf(t, z2), "convert --mode %s, recompressed", m)
		}
	})
	t.Run("default", func(t *testing.T) {
		p := filepath.Join(dir, "u.npy")
		arr("create", "--dtype", "f8", "--shape", "100", p)
		assert.Equal(t, fs.FileMode(0o600), modeOf(t, p), "create under umask 077")
		arr("convert", p, p+".zst")
		assert.Equal(t, fs.FileMode(0o600), modeOf(t, p+".zst"), "convert under umask 077")
		back := filepath.Join(dir, "u2.npy")
		arr("convert", p+".zst", back)
		assert.Equal(t, fs.FileMode(0o600), modeOf(t, back), "convert under umask 077")
	})
}

// memoryDir returns a fresh folder in a memory filesystem (/dev/shm), or
// skips the test where there is none (failing under CI, which has one).
func memoryDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/dev/shm", "arr-test-")
	if err == nil {
		f, ferr := os.Open(d)
		if ferr == nil && atomicfile.InMemory(f) {
			f.Close()
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
		if f != nil {
			f.Close()
		}
		os.RemoveAll(d)
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI must have a tmpfs /dev/shm")
	}
	t.Skip("no tmpfs /dev/shm on this machine")
	return ""
}

// TestCreateSparseMemoryFS: a sparse array in a memory filesystem fills
// memory as soon as its holes are read (and kills its readers when the
// filesystem is full), so arr create --sparse refuses it there unless
// --force, saying why; on disk it is fine.
func TestCreateSparseMemoryFS(t *testing.T) {
	shm := memoryDir(t)
	p := filepath.Join(shm, "huge.npy")
	cmd := arrProc(context.Background(), nil, "create", "--sparse", "--dtype", "u1", "--shape", "4000000000000", p)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "a 4 TB sparse array on tmpfs was created")
	assert.Equal(t, exitError, ee.ExitCode())
	requireOneErrorLine(t, stderr.String(), p)
	for _, want := range []string{"sparse", "memory filesystem", "SIGBUS", "--force"} {
		assert.Contains(t, stderr.String(), want)
	}
	left, err := os.ReadDir(shm)
	require.NoError(t, err)
	assert.Empty(t, left, "refused create left files behind")

	// --force overrides, knowingly.
	cmd = arrProc(context.Background(), nil, "create", "--sparse", "--force", "--dtype", "u1", "--shape", "1073741824", p)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, int64(1<<30+128), fi.Size())

	// Without --sparse the space is reserved, so tmpfs is fine.
	q := filepath.Join(shm, "small.npy")
	cmd = arrProc(context.Background(), nil, "create", "--dtype", "u1", "--shape", "4096", q)
	b, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
}
