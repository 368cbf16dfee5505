//go:build linux

package mmfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/npy"
)

func init() {
	// fsizelimit DIR LIMIT N: with RLIMIT_FSIZE set to LIMIT bytes, create
	// an array of N float64 in DIR; print the error (the create must fail
	// cleanly, not crash).
	helpers["fsizelimit"] = func(args []string) error {
		limit, _ := strconv.ParseUint(args[1], 10, 64)
		n, _ := strconv.Atoi(args[2])
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
			return err
		}
		a, err := Create(filepath.Join(args[0], "big.npy"), f8(n), nil)
		if err == nil {
			a.Close()
			return errors.New("create succeeded beyond the file size limit")
		}
		fmt.Println(err)
		return nil
	}
}

// smallTmpfs mounts a 1 MiB tmpfs for the test (root only) or skips.
func smallTmpfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root; TestFileSizeLimit covers the non-root case")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs (%v); TestFileSizeLimit covers this case", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestFullTmpfs: on a full tmpfs, Create fails at create time with a clear
// error, leaves no file, and never faults.
func TestFullTmpfs(t *testing.T) {
	dir := smallTmpfs(t)
	path := filepath.Join(dir, "a.npy")

	// Early check from statfs.
	_, err := Create(path, f8(256<<10), nil) // 2 MiB
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	var se *SpaceError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, dir, se.Dir)
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "1.0 MiB free")
	assert.Contains(t, err.Error(), "$ARRFILE_DIR")
	assertEmpty(t, dir)

	// Without the early check, fallocate itself reports ENOSPC.
	freeSpaceFn = func(string) (int64, bool) { return 0, false }
	t.Cleanup(func() { freeSpaceFn = freeSpace })
	_, err = Create(path, f8(256<<10), nil)
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, se.Err, syscall.ENOSPC)
	assertEmpty(t, dir)

	// A first array fits, a second does not; the first is untouched.
	makeArray(t, path, 70<<10, func(i int) float64 { return 3 }) // 560 KiB
	_, err = Create(filepath.Join(dir, "b.npy"), f8(70<<10), nil)
	require.ErrorIs(t, err, syscall.ENOSPC)
	err = Write(path, make([]float64, 70<<10), nil, nil)
	require.ErrorIs(t, err, syscall.ENOSPC, "replacing needs room for both until the rename")
	got, _, err := npy.ReadFile[float64](path)
	require.NoError(t, err)
	assert.Equal(t, 3.0, got[len(got)-1])
	ap, err := OpenAppender(path, nil)
	require.NoError(t, err)
	err = Append(ap, make([]float64, 70<<10))
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.NoError(t, ap.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.EqualValues(t, 128+560<<10, fi.Size(), "failed append changed the file")
	require.NoError(t, os.Remove(path))

	// A sparse write of more than fits fails with ENOSPC from the write,
	// removes its temporary file, and leaves the destination untouched.
	makeArray(t, path, 16, func(i int) float64 { return 5 })
	err = Write(path, make([]float64, 256<<10), nil, &CreateOptions{Sparse: true})
	require.ErrorIs(t, err, syscall.ENOSPC)
	got, _, err = npy.ReadFile[float64](path)
	require.NoError(t, err)
	assert.Len(t, got, 16)
	des, _ := os.ReadDir(dir)
	assert.Len(t, des, 1)

	// Sparse Create succeeds; writing through the mapping then runs out of
	// pages, which the guarded WriteAt reports as ErrFault, not a crash.
	sp, err := Create(filepath.Join(dir, "sparse.npy"), f8(256<<10), &CreateOptions{Sparse: true})
	require.NoError(t, err)
	_, err = sp.WriteAt(make([]byte, 2<<20), 0)
	require.ErrorIs(t, err, ErrFault)
	assert.Contains(t, err.Error(), "sparse.npy")
	require.NoError(t, sp.Close())
	des, _ = os.ReadDir(dir)
	assert.Len(t, des, 1)
}

// TestFileSizeLimit runs Create in a child process whose file-size limit
// (RLIMIT_FSIZE) is below the array's size: the reservation fails at create
// with EFBIG and the child does not die of SIGXFSZ.
func TestFileSizeLimit(t *testing.T) {
	dir := shmDir(t)
	out := runHelper(t, "fsizelimit", dir, strconv.Itoa(1<<20), strconv.Itoa(1<<18))
	assert.Contains(t, out, "file too large")
	assert.Contains(t, out, dir)
	assertEmpty(t, dir)
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	assert.Empty(t, names, "files left in %s", dir)
}

// allocated returns the bytes allocated to a file.
func allocated(t *testing.T, path string) int64 {
	var st unix.Stat_t
	require.NoError(t, unix.Stat(path, &st))
	return st.Blocks * 512
}

// TestReserveRetries injects EINTR, ENOMEM and EOPNOTSUPP into fallocate:
// interrupted pieces are retried, ENOMEM and repeated EINTR shrink the
// piece, a filesystem without fallocate gets zeros written, and every time
// the file ends up fully allocated.
func TestReserveRetries(t *testing.T) {
	dir := shmDir(t)
	t.Cleanup(func() { fallocateFn, reserveChunk = fallocate, 256<<20 })
	reserveChunk = 4 << 20
	const n = 10 << 20 / 8 // 10 MiB array

	check := func(name string) {
		t.Helper()
		path := filepath.Join(dir, name)
		a, err := Create(path, f8(n), nil)
		require.NoError(t, err, name)
		require.NoError(t, a.Publish())
		require.NoError(t, a.Close())
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.EqualValues(t, 128+n*8, fi.Size(), name)
		assert.GreaterOrEqual(t, allocated(t, path), fi.Size(), name)
		got, _, err := npy.ReadFile[float64](path)
		require.NoError(t, err)
		assert.Len(t, got, n)
	}

	var calls []int64
	intr := 0
	fallocateFn = func(f *os.File, off, size int64) error {
		calls = append(calls, size)
		if intr++; intr%3 != 0 {
			return syscall.EINTR
		}
		return fallocate(f, off, size)
	}
	check("eintr.npy")
	assert.Greater(t, len(calls), 6)
	for _, c := range calls {
		assert.LessOrEqual(t, c, int64(4<<20), "piece above reserveChunk")
	}

	// Interrupted every time for large pieces: the piece shrinks until it
	// gets through.
	calls = nil
	fallocateFn = func(f *os.File, off, size int64) error {
		calls = append(calls, size)
		if size > 1<<20 {
			return syscall.EINTR
		}
		return fallocate(f, off, size)
	}
	check("eintr-always.npy")
	assert.Contains(t, calls, int64(1<<20))

	calls = nil
	fallocateFn = func(f *os.File, off, size int64) error {
		calls = append(calls, size)
		if size > 2<<20 {
			return syscall.ENOMEM
		}
		return fallocate(f, off, size)
	}
	check("enomem.npy")
	assert.Contains(t, calls, int64(2<<20))

	fallocateFn = func(f *os.File, off, size int64) error { return syscall.EOPNOTSUPP }
	check("nofallocate.npy")
	fallocateFn = func(f *os.File, off, size int64) error { return errNoFallocate }
	check("nofallocate2.npy")

	// Other errors are returned, with nothing left behind.
	fallocateFn = func(f *os.File, off, size int64) error { return syscall.EIO }
	_, err := Create(filepath.Join(dir, "eio.npy"), f8(n), nil)
	assert.ErrorIs(t, err, syscall.EIO)
	_, err = os.Stat(filepath.Join(dir, "eio.npy"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	fallocateFn = func(f *os.File, off, size int64) error { return syscall.EINTR }
	_, err = Create(filepath.Join(dir, "eintr-forever.npy"), f8(n), nil)
	assert.ErrorIs(t, err, syscall.EINTR)
	des, _ := os.ReadDir(dir)
	assert.Len(t, des, 5)
}
