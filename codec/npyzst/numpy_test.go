package npyzst

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/codec/zstdseek"
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
	zstdBin := zstdCLI(t)
	dir := t.TempDir()
	pytest.Run(t, numpyArrays+`
import sys, os
for k, a in arrays.items():
    np.save(os.path.join(sys.argv[1], k + ".npy"), a)
`, dir)
	for _, k := range []string{"f8", "i4be", "fortran", "rec", "bool", "scalar"} {
		src := filepath.Join(dir, k+".npy")
		zst := filepath.Join(dir, k+".npy.zst")
		require.NoError(t, CompressFile(zst, src, zstdseek.WithFrameSize(16<<10)), k)
		out := filepath.Join(dir, k+".out.npy")
		require.NoError(t, exec.Command(zstdBin, "-q", "-d", zst, "-o", out).Run(), k)
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
	r, err := Open(filepath.Join(dir, "f8.npy.zst"))
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

	br, err := Open(filepath.Join(dir, "i4be.npy.zst"))
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
