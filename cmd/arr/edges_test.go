package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/pytest"
)

// extremeSlices are --index slices at the ends of the int64 range (and
// beyond: Python clamps those), with what NumPy 1.24 prints for them on
// np.zeros(1) and np.arange(5.0). TestShowExtremeSlicesNumPy checks the
// table against NumPy itself.
var extremeSlices = []struct {
	spec        string
	zeros, five string
}{
	{"::9223372036854775807", "[0.]", "[0.]"},
	{"::-9223372036854775808", "[0.]", "[4.]"},
	{"::-9223372036854775807", "[0.]", "[4.]"},
	{"9223372036854775807::-1", "[0.]", "[4. 3. 2. 1. 0.]"},
	{"-9223372036854775808::", "[0.]", "[0. 1. 2. 3. 4.]"},
	{"-9223372036854775808:9223372036854775807:9223372036854775807", "[0.]", "[0.]"},
	{"9223372036854775807:-9223372036854775808:-9223372036854775808", "[0.]", "[4.]"},
	{":-9223372036854775808:-1", "[0.]", "[4. 3. 2. 1. 0.]"},
	{"1:9223372036854775807:4611686018427387904", "[]", "[1.]"},
	{"-1:-9223372036854775807:-4611686018427387904", "[0.]", "[4.]"},
	{"99999999999999999999:", "[]", "[]"},
	{"-99999999999999999999:", "[0.]", "[0. 1. 2. 3. 4.]"},
	{"::99999999999999999999", "[0.]", "[0.]"},
	{"::-99999999999999999999", "[0.]", "[4.]"},
	{"3::9223372036854775806", "[]", "[3.]"},
}

// extremeFiles writes the two arrays of extremeSlices.
func extremeFiles(t *testing.T) (zeros, five string) {
	dir := t.TempDir()
	zeros, five = filepath.Join(dir, "zeros.npy"), filepath.Join(dir, "five.npy")
	require.NoError(t, writeNpyFile(zeros, []float64{0}, 1))
	require.NoError(t, writeNpyFile(five, []float64{0, 1, 2, 3, 4}, 5))
	return zeros, five
}

// TestShowExtremeSlices: the element count of a slice with a huge step
// must not overflow (::9223372036854775807 of a 1-element array is that
// element, as NumPy prints it, not []).
func TestShowExtremeSlices(t *testing.T) {
	zeros, five := extremeFiles(t)
	for _, tc := range extremeSlices {
		for _, c := range []struct{ file, want string }{{zeros, tc.zeros}, {five, tc.five}} {
			out, stderr, code := runArr(t, "show", "--index", tc.spec, c.file)
			require.Equal(t, 0, code, "--index %s: %s", tc.spec, stderr)
			assert.Equal(t, c.want+"\n", out, "%s --index %s", filepath.Base(c.file), tc.spec)
		}
	}
}

// TestShowExtremeSlicesNumPy checks the table of TestShowExtremeSlices
// against NumPy.
func TestShowExtremeSlicesNumPy(t *testing.T) {
	zeros, five := extremeFiles(t)
	var specs []string
	for _, tc := range extremeSlices {
		specs = append(specs, tc.spec)
	}
	out := pytest.Run(t, `
import json, sys
import numpy as np
z, f = np.load(sys.argv[1]), np.load(sys.argv[2])
res = []
for spec in sys.argv[3:]:
    s = slice(*[int(x) if x else None for x in spec.split(":")])
    res.append([str(z[s]), str(f[s])])
json.dump(res, sys.stdout)
`, append([]string{zeros, five}, specs...)...)
	var got [][2]string
	require.NoError(t, json.Unmarshal(out, &got))
	require.Len(t, got, len(extremeSlices))
	for i, tc := range extremeSlices {
		assert.Equal(t, tc.zeros, got[i][0], "np.zeros(1)[%s]", tc.spec)
		assert.Equal(t, tc.five, got[i][1], "np.arange(5.)[%s]", tc.spec)
	}
}

// TestShowHugeIndex: an integer index beyond int64 is out of bounds, as
// in NumPy, and reported as such.
func TestShowHugeIndex(t *testing.T) {
	_, five := extremeFiles(t)
	for _, idx := range []string{"99999999999999999999", "-99999999999999999999", "9223372036854775807", "-9223372036854775808"} {
		_, stderr, code := runArr(t, "show", "--index", idx, five)
		assert.Equal(t, exitUsage, code, idx)
		assert.Contains(t, stderr, "out of bounds", idx)
	}
}

// TestCreateShapeLimits: --shape names what is wrong with a dimension, and
// refuses more dimensions than NumPy 1.24 (32).
func TestCreateShapeLimits(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ shape, want string }{
		{"4611686018427387904", "dimension 4611686018427387904 is too large"},
		{"99999999999999999999999", "is too large"},
		{"3,-4", "dimension -4 is negative"},
		{"-99999999999999999999999", "is negative"},
		{"3,x", `dimension "x" is not an integer`},
		{strings.Repeat("1,", 33), "33 dimensions: NumPy allows at most 32"},
		{strings.Repeat("1,", 65), "65 dimensions"},
	} {
		_, stderr, code := runArr(t, "create", "--dtype", "u1", "--shape", tc.shape, filepath.Join(dir, "x.npy"))
		assert.Equal(t, exitUsage, code, tc.shape)
		assert.Contains(t, stderr, tc.want, tc.shape)
	}
	p := filepath.Join(dir, "d32.npy")
	_, stderr, code := runArr(t, "create", "--dtype", "u1", "--shape", strings.Repeat("1,", 32), p)
	require.Equal(t, 0, code, stderr)
	out := pytest.Run(t, `
import sys
import numpy as np
print(np.load(sys.argv[1]).ndim)
`, p)
	assert.Equal(t, "32\n", string(out))
}

// TestModeFlagErrors: --mode takes octal permission bits only.
func TestModeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, m := range []string{"999", "0", "01777", "rw-r--r--", "0x1a4", "-1"} {
		_, stderr, code := runArr(t, "create", "--mode", m, "--dtype", "u1", "--shape", "3", filepath.Join(dir, "x.npy"))
		assert.Equal(t, exitUsage, code, m)
		assert.Contains(t, stderr, "--mode", m)
		_, stderr, code = runArr(t, "convert", "--mode", m, fixture("i1_1d.npy"), filepath.Join(dir, "x.npy.zst"))
		assert.Equal(t, exitUsage, code, m)
		assert.Contains(t, stderr, "--mode", m)
	}
}
