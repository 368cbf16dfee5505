package codec

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

func TestNumPyLoadsNpyZstAfterZstdD(t *testing.T) {
	pytest.Require(t)
	zstd := zstdCLI(t)
	dir := t.TempDir()
	pytest.Run(t, numpyArrays+`
import sys, os
for k, a in arrays.items():
    np.save(os.path.join(sys.argv[1], k + ".npy"), a)
`, dir)
	for _, k := range []string{"f8", "i4be", "fortran", "rec", "bool", "scalar"} {
		src := filepath.Join(dir, k+".npy")
		zst := filepath.Join(dir, k+".npy.zst")
		require.NoError(t, CompressFile(zst, src, WithFrameSize(16<<10)), k)
		out := filepath.Join(dir, k+".out.npy")
		require.NoError(t, exec.Command(zstd, "-q", "-d", zst, "-o", out).Run(), k)
	}
	res := pytest.Run(t, numpyArrays+`
import sys, os
for k, a in arrays.items():
    b = np.load(os.path.join(sys.argv[1], k + ".out.npy"))
    assert b.dtype == a.dtype and b.shape == a.shape, k
    assert np.array_equal(a, b), k
    assert open(os.path.join(sys.argv[1], k + ".out.npy"), "rb").read() == open(os.path.join(sys.argv[1], k + ".npy"), "rb").read(), k
print("ok")
`, dir)
	assert.Equal(t, "ok", strings.TrimSpace(string(res)))

	// Our random access agrees with NumPy's values.
	r, err := OpenNpy(filepath.Join(dir, "f8.npy.zst"))
	require.NoError(t, err)
	defer r.Close()
	row, err := ReadRows[float64](r, 321, 322)
	require.NoError(t, err)
	want := pytest.Run(t, numpyArrays+`print(" ".join(repr(float(v)) for v in arrays["f8"][321]))`)
	var got []string
	for _, v := range row {
		got = append(got, strings.TrimSuffix(strings.TrimSuffix(fmtFloat(v), ".0"), ".0"))
	}
	var wantList []string
	for _, s := range strings.Fields(string(want)) {
		wantList = append(wantList, strings.TrimSuffix(s, ".0"))
	}
	assert.Equal(t, wantList, got)

	br, err := OpenNpy(filepath.Join(dir, "i4be.npy.zst"))
	require.NoError(t, err)
	defer br.Close()
	vals, err := ReadElements[int32](br, 49990, 50000)
	require.NoError(t, err)
	want = pytest.Run(t, numpyArrays+`print(" ".join(str(int(v)) for v in arrays["i4be"][49990:]))`)
	var gotS []string
	for _, v := range vals {
		gotS = append(gotS, itoa(int64(v)))
	}
	assert.Equal(t, strings.Fields(string(want)), gotS)
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

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
		z, err := OpenNpz(filepath.Join(dir, name))
		require.NoError(t, err, name)
		require.NoError(t, z.Verify(), name)
		for _, k := range z.Keys() {
			h, err := z.Header(k)
			require.NoError(t, err)
			src := k
			if pos, ok := map[string]string{"arr_0": "f8", "arr_1": "bool"}[k]; ok {
				src = pos // positional arrays of np.savez
			}
			want, err := os.ReadFile(filepath.Join(dir, src+".npy"))
			require.NoError(t, err, k)
			raw, err := z.OpenRaw(k)
			require.NoError(t, err)
			got, err := io.ReadAll(raw)
			raw.Close()
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "%s:%s (%s)", name, k, h)
		}
		z.Close()
	}
	z, err := OpenNpz(filepath.Join(dir, "s.npz"))
	require.NoError(t, err)
	// NumPy 1.24 stores keyword arrays first, then positional ones.
	assert.Equal(t, []string{"i4be", "fortran", "rec", "scalar", "arr_0", "arr_1"}, z.Keys())
	v, _, err := ReadNpz[int32](z, "i4be")
	require.NoError(t, err)
	assert.Len(t, v, 50000)
	z.Close()

	// Byte-identical to np.savez when we copy the same .npy files into a
	// file-backed archive.
	ours := filepath.Join(dir, "ours_kw.npz")
	w, err := CreateNpz(ours)
	require.NoError(t, err)
	for _, k := range []string{"f8", "i4be"} {
		f, err := os.Open(filepath.Join(dir, k+".npy"))
		require.NoError(t, err)
		require.NoError(t, w.CopyNpy(k, f))
		f.Close()
	}
	require.NoError(t, w.Close())
	a, _ := os.ReadFile(ours)
	b, _ := os.ReadFile(filepath.Join(dir, "kw.npz"))
	assert.True(t, bytes.Equal(a, b), "our archive differs from np.savez's (%d vs %d bytes)", len(a), len(b))

	// NumPy reads what we write: stored, deflated, aligned, and streamed
	// (data descriptors) archives.
	for name, opts := range map[string][]Option{"st": nil, "df": {WithDeflate(true)}, "al": {WithAlignment(64)}} {
		for _, stream := range []bool{false, true} {
			path := filepath.Join(dir, fmt.Sprintf("go_%s_%v.npz", name, stream))
			var zw *NpzWriter
			var buf bytes.Buffer
			if stream {
				zw, err = NewNpzWriter(&buf, opts...)
			} else {
				zw, err = CreateNpz(path, opts...)
			}
			require.NoError(t, err)
			for _, k := range []string{"f8", "i4be", "fortran", "rec", "bool", "scalar"} {
				f, err := os.Open(filepath.Join(dir, k+".npy"))
				require.NoError(t, err)
				require.NoError(t, zw.CopyNpy(k, f))
				f.Close()
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
