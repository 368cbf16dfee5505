package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/internal/numprint"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadFixtures runs info, checksum and show on every malformed fixture:
// each must fail with exit status 1 and exactly one "arr: FILE: reason"
// line, never a panic. Files whose only defect is trailing bytes are
// accepted, as NumPy accepts them.
func TestBadFixtures(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(badDir, "manifest.json"))
	require.NoError(t, err)
	var m struct {
		Files []struct {
			Name  string `json:"name"`
			Error string `json:"error"`
		} `json:"files"`
	}
	require.NoError(t, json.Unmarshal(b, &m))
	require.Greater(t, len(m.Files), 90)
	for _, f := range m.Files {
		p := filepath.Join(badDir, f.Name)
		for _, cmd := range []string{"info", "checksum", "show"} {
			out, stderr, code := runArr(t, cmd, p)
			if f.Error == "trailing_data" {
				assert.Equal(t, exitOK, code, "%s %s: %s", cmd, f.Name, stderr)
				continue
			}
			assert.Equal(t, exitError, code, "%s %s", cmd, f.Name)
			assert.Empty(t, out, "%s %s", cmd, f.Name)
			requireOneErrorLine(t, stderr, p)
		}
	}
}

// TestReasonNamesTheProblem spot-checks that messages say what is wrong.
func TestReasonNamesTheProblem(t *testing.T) {
	for name, want := range map[string]string{
		"magic_92.npy":       "bad magic",
		"descr_O.npy":        "object arrays",
		"descr_f3.npy":       "<f3",
		"shape_negative.npy": "bad shape",
	} {
		p := filepath.Join(badDir, name)
		_, stderr, code := runArr(t, "info", p)
		assert.Equal(t, exitError, code)
		assert.Contains(t, stderr, want, name)
	}
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.npy")
	_, stderr, code := runArr(t, "checksum", missing)
	assert.Equal(t, exitError, code)
	assert.Equal(t, "arr: "+missing+": no such file or directory\n", stderr)

	_, stderr, code = runArr(t, "show", dir)
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, dir)
	assert.Contains(t, stderr, "not a regular file")

	empty := filepath.Join(dir, "empty.npy")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, stderr, code = runArr(t, "info", empty)
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, empty)

	_, stderr, code = runArrStdin(t, []byte("not an array"), "checksum", "-")
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, "-")
}

// TestUsageErrors: malformed command lines exit 2 with the usage.
func TestUsageErrors(t *testing.T) {
	good := fixture("i1_1d.npy")
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"info"},
		{"info", "--bogus", good},
		{"checksum"},
		{"show"},
		{"show", "--limit", "many", good},
		{"show", "--edgeitems", "-1", good},
		{"create", "x.npy"},
		{"create", "--dtype", "f8", "x.npy"},
		{"create", "--dtype", "f8", "--shape", "3", "a.npy", "b.npy"},
		{"create", "--dtype", "O", "--shape", "3", "x.npy"},
		{"create", "--dtype", "float128x", "--shape", "3", "x.npy"},
		{"create", "--dtype", "f8", "--shape", "3,-4", "x.npy"},
		{"create", "--dtype", "f8", "--shape", "3,x", "x.npy"},
		{"create", "--dtype", "f8", "--shape", "4294967296,4294967296", "x.npy"},
		{"ls", "a", "b"},
		{"rm"},
		{"gc", "--older-than", "soon"},
		{"gc", "--older-than", "-1h"},
	} {
		out, stderr, code := runArr(t, args...)
		assert.Equal(t, exitUsage, code, "%q", args)
		assert.Empty(t, out, "%q", args)
		assert.Contains(t, stderr, "usage: arr", "%q", args)
		assert.NotContains(t, stderr, "panic", "%q", args)
	}
}

// TestHelp: help goes to standard output with status 0.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "show"}, {"show", "-h"}, {"create", "--help"}} {
		out, stderr, code := runArr(t, args...)
		assert.Equal(t, exitOK, code, "%q", args)
		assert.Empty(t, stderr)
		assert.Contains(t, out, "usage: arr", "%q", args)
	}
	out, _, _ := runArr(t, "help")
	for _, c := range commands {
		assert.Contains(t, out, "  "+c.name+" ", "main usage lists %s", c.name)
	}
	out, _, _ = runArr(t, "help", "create")
	assert.Contains(t, out, "-sparse")
}

// TestTruncatedUnderReader truncates a mapped file between opening it and
// reading it, as another process might: checksum and show must return an
// error (the mapping's fault turned into ErrFileShrunk), not crash.
func TestTruncatedUnderReader(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.npy")
	data := make([]float64, 1<<16)
	for i := range data {
		data[i] = float64(i)
	}
	require.NoError(t, writeNpyFile(p, data))

	for _, op := range []string{"checksum", "show"} {
		hs, err := openArrays(p, openOptions{})
		require.NoError(t, err)
		require.NoError(t, os.Truncate(p, 64))
		if op == "checksum" {
			_, err = canonicalSHA256(hs[0])
		} else {
			err = hs[0].do(func(r io.ReaderAt, _ []byte) error {
				v := wholeArray(hs[0].header, r)
				return numprint.Fprint(io.Discard, v, numprint.Options{Threshold: 1 << 40, EdgeItems: 3, LineWidth: 75})
			})
		}
		require.Error(t, err, op)
		assert.True(t, errors.Is(err, mmfile.ErrFault), "%s: %v", op, err)
		assert.Contains(t, reason(err), "shrank")
		require.NoError(t, closeAll(hs))
		require.NoError(t, writeNpyFile(p, data)) // restore for the next op
	}

	// Through run: the file is already short when opened, which mmfile
	// reports as truncated before mapping.
	require.NoError(t, os.Truncate(p, 1000))
	_, stderr, code := runArr(t, "checksum", p)
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, p)
	assert.True(t, strings.Contains(stderr, "truncated"), stderr)
}
