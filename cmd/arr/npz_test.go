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

// npzPy writes .npz archives with NumPy (stored and deflated) and prints,
// as JSON, for every archive and key: NumPy's print output and the SHA-256
// of the canonical bytes.
const npzPy = `
import hashlib, json, os, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(5)
arrays = {
    'a': rng.standard_normal((3, 4)),
    'fortran_be': np.asfortranarray(rng.integers(-99, 99, (3, 5)).astype('>i2')),
    'strings': np.array(['x', 'yy', 'é温']),
    'records': np.array([(1, 2.5, b'ab'), (-3, np.nan, b'')], dtype=[('i', '<i4'), ('f', '>f8'), ('s', 'S2')]),
    'scalar': np.array(3.25),
    'empty': np.zeros((0, 3)),
    'big': rng.standard_normal((3000, 4)).astype('f4'),
    'fortran_big': np.asfortranarray(rng.integers(0, 9, (40, 50))),
    'when': rng.integers(0, 10**9, 5).astype('M8[s]'),
}
res = {}
for name, save in [('stored.npz', np.savez), ('deflated.npz', np.savez_compressed)]:
    p = os.path.join(out, name)
    save(p, **arrays)
    with np.load(p) as f:
        res[name] = {k: {'print': str(f[k]), 'sha': hashlib.sha256(np.ascontiguousarray(f[k].astype(f[k].dtype.newbyteorder('<'))).tobytes()).hexdigest()} for k in f.files}
p = os.path.join(out, 'positional.npz')
np.savez(p, np.arange(5), np.eye(2))
with np.load(p) as f:
    res['positional.npz'] = {k: {'print': str(f[k]), 'sha': hashlib.sha256(np.ascontiguousarray(f[k]).tobytes()).hexdigest()} for k in f.files}
json.dump(res, sys.stdout)
`

type npzExpect map[string]map[string]struct {
	Print string `json:"print"`
	SHA   string `json:"sha"`
}

func numpyArchives(t *testing.T) (string, npzExpect) {
	t.Helper()
	dir := t.TempDir()
	var want npzExpect
	require.NoError(t, json.Unmarshal(pytest.Run(t, npzPy, dir), &want))
	require.Len(t, want, 3)
	return dir, want
}

// TestNpzMatchesNumPy checks show and checksum of every member of NumPy's
// stored and deflated archives, one member at a time (ARCHIVE.npz:KEY) and
// all at once, and info, verify and convert of members.
func TestNpzMatchesNumPy(t *testing.T) {
	dir, want := numpyArchives(t)
	for archive, members := range want {
		p := filepath.Join(dir, archive)
		var allShow, allSums strings.Builder
		for key, w := range members {
			label := p + ":" + key
			out, stderr, code := runArr(t, "show", label)
			require.Equal(t, 0, code, "%s: %s", label, stderr)
			assert.Equal(t, w.Print+"\n", out, label)

			out, stderr, code = runArr(t, "checksum", label)
			require.Equal(t, 0, code, "%s: %s", label, stderr)
			assert.Equal(t, w.SHA+"  "+label+"\n", out)

			out, stderr, code = runArr(t, "verify", label)
			require.Equal(t, 0, code, "%s: %s", label, stderr)
			assert.Equal(t, label+": OK\n", out)

			// A member converted to .npy.zst keeps its values.
			z := filepath.Join(dir, strings.TrimSuffix(archive, ".npz")+"-"+key+".npy.zst")
			_, stderr, code = runArr(t, "convert", label, z)
			require.Equal(t, 0, code, "%s: %s", label, stderr)
			out, _, _ = runArr(t, "show", z)
			assert.Equal(t, w.Print+"\n", out, z)
		}
		// The whole archive: every member, labelled, in directory order.
		out, stderr, code := runArr(t, "show", p)
		require.Equal(t, 0, code, stderr)
		sums, stderr, code := runArr(t, "checksum", p)
		require.Equal(t, 0, code, stderr)
		for _, line := range strings.Split(strings.TrimSpace(sums), "\n") {
			sum, label, _ := strings.Cut(line, "  ")
			key := strings.TrimPrefix(label, p+":")
			require.Contains(t, members, key)
			assert.Equal(t, members[key].SHA, sum, label)
			allShow.WriteString(label + ":\n" + members[key].Print + "\n")
			allSums.WriteString(line + "\n")
		}
		assert.Equal(t, allShow.String(), out)
		assert.Len(t, strings.Split(strings.TrimSpace(sums), "\n"), len(members))

		out, stderr, code = runArr(t, "verify", p)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, p+": OK\n", out)
	}

	// info --json of a stored and a deflated member.
	for archive, comp := range map[string]string{"stored.npz": "stored", "deflated.npz": "deflate"} {
		label := filepath.Join(dir, archive) + ":fortran_be"
		out, stderr, code := runArr(t, "info", "--json", label)
		require.Equal(t, 0, code, stderr)
		var obj map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &obj))
		assert.Equal(t, "npz", obj["format"])
		assert.Equal(t, ">i2", obj["dtype"])
		assert.Equal(t, true, obj["fortran_order"])
		assert.Equal(t, "fortran_be.npy", obj["member"])
		assert.Equal(t, comp, obj["compression"])
		assert.Equal(t, filepath.Join(dir, archive), obj["archive"])
		assert.Greater(t, obj["compressed_size"], 0.0)
	}
}

// TestNpzConvertExact: a member converted to .npy is the member's exact
// bytes, which NumPy wrote.
func TestNpzConvertExact(t *testing.T) {
	dir, _ := numpyArchives(t)
	out := filepath.Join(dir, "records.npy")
	_, stderr, code := runArr(t, "convert", filepath.Join(dir, "deflated.npz")+":records", out)
	require.Equal(t, 0, code, stderr)
	got := pytest.Run(t, `
import sys, zipfile
import numpy as np
with zipfile.ZipFile(sys.argv[1]) as z:
    member = z.read('records.npy')
print(open(sys.argv[2], 'rb').read() == member)
`, filepath.Join(dir, "deflated.npz"), out)
	assert.Equal(t, "True\n", string(got))
}

// TestNpzDamage: a corrupted member is caught by checksum and verify (its
// CRC-32), with the member named; errors about the archive name it.
func TestNpzDamage(t *testing.T) {
	dir, _ := numpyArchives(t)
	p := filepath.Join(dir, "stored.npz")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	// Corrupt a byte inside the data of member "big" (a stored float32
	// array: its bytes are the largest run in the archive).
	i := strings.Index(string(b), "big.npy")
	require.Greater(t, i, 0)
	b[i+4000] ^= 0xff
	bad := filepath.Join(dir, "bad.npz")
	require.NoError(t, os.WriteFile(bad, b, 0o644))

	_, stderr, code := runArr(t, "checksum", bad+":big")
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, bad+":big")
	assert.Contains(t, stderr, "checksum")
	_, stderr, code = runArr(t, "verify", bad)
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, bad)
	out, stderr, code := runArr(t, "verify", bad+":a")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, bad+":a: OK\n", out)

	_, stderr, code = runArr(t, "show", p+":nope")
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, p+":nope")
	assert.Contains(t, stderr, "no such archive member")

	cut := filepath.Join(dir, "cut.npz")
	require.NoError(t, os.WriteFile(cut, b[:len(b)/2], 0o644))
	for _, cmd := range []string{"info", "show", "checksum", "verify"} {
		_, stderr, code := runArr(t, cmd, cut)
		assert.Equal(t, exitError, code, cmd)
		requireOneErrorLine(t, stderr, cut)
	}

	_, stderr, code = runArr(t, "convert", p, filepath.Join(dir, "x.npy"))
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "ARCHIVE.npz:KEY")
}
