//go:build linux

package mmfile

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

// python runs a NumPy script with args and returns its output.
func python(t *testing.T, script string, args ...string) string {
	t.Helper()
	py := numpyPython(t)
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "python failed:\n%s", out)
	return string(out)
}

// TestNumPyWritesGoReads: Go creates and maps an array; a NumPy process
// opens it with mmap_mode="r+" and writes; the Go mapping sees the values.
func TestNumPyWritesGoReads(t *testing.T) {
	path := tempPath(t, "np.npy")
	makeArray(t, path, 1000, func(int) float64 { return 0 })
	a, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	defer a.Close()
	s, err := Slice[float64](a)
	require.NoError(t, err)
	out := python(t, `
import sys, numpy as np
a = np.load(sys.argv[1], mmap_mode="r+")
assert a.shape == (1000,) and a.dtype == np.float64, (a.shape, a.dtype)
a[:] = np.arange(1000) * 2.0
a.flush()
print("done")
`, path)
	assert.Equal(t, "done\n", out)
	for i, v := range s {
		require.Equal(t, float64(2*i), v)
	}
}

// TestGoWritesNumPyReads: a NumPy process saves and maps an array and
// waits; Go opens it read-write and writes; the NumPy mapping sees the
// values.
func TestGoWritesNumPyReads(t *testing.T) {
	path := tempPath(t, "py.npy")
	py := numpyPython(t)
	cmd := exec.Command(py, "-c", `
import sys, numpy as np
np.save(sys.argv[1], np.zeros((100, 10), dtype=np.int32))
a = np.load(sys.argv[1], mmap_mode="r")
print("ready", flush=True)
sys.stdin.readline()
print(int(a.sum()), a[3, 4], a[99, 9], flush=True)
`, path)
	c := startCmd(t, cmd)
	c.Expect(t, "ready")
	a, err := Open(path, ReadWrite, nil)
	require.NoError(t, err)
	s, err := Slice[int32](a)
	require.NoError(t, err)
	for i := range s {
		s[i] = int32(i)
	}
	c.Send(t, "go")
	c.Expect(t, "499500 34 999")
	c.Wait(t)
	require.NoError(t, a.Close())
}

// TestNumPyLoadsOurFiles: every kind of array this package writes loads in
// NumPy with the right dtype, shape, order and values, by np.load and by
// np.load(mmap_mode="r").
func TestNumPyLoadsOurFiles(t *testing.T) {
	dir := shmDir(t)
	type file struct {
		name  string
		write func(string) error
		want  string
	}
	files := []file{
		{"f8.npy", func(p string) error { return Write(p, []float64{1.5, -2, 3}, nil, nil) }, "<f8 (3,) C 2.5"},
		{"f4.npy", func(p string) error { return Write(p, []float32{1, 2, 3, 4}, &npy.Header{Shape: []int{2, 2}}, nil) }, "<f4 (2, 2) C 10.0"},
		{"i1.npy", func(p string) error { return Write(p, []int8{-1, -2}, nil, nil) }, "|i1 (2,) C -3"},
		{"u2.npy", func(p string) error { return Write(p, []uint16{65535, 1}, nil, nil) }, "<u2 (2,) C 65536"},
		{"i8.npy", func(p string) error { return Write(p, []int64{1 << 40, 1}, nil, nil) }, "<i8 (2,) C 1099511627777"},
		{"c16.npy", func(p string) error { return Write(p, []complex128{1 + 2i, 3 - 1i}, nil, nil) }, "<c16 (2,) C (4+1j)"},
		{"b1.npy", func(p string) error { return Write(p, []bool{true, false, true}, nil, nil) }, "|b1 (3,) C 2"},
		{"f2.npy", func(p string) error {
			return Write(p, []npy.Float16{npy.Float16From(0.5), npy.Float16From(0.25)}, nil, nil)
		}, "<f2 (2,) C 0.75"},
		{"empty.npy", func(p string) error { return Write(p, []float64{}, &npy.Header{Shape: []int{0, 3}}, nil) }, "<f8 (0, 3) C 0.0"},
		{"scalar.npy", func(p string) error { return Write(p, []float64{7}, &npy.Header{Shape: []int{}}, nil) }, "<f8 () C 7.0"},
		{"fortran.npy", func(p string) error {
			a, err := Create(p, &npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{2, 3}, FortranOrder: true}, nil)
			if err != nil {
				return err
			}
			s, _ := Slice[int32](a)
			for i := range 2 {
				for j := range 3 {
					s[index(a.Header(), i, j)] = int32(10*i + j)
				}
			}
			a.Publish()
			return a.Close()
		}, "<i4 (2, 3) F 149"},
		{"be.npy", func(p string) error {
			h := &npy.Header{DType: npy.DTypeOf[int32]().WithOrder('>'), Shape: []int{2}}
			return Write(p, []byte{0, 0, 0, 1, 0, 0, 1, 0}, h, nil)
		}, ">i4 (2,) C 257"},
		{"rec.npy", func(p string) error {
			dt, err := npy.ParseDType("[('x', '<f8'), ('n', '<i4', (2,))]")
			if err != nil {
				return err
			}
			a, err := Create(p, &npy.Header{DType: dt, Shape: []int{2}}, nil)
			if err != nil {
				return err
			}
			a.WriteAt([]byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 2, 0, 0, 0, 3, 0, 0, 0}, 0)
			a.Publish()
			return a.Close()
		}, "|V16 (2,) C 6"},
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		require.NoError(t, f.write(p), f.name)
		paths = append(paths, p)
	}
	out := python(t, `
import sys, numpy as np
for p in sys.argv[1:]:
    for mm in (None, "r"):
        a = np.load(p, mmap_mode=mm)
        order = "F" if (a.flags.f_contiguous and not a.flags.c_contiguous) else "C"
        if a.dtype.names:
            s = int(a["x"].sum() + a["n"].sum())
        elif a.dtype.kind == "c":
            s = complex(a.sum())
        elif a.dtype.kind == "b":
            s = int(a.sum())
        elif a.dtype.kind == "f":
            s = float(a.sum())
        else:
            s = int((a * np.arange(1, a.size + 1).reshape(a.shape, order="F")).sum()) if order == "F" else int(a.astype(np.int64).sum())
        print(a.dtype.str, a.shape, order, s)
`, paths...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2*len(files), out)
	for i, f := range files {
		assert.Equal(t, f.want, lines[2*i], f.name)
		assert.Equal(t, f.want, lines[2*i+1], f.name+" (mmap)")
	}
}

// TestNumPyReadsAfterEveryAppend: after each Append, the file is a valid
// .npy for NumPy with the rows so far.
func TestNumPyReadsAfterEveryAppend(t *testing.T) {
	dir := shmDir(t)
	path := filepath.Join(dir, "grow.npy")
	ap, err := createAppender(path, npy.DTypeOf[float32](), []int{2}, nil)
	require.NoError(t, err)
	defer ap.Close()
	var snaps []string
	for k := range 8 {
		rows := make([]float32, 2*(1<<k))
		for i := range rows {
			rows[i] = float32(k)
		}
		require.NoError(t, Append(ap, rows))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		snap := filepath.Join(dir, fmt.Sprintf("snap%d.npy", k))
		require.NoError(t, os.WriteFile(snap, b, 0o644))
		snaps = append(snaps, snap)
	}
	out := python(t, `
import sys, numpy as np
for p in sys.argv[1:]:
    a = np.load(p)
    m = np.load(p, mmap_mode="r")
    assert (a == m).all()
    print(a.shape[0], float(a[-1, -1]))
`, snaps...)
	var want []string
	rows := 0
	for k := range 8 {
		rows += 1 << k
		want = append(want, fmt.Sprintf("%d %d.0", rows, k))
	}
	assert.Equal(t, strings.Join(want, "\n")+"\n", out)
}

// TestSharedMemoryAttach documents Python's SharedMemory resource tracker:
// attaching a Go-created array in /dev/shm by name with SharedMemory (Python
// < 3.13 default tracking) unlinks it when that Python process exits, even
// though it did not create it (CPython gh-82300). np.load(mmap_mode=...)
// never does. docs/sharing.md recommends np.load, or track=False on 3.13+.
func TestSharedMemoryAttach(t *testing.T) {
	if !dirWritable("/dev/shm") {
		t.Skip("no /dev/shm")
	}
	py := numpyPython(t)
	f, err := os.CreateTemp("/dev/shm", "mmfile-shm-*.npy")
	require.NoError(t, err)
	path := f.Name()
	f.Close()
	t.Cleanup(func() { os.Remove(path) })
	require.NoError(t, Write(path, []float64{1, 2, 3}, nil, nil))
	name := filepath.Base(path)

	out, err := exec.Command(py, "-c", `
import sys, numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
print(float(a.sum()))
`, path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "6.0\n", string(out))
	_, err = os.Stat(path)
	require.NoError(t, err, "np.load must never remove the file")

	out, err = exec.Command(py, "-c", `
import sys
from multiprocessing import shared_memory
kw = {"track": False} if sys.version_info >= (3, 13) else {}
s = shared_memory.SharedMemory(name=sys.argv[1], **kw)
print(bytes(s.buf[1:6]).decode(), sys.version_info >= (3, 13))
s.close()
`, name).CombinedOutput()
	require.NoError(t, err, "%s", out)
	first := strings.SplitN(string(out), "\n", 2)[0]
	_, statErr := os.Stat(path)
	switch first {
	case "NUMPY False":
		assert.ErrorIs(t, statErr, os.ErrNotExist, "Python < 3.13 SharedMemory is expected to unlink on exit")
		t.Logf("Python < 3.13: SharedMemory attach unlinked the Go-created array at exit (output: %q)", out)
	case "NUMPY True":
		assert.NoError(t, statErr, "track=False must leave the file")
	default:
		t.Fatalf("unexpected output %q", out)
	}
}

// TestAnonToNumPy passes an anonymous array to a Python child as
// descriptor 3; NumPy maps it through /proc/self/fd/3 read-write, and its
// writes are seen by Go.
func TestAnonToNumPy(t *testing.T) {
	py := numpyPython(t)
	a, err := CreateAnon("to-numpy", f8Int(4, 5), nil)
	require.NoError(t, err)
	defer a.Close()
	s, _ := Slice[int64](a)
	for i := range s {
		s[i] = int64(i)
	}
	f, err := a.File()
	require.NoError(t, err)
	cmd := exec.Command(py, "-c", `
import numpy as np
a = np.load("/proc/self/fd/3", mmap_mode="r+")
print(a.shape, int(a.sum()))
a[0, 0] = -7
a.flush()
`)
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "(4, 5) 190\n", string(out))
	assert.EqualValues(t, -7, s[0])
}

// TestLocksWithPython: Python's fcntl.flock sees Lock, and its
// fcntl.lockf (POSIX record locks) conflicts with LockRange, so Python
// processes can take part in the locking protocol.
func TestLocksWithPython(t *testing.T) {
	path := tempPath(t, "pylock.npy")
	makeInt64(t, path, 100)
	a, err := Open(path, ReadWrite, nil)
	require.NoError(t, err)
	defer a.Close()
	script := `
import fcntl, sys
f = open(sys.argv[1], "r+b")
def free(fn):
    try:
        fn()
        return "free"
    except OSError:
        return "held"
off = int(sys.argv[2])
print(free(lambda: fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)),
      free(lambda: fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, off, 0)),
      free(lambda: fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, off + 400, 0)))
`
	off := fmt.Sprint(a.Header().DataOffset)
	assert.Equal(t, "free free free\n", python(t, script, path, off))
	require.NoError(t, errOf(a.Lock(true, true)))
	require.NoError(t, errOf(a.LockRange(0, 16, true, true)))
	assert.Equal(t, "held held free\n", python(t, script, path, off))
}
