package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChecksumManifest checks arr checksum against the SHA-256 that the
// fixture generator computed with NumPy for every fixture.
func TestChecksumManifest(t *testing.T) {
	m := loadManifest(t)
	for _, n := range fixtureNames(t) {
		out, stderr, code := runArr(t, "checksum", fixture(n))
		require.Equal(t, 0, code, "%s: %s", n, stderr)
		assert.Equal(t, m[n].SHA256+"  "+fixture(n)+"\n", out, n)
	}
	// Several files: one line each, in order.
	out, _, code := runArr(t, "checksum", fixture("i1_1d.npy"), fixture("u1_1d.npy"))
	require.Equal(t, 0, code)
	assert.Equal(t, m["i1_1d.npy"].SHA256+"  "+fixture("i1_1d.npy")+"\n"+m["u1_1d.npy"].SHA256+"  "+fixture("u1_1d.npy")+"\n", out)
}

// writeRaw writes an .npy with the given header and raw data bytes.
func writeRaw(t testing.TB, path string, h *npy.Header, data []byte) {
	t.Helper()
	var b bytes.Buffer
	w, err := npy.NewWriter(&b, h)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// TestChecksumTwins writes the same 3x4 float64 array in C order
// little-endian and in Fortran order big-endian and checks that both have
// the checksum of the C-order little-endian bytes.
func TestChecksumTwins(t *testing.T) {
	dir := t.TempDir()
	const rows, cols = 3, 4
	vals := make([]float64, rows*cols)
	for i := range vals {
		vals[i] = math.Sqrt(float64(i)) - 1.5
	}
	cle := make([]byte, 8*len(vals))
	fbe := make([]byte, 8*len(vals))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			v := math.Float64bits(vals[r*cols+c])
			binary.LittleEndian.PutUint64(cle[8*(r*cols+c):], v)
			binary.BigEndian.PutUint64(fbe[8*(c*rows+r):], v)
		}
	}
	le, _ := npy.ParseDType("<f8")
	be, _ := npy.ParseDType(">f8")
	pc, pf := filepath.Join(dir, "c.npy"), filepath.Join(dir, "f.npy")
	writeRaw(t, pc, &npy.Header{DType: le, Shape: []int{rows, cols}}, cle)
	writeRaw(t, pf, &npy.Header{DType: be, Shape: []int{rows, cols}, FortranOrder: true}, fbe)

	sum := sha256.Sum256(cle)
	want := hex.EncodeToString(sum[:])
	out, stderr, code := runArr(t, "checksum", pc, pf)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, want+"  "+pc+"\n"+want+"  "+pf+"\n", out)

	// Standard input gives the same sum.
	b, err := os.ReadFile(pf)
	require.NoError(t, err)
	out, stderr, code = runArrStdin(t, b, "checksum", "-")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, want+"  -\n", out)
}

// TestChecksumLabelEscaping follows sha256sum for names with a newline or
// a backslash.
func TestChecksumLabelEscaping(t *testing.T) {
	sum := bytes.Repeat([]byte{0xab}, 32)
	assert.Equal(t, hex.EncodeToString(sum)+"  plain.npy", sumLine(sum, "plain.npy"))
	assert.Equal(t, `\`+hex.EncodeToString(sum)+`  a\nb\\c.npy`, sumLine(sum, "a\nb\\c.npy"))
}

// canonicalPy computes, for each file, the SHA-256 of NumPy's canonical
// bytes as the issue defines them.
const canonicalPy = `
import hashlib, sys
import numpy as np
for p in sys.argv[1:]:
    a = np.load(p)
    b = np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<'))).tobytes()
    print(hashlib.sha256(b).hexdigest() + '  ' + p)
`

// twinsPy writes arrays of many dtypes with NumPy in C order little-endian
// and as Fortran-order big-endian twins.
const twinsPy = `
import os, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(3)
arrays = {
    'f8': rng.standard_normal((5, 7)),
    'f4': rng.standard_normal((4, 3, 2)).astype('f4'),
    'f2': rng.standard_normal((6, 2)).astype('f2'),
    'i8': rng.integers(-2**62, 2**62, (3, 5)),
    'u2': rng.integers(0, 2**16, (7, 3)).astype('u2'),
    'c16': (rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))),
    'U3': np.array([['ab', 'é', '温度'], ['x', '', 'zzz']]),
    'S4': np.array([[b'ab', b'\x00x'], [b'', b'wxyz']]),
    'M8': rng.integers(-10**15, 10**15, (2, 5)).astype('M8[us]'),
    'struct': np.array([[(1, 2.5, b'a'), (3, -1.0, b'bc')], [(5, 1e9, b''), (-7, 0.0, b'z')]],
                       dtype=[('i', '<i4'), ('f', '<f8'), ('s', 'S2')]),
    'nested': np.array([((1, 2), [1.5, 2.5]), ((3, 4), [3.5, -4.5]), ((5, 6), [0.0, 1.0])],
                       dtype=[('p', [('x', '<i2'), ('y', '<u4')]), ('v', '<f4', (2,))]),
}
for name, a in arrays.items():
    np.save(os.path.join(out, name + '_c_le.npy'), a)
    np.save(os.path.join(out, name + '_f_be.npy'), np.asfortranarray(a.astype(a.dtype.newbyteorder('>'))))
`

// TestChecksumMatchesNumPy checks arr checksum against Python's
// hashlib.sha256(np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<'))).tobytes())
// for arrays NumPy writes, and that every Fortran-order big-endian twin
// has its C-order little-endian array's checksum.
func TestChecksumMatchesNumPy(t *testing.T) {
	dir := t.TempDir()
	pytest.Run(t, twinsPy, dir)
	paths, err := filepath.Glob(filepath.Join(dir, "*.npy"))
	require.NoError(t, err)
	require.Len(t, paths, 22)
	want := string(pytest.Run(t, canonicalPy, paths...))
	out, stderr, code := runArr(t, append([]string{"checksum"}, paths...)...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, want, out)

	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		sum, p, _ := strings.Cut(line, "  ")
		sums[filepath.Base(p)] = sum
	}
	for _, p := range paths {
		if name := filepath.Base(p); strings.HasSuffix(name, "_c_le.npy") {
			twin := strings.TrimSuffix(name, "_c_le.npy") + "_f_be.npy"
			assert.Equal(t, sums[name], sums[twin], "%s and %s", name, twin)
		}
	}
}

// TestChecksumFixturesMatchNumPy runs the NumPy expression on every
// fixture without padding bytes (NumPy's astype leaves padding
// uninitialised, so its hash of padded records is not deterministic).
func TestChecksumFixturesMatchNumPy(t *testing.T) {
	m := loadManifest(t)
	var paths []string
	for _, n := range fixtureNames(t) {
		if !m[n].HasPadding {
			paths = append(paths, fixture(n))
		}
	}
	require.Greater(t, len(paths), 100)
	want := string(pytest.Run(t, strings.Replace(canonicalPy, "np.load(p)", "np.load(p, max_header_size=10**6)", 1), paths...))
	out, stderr, code := runArr(t, append([]string{"checksum"}, paths...)...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, want, out)
}
