package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files (show goldens are printed by NumPy)")

const (
	fixtureDir = "../../testdata/npy"
	badDir     = "../../testdata/bad"
)

// runArr runs arr in-process and returns its standard output, standard
// error and exit status.
func runArr(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// runArrStdin is runArr with the given standard input.
func runArrStdin(t testing.TB, in []byte, args ...string) (string, string, int) {
	t.Helper()
	old := stdin
	stdin = bytes.NewReader(in)
	defer func() { stdin = old }()
	return runArr(t, args...)
}

func fixture(name string) string { return filepath.Join(fixtureDir, name) }

// fixtureNames lists the valid NumPy-written fixtures.
func fixtureNames(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(fixtureDir, "*.npy"))
	require.NoError(t, err)
	require.NotEmpty(t, m, "testdata fixtures missing")
	var names []string
	for _, p := range m {
		names = append(names, filepath.Base(p))
	}
	sort.Strings(names)
	return names
}

// manifestFile is one entry of testdata/npy/manifest.json (the fields the
// CLI tests use).
type manifestFile struct {
	Name         string          `json:"name"`
	DType        json.RawMessage `json:"dtype"`
	Shape        []int           `json:"shape"`
	FortranOrder bool            `json:"fortran_order"`
	Version      string          `json:"version"`
	DataOffset   int64           `json:"data_offset"`
	ItemSize     int             `json:"itemsize"`
	NBytes       int64           `json:"nbytes"`
	SHA256       string          `json:"sha256"`
	HasPadding   bool            `json:"has_padding"`
}

func loadManifest(t testing.TB) map[string]manifestFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "manifest.json"))
	require.NoError(t, err)
	var m struct {
		Files []manifestFile `json:"files"`
	}
	require.NoError(t, json.Unmarshal(b, &m))
	out := map[string]manifestFile{}
	for _, f := range m.Files {
		out[f.Name] = f
	}
	require.NotEmpty(t, out)
	return out
}

// requireOneErrorLine checks that stderr is exactly one "arr: LABEL: reason"
// line and no Go panic or stack trace.
func requireOneErrorLine(t testing.TB, stderr, label string) {
	t.Helper()
	require.True(t, strings.HasSuffix(stderr, "\n"), "stderr %q", stderr)
	require.Equal(t, 1, strings.Count(stderr, "\n"), "want one error line, got %q", stderr)
	require.True(t, strings.HasPrefix(stderr, "arr: "+label+": "), "stderr %q does not name %s", stderr, label)
	require.Greater(t, len(stderr), len("arr: "+label+": \n"), "empty reason")
	for _, bad := range []string{"panic", "goroutine", "internal error", "runtime error"} {
		require.NotContains(t, stderr, bad)
	}
}
