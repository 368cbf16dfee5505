package npz

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// numpyArrays is Python code defining the arrays the NumPy tests use.
const numpyArrays = `
import numpy as np
rng = np.random.default_rng(7)
arrays = {
    "f8": np.round(np.sin(np.arange(60000) / 500.0), 3).reshape(600, 100),
    "i4be": np.cumsum(rng.integers(-2, 3, 50000)).astype(">i4"),
    "fortran": np.asfortranarray(np.arange(3000, dtype="<u2").reshape(30, 100)),
    "rec": np.array([(i, i / 2, b"ab") for i in range(1000)], dtype=[("a", "<i4"), ("b", "<f8"), ("s", "S2")]),
    "bool": rng.integers(0, 2, 777).astype(bool),
    "scalar": np.array(3.5),
}
`

// copyNpy adds the .npy file src to z as member key.
func copyNpy(z *Writer, key, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := z.Create(key)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, f); err != nil {
		return err
	}
	return w.Close()
}

func TestNumPyNpzInterop(t *testing.T) {
	pytest.Require(t)
	dir := t.TempDir()
	// NumPy writes: savez (stored), savez_compressed (deflate), positional
	// and keyword arrays, and the single arrays as .npy.
	pytest.Run(t, numpyArrays+`
import sys, os
d = sys.argv[1]
np.savez(os.path.join(d, "s.npz"), *[arrays["f8"], arrays["bool"]], **{k: v for k, v in arrays.items() if k not in ("f8", "bool")})
np.savez_compressed(os.path.join(d, "c.npz"), **arrays)
np.savez(os.path.join(d, "kw.npz"), f8=arrays["f8"], i4be=arrays["i4be"])
for k, a in arrays.items():
    np.save(os.path.join(d, k + ".npy"), a)
`, dir)

	// We read what NumPy wrote.
	for _, name := range []string{"s.npz", "c.npz"} {
		z, err := OpenReader(filepath.Join(dir, name))
		require.NoError(t, err, name)
		require.NoError(t, z.Verify(), name)
		for _, k := range keys(z) {
			r, err := z.Open(k)
			require.NoError(t, err)
			h := r.Header
			src := k
			if pos, ok := map[string]string{"arr_0": "f8", "arr_1": "bool"}[k]; ok {
				src = pos // positional arrays of np.savez
			}
			want, err := os.ReadFile(filepath.Join(dir, src+".npy"))
			require.NoError(t, err, k)
			raw, err := z.OpenRaw(k)
			require.NoError(t, err)
			got, err := io.ReadAll(raw)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "%s:%s (%s)", name, k, h)
		}
		z.Close()
	}
	z, err := OpenReader(filepath.Join(dir, "s.npz"))
	require.NoError(t, err)
	// NumPy 1.24 stores keyword arrays first, then positional ones.
	assert.Equal(t, []string{"i4be", "fortran", "rec", "scalar", "arr_0", "arr_1"}, keys(z))
	v, _, err := Read[int32](z, "i4be")
	require.NoError(t, err)
	assert.Len(t, v, 50000)
	z.Close()

	// Byte-identical to np.savez when we copy the same .npy files into a
	// file-backed archive.
	ours := filepath.Join(dir, "ours_kw.npz")
	w, err := Create(ours)
	require.NoError(t, err)
	for _, k := range []string{"f8", "i4be"} {
		require.NoError(t, copyNpy(w, k, filepath.Join(dir, k+".npy")))
	}
	require.NoError(t, w.Close())
	a, _ := os.ReadFile(ours)
	b, _ := os.ReadFile(filepath.Join(dir, "kw.npz"))
	assert.True(t, bytes.Equal(a, b), "our archive differs from np.savez's (%d vs %d bytes)", len(a), len(b))

	// NumPy reads what we write: stored, deflated, aligned, and streamed
	// (data descriptors) archives.
	for name, opts := range map[string][]WriterOption{"st": nil, "df": {WithDeflate(6)}, "al": {WithAlignment(64)}} {
		for _, stream := range []bool{false, true} {
			path := filepath.Join(dir, fmt.Sprintf("go_%s_%v.npz", name, stream))
			var zw *Writer
			var buf bytes.Buffer
			if stream {
				zw, err = NewWriter(&buf, opts...)
			} else {
				zw, err = Create(path, opts...)
			}
			require.NoError(t, err)
			for _, k := range []string{"f8", "i4be", "fortran", "rec", "bool", "scalar"} {
				require.NoError(t, copyNpy(zw, k, filepath.Join(dir, k+".npy")))
			}
			require.NoError(t, zw.Close())
			if stream {
				require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
			}
		}
	}
	res := pytest.Run(t, numpyArrays+`
import sys, os, glob, zipfile
n = 0
for p in sorted(glob.glob(os.path.join(sys.argv[1], "go_*.npz"))):
    with zipfile.ZipFile(p) as zf:
        assert zf.testzip() is None, p
    with np.load(p) as z:
        assert sorted(z.files) == sorted(arrays), (p, z.files)
        for k, a in arrays.items():
            b = z[k]
            assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b), (p, k)
            n += 1
print(n)
`, dir)
	assert.Equal(t, "36", strings.TrimSpace(string(res)))
}
