package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// printFixturesPy prints str(np.load(f)) for every file named on the command
// line, as a JSON object {name: text}. NumPy's default cap of 10000 header
// bytes is lifted for the one fixture with a 90 KB header.
const printFixturesPy = `
import json, os, sys
import numpy as np
out = {}
for p in sys.argv[1:]:
    out[os.path.basename(p)] = str(np.load(p, max_header_size=10**6))
json.dump(out, sys.stdout)
`

// numpyPrints returns what NumPy prints for each of the files.
func numpyPrints(t *testing.T, paths []string) map[string]string {
	t.Helper()
	var got map[string]string
	require.NoError(t, json.Unmarshal(pytest.Run(t, printFixturesPy, paths...), &got))
	return got
}

// TestShowGolden compares arr show with the goldens in testdata/show, which
// NumPy 1.24 printed for the NumPy-written fixtures (go test -update
// regenerates them with NumPy).
func TestShowGolden(t *testing.T) {
	names := fixtureNames(t)
	if *update {
		var paths []string
		for _, n := range names {
			paths = append(paths, fixture(n))
		}
		for n, text := range numpyPrints(t, paths) {
			require.NoError(t, os.WriteFile(filepath.Join("testdata", "show", strings.TrimSuffix(n, ".npy")+".txt"), []byte(text+"\n"), 0o644))
		}
	}
	for _, n := range names {
		want, err := os.ReadFile(filepath.Join("testdata", "show", strings.TrimSuffix(n, ".npy")+".txt"))
		require.NoError(t, err, "golden for %s (go test -update writes it)", n)
		out, stderr, code := runArr(t, "show", fixture(n))
		assert.Equal(t, 0, code, "%s: %s", n, stderr)
		assert.Equal(t, string(want), out, n)
	}
}

// TestShowMatchesNumPyFixtures checks the goldens against NumPy itself, so
// they cannot drift from what NumPy prints.
func TestShowMatchesNumPyFixtures(t *testing.T) {
	names := fixtureNames(t)
	var paths []string
	for _, n := range names {
		paths = append(paths, fixture(n))
	}
	want := numpyPrints(t, paths)
	require.Len(t, want, len(names))
	for _, n := range names {
		out, stderr, code := runArr(t, "show", fixture(n))
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, want[n]+"\n", out, n)
	}
}

// generateCasesPy writes arrays of many kinds with NumPy into a folder,
// each NAME.npy with NAME.txt holding str(a), and for the index cases
// NAME.idx (the index) and NAME.idx.txt holding str(a[index]).
const generateCasesPy = `
import os, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(int(sys.argv[2]))
cases = {}
index = {}
def add(name, a, idx=None):
    cases[name] = a
    if idx is not None:
        index[name] = idx
with np.errstate(all='ignore'):
    for dt in ['f2', 'f4', 'f8', 'g']:
        for k in range(24):
            n = int(rng.integers(1, 12))
            mode = k % 8
            if mode == 0: a = rng.standard_normal(n)
            elif mode == 1: a = rng.standard_normal(n) * 10.0**rng.integers(-12, 12)
            elif mode == 2: a = np.round(rng.standard_normal(n)*100, int(rng.integers(0, 4)))
            elif mode == 3: a = rng.integers(-1000, 1000, n).astype(float)
            elif mode == 4: a = np.exp(rng.uniform(-30, 30, n))
            elif mode == 5:
                a = rng.standard_normal(n); a[rng.integers(0, n)] = np.nan; a[rng.integers(0, n)] = -np.inf
            elif mode == 6: a = rng.uniform(0.0001, 0.001, n)
            else: a = rng.choice([0.0, -0.0, 1e8, 99999999.0, 1e-4, 0.5, 1000.0, 1e16, 123456.789, 1/3], n)
            add(f'{dt}_{k}', a.astype(dt))
    for dt, it in [('f2', 'u2'), ('f4', 'u4'), ('f8', 'u8')]:
        for k in range(6):
            add(f'bits_{dt}_{k}', rng.integers(0, np.iinfo(it).max, 6, dtype=it, endpoint=True).view(dt))
    for dt in ['c8', 'c16', 'G']:
        for k in range(10):
            n = int(rng.integers(1, 8))
            a = rng.standard_normal(n) * 10.0**rng.integers(-6, 6) + 1j*rng.standard_normal(n) * 10.0**rng.integers(-6, 6)
            if k % 3 == 0: a[0] = complex(np.nan, 1)
            if k % 5 == 0: a[-1] = complex(0, -np.inf)
            add(f'{dt}_{k}', a.astype(dt))
    for dt in ['f2', 'f4', 'f8', 'g', 'c8', 'c16', 'G']:
        for k, v in enumerate([0.0, -0.0, 1.0, 0.1, 1e-5, 1e-4, 1e16, 1e15, 123.456, np.nan, np.inf, -np.inf, 2.5e-300, 1e300]):
            add(f'scalar_{dt}_{k}', np.array(v, dtype=dt))
    add('complex_imag_only', np.array(2j))
    add('complex_negzero_real', np.array(complex(-0.0, 2)))
    add('complex_nan_imag', np.array(complex(0, np.nan)))
for dt in ['i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', '?']:
    add(f'int_{dt}', rng.integers(0, 100, 30).astype(dt), '3:9')
add('int_neg', rng.integers(-10**18, 10**18, 7), '-1')
add('big1d', rng.standard_normal(5000), '100:120')
add('big2d', rng.integers(-5, 5, (100, 50)), '10')
add('big3d', rng.standard_normal((20, 30, 40)).astype('f4'), '::7')
add('big4d', np.arange(3*4*50*20).reshape(3, 4, 50, 20), '-2:')
add('wide_ints', rng.integers(-10**15, 10**15, (4, 30)), '::-1')
add('bool_rows', rng.integers(0, 2, (3, 70)).astype(bool), '1')
add('big_struct', np.zeros(2000, dtype=[('a', '<i4'), ('b', '<f8', (2,))]), '5')
add('strs', np.array(['a', "it's", 'say "hi"', 'both \' "', 'back\\slash', 'nl\nx', 'tab\t', '\x7f', '\u00a0', '\u2028', 'é温😀'] * 5), '2')
add('bytes', np.array([b'a', b"it's", b'\x00\x01', b'\xff', b'\\', b'"\''] * 7), '1:4')
add('void', np.array([b'\x00\x01\xfe', b'ab'], dtype='V3'), '0')
for u, lo, hi in [('s', -10**10, 10**10), ('ms', -10**12, 10**12), ('Y', -3000, 3000), ('M', -30000, 30000),
                  ('W', -3000, 3000), ('D', -10**6, 10**6), ('h', -3*10**6, 3*10**6), ('m', -3*10**8, 3*10**8),
                  ('us', -10**15, 10**15), ('ns', -10**18, 10**18), ('ps', -10**18, 10**18),
                  ('fs', -10**18, 10**18), ('as', -10**18, 10**18), ('10us', -10**12, 10**12), ('3h', -10**5, 10**5)]:
    a = rng.integers(lo, hi, 8).astype('M8[%s]' % u)
    a[3] = np.datetime64('NaT')
    add('datetime_' + u, a, '0')
    add('timedelta_' + u, rng.integers(lo, hi, 8).astype('m8[%s]' % u), '1')
add('datetime_nat_only', np.array(['NaT', 'NaT'], 'M8[D]'))
add('struct_mixed', np.array([(1.5, b'x', 'y', True, 3+4j, np.datetime64('2020-01-01'), 5), (np.nan, b'', 'zz', False, 1j, np.datetime64('NaT'), -7)],
    dtype=[('f', '<f4'), ('s', 'S2'), ('u', 'U2'), ('b', '?'), ('c', '<c8'), ('d', '<M8[D]'), ('t', '>m8[s]')]), '1')
add('struct_0d', np.array((True, 1.0, (2, 3)), dtype=[('b', '?'), ('x', '<f8'), ('p', [('i', 'u1'), ('j', '>i8')])]))
add('struct_one_field', np.array([(1,), (2,)], dtype=[('a', '<i2')]))
add('struct_sub2d', np.array([((1, 2), ((1.5, 2.), (3., 4.))), ((3, -4), ((0., 1e9), (5., 6.)))], dtype=[('a', '<i2', (2,)), ('m', '>f8', (2, 2))]), '-1')
add('struct_bool_sub', np.array([([True, False],)], dtype=[('b', '?', (2,))]))
add('empty_3x0x2', np.zeros((3, 0, 2)))
add('fortran_2d', np.asfortranarray(rng.standard_normal((3, 4))), '1:')
add('fortran_3d_big', np.asfortranarray(rng.integers(0, 9, (12, 10, 11))), '4')
add('column', rng.standard_normal((5, 1)))
add('long_strings', np.array(['x'*80, 'y'*10, 'é'*70]))
add('be_ints', rng.integers(-99, 99, (4, 4)).astype('>i4'), '2:3')
add('be_floats', rng.standard_normal(9).astype('>f8'))
for name, a in cases.items():
    np.save(os.path.join(out, name + '.npy'), a)
    with open(os.path.join(out, name + '.txt'), 'w') as f:
        f.write(str(a) + '\n')
    if name in index:
        idx = index[name]
        parts = [int(p) if p else None for p in idx.split(':')]
        sel = a[parts[0]] if len(parts) == 1 else a[slice(*parts)]
        with open(os.path.join(out, name + '.idx'), 'w') as f:
            f.write(idx)
        with open(os.path.join(out, name + '.idx.txt'), 'w') as f:
            f.write(str(sel) + '\n')
`

// TestShowMatchesNumPyGenerated prints arrays of every dtype, shape, order,
// range of values and summarisation that NumPy generates, and slices of
// them with --index, and compares with NumPy's print output byte for byte.
func TestShowMatchesNumPyGenerated(t *testing.T) {
	dir := t.TempDir()
	pytest.Run(t, generateCasesPy, dir, "7")
	npys, err := filepath.Glob(filepath.Join(dir, "*.npy"))
	require.NoError(t, err)
	require.Greater(t, len(npys), 300)
	indexed := 0
	for _, p := range npys {
		base := strings.TrimSuffix(p, ".npy")
		want, err := os.ReadFile(base + ".txt")
		require.NoError(t, err)
		out, stderr, code := runArr(t, "show", p)
		require.Equal(t, 0, code, "%s: %s", p, stderr)
		assert.Equal(t, string(want), out, filepath.Base(p))

		idx, err := os.ReadFile(base + ".idx")
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		want, err = os.ReadFile(base + ".idx.txt")
		require.NoError(t, err)
		out, stderr, code = runArr(t, "show", "--index", string(idx), p)
		require.Equal(t, 0, code, "%s: %s", p, stderr)
		assert.Equal(t, string(want), out, "%s --index %s", filepath.Base(p), idx)
		indexed++
	}
	require.Greater(t, indexed, 40)
}

// TestShowSummarised checks the summarised layout and the --limit,
// --edgeitems and --linewidth options on an array written from Go.
func TestShowSummarised(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.npy")
	data := make([]int32, 2000)
	for i := range data {
		data[i] = int32(i)
	}
	require.NoError(t, writeNpyFile(p, data, 2, 1000))

	out, _, code := runArr(t, "show", p)
	require.Equal(t, 0, code)
	assert.Equal(t, "[[   0    1    2 ...  997  998  999]\n [1000 1001 1002 ... 1997 1998 1999]]\n", out)

	out, _, code = runArr(t, "show", p, "--edgeitems", "1")
	require.Equal(t, 0, code)
	assert.Equal(t, "[[   0 ...  999]\n [1000 ... 1999]]\n", out)

	out, _, code = runArr(t, "show", "--limit", "-1", "--linewidth", "10000", p)
	require.Equal(t, 0, code)
	assert.Equal(t, 2, strings.Count(out, "\n"), "every value on one line per row")
	assert.Contains(t, out, " 500  501 ")

	out, _, code = runArr(t, "show", "--index", "1", "--limit", "10", "--edgeitems", "2", p)
	require.Equal(t, 0, code)
	assert.Equal(t, "[1000 1001 ... 1998 1999]\n", out)
}

// TestShowSeveralFiles labels each array when more than one is printed.
func TestShowSeveralFiles(t *testing.T) {
	a, b := fixture("b1_0d.npy"), fixture("i4_be_0d.npy")
	out, stderr, code := runArr(t, "show", a, b)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, a+":\nTrue\n"+b+":\n-2147483647\n", out)
}

// TestShowStdin prints an array read from standard input.
func TestShowStdin(t *testing.T) {
	b, err := os.ReadFile(fixture("f8_le_2d_c.npy"))
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join("testdata", "show", "f8_le_2d_c.txt"))
	require.NoError(t, err)
	out, stderr, code := runArrStdin(t, b, "show", "-")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, string(want), out)
}

func TestShowIndexErrors(t *testing.T) {
	for _, idx := range []string{"x", "1:2:3:4", "::0", "99999", "-100000", ""} {
		_, stderr, code := runArr(t, "show", "--index", idx, fixture("i1_1d.npy"))
		if idx == "" { // an empty --index means the whole array
			assert.Equal(t, 0, code, stderr)
			continue
		}
		assert.Equal(t, exitUsage, code, "--index %q", idx)
		assert.Contains(t, stderr, "usage: arr show", "--index %q", idx)
	}
	_, stderr, code := runArr(t, "show", "--index", "0", fixture("b1_0d.npy"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "0-d")
}
