package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInfoJSONManifest checks every key of arr info --json against the
// values NumPy's generator recorded for each fixture.
func TestInfoJSONManifest(t *testing.T) {
	m := loadManifest(t)
	names := fixtureNames(t)
	args := []string{"info", "--json"}
	for _, n := range names {
		args = append(args, fixture(n))
	}
	out, stderr, code := runArr(t, args...)
	require.Equal(t, 0, code, stderr)
	var got []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, len(names))
	for i, n := range names {
		g, want := got[i], m[n]
		var file, format, version string
		require.NoError(t, json.Unmarshal(g["file"], &file))
		require.NoError(t, json.Unmarshal(g["format"], &format))
		require.NoError(t, json.Unmarshal(g["version"], &version))
		assert.Equal(t, fixture(n), file)
		assert.Equal(t, "npy", format)
		assert.Equal(t, want.Version, version, n)
		assert.JSONEq(t, string(want.DType), string(g["dtype"]), n)
		var shape []int
		require.NoError(t, json.Unmarshal(g["shape"], &shape))
		assert.Equal(t, append([]int{}, want.Shape...), shape, n)
		assert.JSONEq(t, jsonOf(t, want.FortranOrder), string(g["fortran_order"]), n)
		assert.JSONEq(t, jsonOf(t, want.DataOffset), string(g["data_offset"]), n)
		assert.JSONEq(t, jsonOf(t, want.NBytes), string(g["nbytes"]), n)
		assert.JSONEq(t, jsonOf(t, want.ItemSize), string(g["itemsize"]), n)
	}
}

func jsonOf(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestInfoJSONShapes: one FILE gives one object, several give an array.
func TestInfoJSONShapes(t *testing.T) {
	out, _, code := runArr(t, "info", "--json", fixture("f8_le_0d.npy"))
	require.Equal(t, 0, code)
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &obj))
	assert.Equal(t, []any{}, obj["shape"])
	assert.Equal(t, "<f8", obj["dtype"])

	out, _, code = runArr(t, "info", "--json", fixture("f8_le_0d.npy"), fixture("u1_1d.npy"))
	require.Equal(t, 0, code)
	var arr []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &arr))
	require.Len(t, arr, 2)

	// A bad file among good ones: exit 1, the error on stderr, the others
	// still described.
	out, stderr, code := runArr(t, "info", "--json", fixture("u1_1d.npy"), filepath.Join(t.TempDir(), "missing.npy"))
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "missing.npy: ")
	require.NoError(t, json.Unmarshal([]byte(out), &arr))
	require.Len(t, arr, 1)
}

// TestInfoGolden compares the text form with testdata/info.txt.
func TestInfoGolden(t *testing.T) {
	files := []string{"f8_le_2d_f.npy", "legacy_struct_v2_align16.npy", "M8ns_be_2d_c.npy", "U5_le_0d.npy", "struct_utf8_v3.npy"}
	args := []string{"info"}
	for _, f := range files {
		args = append(args, fixture(f))
	}
	out, stderr, code := runArr(t, args...)
	require.Equal(t, 0, code, stderr)
	golden := filepath.Join("testdata", "info.txt")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), out)
}

// TestInfoTrailing reports bytes after the data (NumPy accepts them).
func TestInfoTrailing(t *testing.T) {
	out, stderr, code := runArr(t, "info", filepath.Join(badDir, "trailing_1byte.npy"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "trailing:    1 bytes after the data")
}

// TestInfoStdin reads only the header from standard input.
func TestInfoStdin(t *testing.T) {
	b, err := os.ReadFile(fixture("i2_be_3d_f.npy"))
	require.NoError(t, err)
	out, stderr, code := runArrStdin(t, b[:200], "info", "--json", "-")
	require.Equal(t, 0, code, stderr)
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &obj))
	assert.Equal(t, "-", obj["file"])
	assert.Equal(t, ">i2", obj["dtype"])
	assert.Equal(t, true, obj["fortran_order"])
	assert.NotContains(t, obj, "file_size")
}
