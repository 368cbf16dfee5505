package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		dtype, shape string
		fortran      bool
		want         *npy.Header
	}{
		{"f8", "3,4", false, &npy.Header{Shape: []int{3, 4}}},
		{"<f8", "(3, 4)", true, &npy.Header{Shape: []int{3, 4}, FortranOrder: true}},
		{">i2", "5,", false, &npy.Header{Shape: []int{5}}},
		{"int32", "2,0,3", false, &npy.Header{Shape: []int{2, 0, 3}}},
		{"bool", "", false, &npy.Header{Shape: []int{}}},
		{"U3", "()", false, &npy.Header{Shape: []int{}}},
		{"datetime64[ns]", "7", false, &npy.Header{Shape: []int{7}}},
		{"[('x', '<f8'), ('n', '<i4', (2,))]", "4", false, &npy.Header{Shape: []int{4}}},
	} {
		p := filepath.Join(dir, strings.NewReplacer("[", "", "]", "", "'", "", "(", "", ")", "", ",", "", " ", "").Replace(tc.dtype+tc.shape)+".npy")
		args := []string{"create", p, "--dtype", tc.dtype, "--shape", tc.shape}
		if tc.fortran {
			args = append(args, "--fortran")
		}
		out, stderr, code := runArr(t, args...)
		require.Equal(t, 0, code, "%q: %s", args, stderr)
		assert.Empty(t, out)

		f, err := os.Open(p)
		require.NoError(t, err)
		data, h, err := npy.ReadAll(f)
		f.Close()
		require.NoError(t, err)
		dt, err := npy.ParseDType(tc.dtype)
		require.NoError(t, err)
		assert.True(t, dt.Equal(h.DType), "%s: dtype %s", tc.dtype, h.DType)
		assert.Equal(t, tc.want.Shape, append([]int{}, h.Shape...))
		assert.Equal(t, tc.want.FortranOrder, h.FortranOrder)
		assert.Equal(t, make([]byte, len(data)), data, "zero-filled")
	}
	// No temporary files are left behind.
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		assert.True(t, strings.HasSuffix(e.Name(), ".npy"), e.Name())
	}
}

// TestCreateExisting refuses to replace a file unless --force is given.
func TestCreateExisting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.npy")
	require.NoError(t, os.WriteFile(p, []byte("precious"), 0o644))
	_, stderr, code := runArr(t, "create", p, "--dtype", "f4", "--shape", "2")
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, p)
	assert.Contains(t, stderr, "--force")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "precious", string(b), "nothing on disk lost")

	_, stderr, code = runArr(t, "create", "--force", p, "--dtype", "f4", "--shape", "2")
	require.Equal(t, 0, code, stderr)
	vals, _, err := npy.ReadFile[float32](p)
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 0}, vals)
}

// TestCreateBadFolder reports a folder that does not exist.
func TestCreateBadFolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "dir", "a.npy")
	_, stderr, code := runArr(t, "create", p, "--dtype", "f8", "--shape", "3")
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, p)
}

// TestCreateNumPyLoads has NumPy load what arr create made.
func TestCreateNumPyLoads(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy")
	_, stderr, code := runArr(t, "create", a, "--dtype", ">i2", "--shape", "3,4", "--fortran")
	require.Equal(t, 0, code, stderr)
	_, stderr, code = runArr(t, "create", b, "--dtype", "[('x', '<f8'), ('s', 'S3')]", "--shape", "2", "--sparse", "--force")
	require.Equal(t, 0, code, stderr)
	out := pytest.Run(t, `
import sys
import numpy as np
for p in sys.argv[1:]:
    a = np.load(p, mmap_mode='r')
    print(a.dtype.descr, a.shape, a.flags.f_contiguous and a.ndim > 1, bool((np.zeros_like(a) == a).all()))
`, a, b)
	assert.Equal(t, "[('', '>i2')] (3, 4) True True\n[('x', '<f8'), ('s', '|S3')] (2,) False True\n", string(out))
}
