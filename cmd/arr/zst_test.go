package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compressFixture converts a fixture to .npy.zst with arr convert.
func compressFixture(t *testing.T, dir, name string, flags ...string) string {
	t.Helper()
	out := filepath.Join(dir, strings.TrimSuffix(name, ".npy")+".npy.zst")
	args := append([]string{"convert"}, flags...)
	_, stderr, code := runArr(t, append(args, fixture(name), out)...)
	require.Equal(t, 0, code, "%s: %s", name, stderr)
	return out
}

// TestZstMatchesNpy converts every fixture to .npy.zst (with small frames,
// so that arrays span many) and checks that info, checksum and show give
// what they give for the .npy, that verify passes, and that converting back
// restores the file byte for byte.
func TestZstMatchesNpy(t *testing.T) {
	dir := t.TempDir()
	for _, n := range fixtureNames(t) {
		z := compressFixture(t, dir, n, "--frame-size", "64", "--level", "3")

		npyOut, _, _ := runArr(t, "show", fixture(n))
		zOut, stderr, code := runArr(t, "show", z)
		require.Equal(t, 0, code, "%s: %s", n, stderr)
		assert.Equal(t, npyOut, zOut, n)

		npySum, _, _ := runArr(t, "checksum", fixture(n))
		zSum, stderr, code := runArr(t, "checksum", z)
		require.Equal(t, 0, code, "%s: %s", n, stderr)
		assert.Equal(t, strings.Fields(npySum)[0], strings.Fields(zSum)[0], n)

		out, stderr, code := runArr(t, "verify", z)
		require.Equal(t, 0, code, "%s: %s", n, stderr)
		assert.Equal(t, z+": OK\n", out)

		back := filepath.Join(dir, "back-"+n)
		_, stderr, code = runArr(t, "convert", z, back)
		require.Equal(t, 0, code, "%s: %s", n, stderr)
		orig, err := os.ReadFile(fixture(n))
		require.NoError(t, err)
		got, err := os.ReadFile(back)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(orig, got), "%s: round trip differs", n)
	}
}

func TestZstInfo(t *testing.T) {
	dir := t.TempDir()
	z := compressFixture(t, dir, "i4_le_3d_c.npy", "--frame-size", "16")
	out, stderr, code := runArr(t, "info", "--json", z)
	require.Equal(t, 0, code, stderr)
	fi, err := os.Stat(z)
	require.NoError(t, err)
	assert.JSONEq(t, `{"file": "`+z+`", "format": "npy.zst", "version": "1.0", "dtype": "<i4",
		"shape": [2, 3, 4], "fortran_order": false, "data_offset": 128, "nbytes": 96, "itemsize": 4,
		"file_size": `+jsonOf(t, fi.Size())+`, "trailing_bytes": 0, "compressed_size": `+jsonOf(t, fi.Size())+`,
		"frames": 7, "seekable": true}`, out) // the header frame and 96/16 data frames

	out, _, code = runArr(t, "info", z)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "format:      npy.zst (npy 1.0), 7 frames, seekable\n")
	assert.Contains(t, out, "compressed:  "+jsonOf(t, fi.Size())+" bytes")
}

// plainZstd compresses a file as one plain zstd frame, without seek table,
// as stock zstd does.
func plainZstd(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, enc.EncodeAll(b, nil), 0o644))
	enc.Close()
}

// TestZstPlainAndFortran covers the paths without random access: a plain
// zstd file (sequential only) and the checksum of a Fortran-order array,
// both served from a temporary decompressed copy.
func TestZstPlainAndFortran(t *testing.T) {
	dir := t.TempDir()
	spills := func() []string {
		m, err := filepath.Glob(filepath.Join(os.TempDir(), "arr-*.npy"))
		require.NoError(t, err)
		return m
	}
	before := spills()
	for _, n := range []string{"i4_le_3d_f.npy", "c8_be_3d_f.npy", "struct_utf8_v3_be_2d_f.npy", "f8_le_1d.npy"} {
		p := filepath.Join(dir, "plain-"+n+".zst")
		plainZstd(t, fixture(n), p)
		s := compressFixture(t, dir, n, "--frame-size", "32")
		for _, z := range []string{p, s} {
			want, _, _ := runArr(t, "show", fixture(n))
			got, stderr, code := runArr(t, "show", z)
			require.Equal(t, 0, code, "%s: %s", z, stderr)
			assert.Equal(t, want, got, z)
			want, _, _ = runArr(t, "checksum", fixture(n))
			got, stderr, code = runArr(t, "checksum", z)
			require.Equal(t, 0, code, "%s: %s", z, stderr)
			assert.Equal(t, strings.Fields(want)[0], strings.Fields(got)[0], z)
			_, stderr, code = runArr(t, "verify", z)
			assert.Equal(t, 0, code, "%s: %s", z, stderr)
			// Reads in reverse storage order, served front to back.
			want, _, _ = runArr(t, "show", "--index", "::-1", fixture(n))
			got, stderr, code = runArr(t, "show", "--index", "::-1", z)
			require.Equal(t, 0, code, "%s: %s", z, stderr)
			assert.Equal(t, want, got, z)
		}
		out, _, code := runArr(t, "info", p)
		require.Equal(t, 0, code)
		assert.Contains(t, out, "no seek table: sequential access only")
	}
	assert.Equal(t, before, spills(), "temporary decompressed copies left behind")
}

// TestZstIndex prints parts of a compressed array with --index and checks
// them against the same parts of the .npy.
func TestZstIndex(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.npy")
	data := make([]int64, 50000)
	for i := range data {
		data[i] = int64(i * i)
	}
	require.NoError(t, writeNpyFile(p, data, 500, 100))
	z := filepath.Join(dir, "r.npy.zst")
	_, stderr, code := runArr(t, "convert", "--frame-size", "4096", p, z)
	require.Equal(t, 0, code, stderr)
	for _, idx := range []string{"0", "499", "-1", "250", "10:13", "::100", "-3:", "1000:"} {
		want, _, code := runArr(t, "show", "--index", idx, p)
		require.Equal(t, 0, code)
		got, stderr, code := runArr(t, "show", "--index", idx, z)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, want, got, idx)
	}
	out, _, _ := runArr(t, "show", "--index", "250", z)
	assert.True(t, strings.HasPrefix(out, "[625000000 625050001 625100004 "), out)
}

// TestVerifyDamage: verify names the damage and exits 1.
func TestVerifyDamage(t *testing.T) {
	dir := t.TempDir()
	z := compressFixture(t, dir, "f8_le_1d.npy", "--frame-size", "64")
	b, err := os.ReadFile(z)
	require.NoError(t, err)

	flipped := filepath.Join(dir, "flipped.npy.zst")
	c := append([]byte(nil), b...)
	c[len(c)/2] ^= 0x55 // inside a data frame
	require.NoError(t, os.WriteFile(flipped, c, 0o644))
	cut := filepath.Join(dir, "cut.npy.zst")
	require.NoError(t, os.WriteFile(cut, b[:len(b)/2], 0o644)) // inside the data frames
	// Inside the seek table: the file then ends inside a skippable frame,
	// which `zstd -t` reports as a premature end, and so must verify.
	var cutTable []string
	for _, n := range []int{1, 4, 9, 20, 100} {
		p := filepath.Join(dir, fmt.Sprintf("cut_table_%d.npy.zst", n))
		require.NoError(t, os.WriteFile(p, b[:len(b)-n], 0o644))
		cutTable = append(cutTable, p)
	}
	trailing := filepath.Join(badDir, "trailing_1byte.npy")
	short := filepath.Join(dir, "short.npy")
	raw, err := os.ReadFile(fixture("f8_le_1d.npy"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(short, raw[:len(raw)-1], 0o644))

	for _, p := range []string{flipped, cut, trailing, short} {
		out, stderr, code := runArr(t, "verify", p)
		assert.Equal(t, exitError, code, p)
		assert.Empty(t, out, p)
		requireOneErrorLine(t, stderr, p)
	}
	for _, p := range cutTable {
		out, stderr, code := runArr(t, "verify", p)
		assert.Equal(t, exitError, code, p)
		assert.Empty(t, out, p)
		requireOneErrorLine(t, stderr, p)
		assert.Contains(t, stderr, "truncated", p)
	}
	_, stderr, _ := runArr(t, "verify", trailing)
	assert.Contains(t, stderr, "trailing")
	_, stderr, _ = runArr(t, "verify", short)
	assert.Contains(t, stderr, "truncated")

	// Good and bad together: OK lines for the good, status 1.
	out, _, code := runArr(t, "verify", z, flipped, fixture("u1_1d.npy"))
	assert.Equal(t, exitError, code)
	assert.Equal(t, z+": OK\n"+fixture("u1_1d.npy")+": OK\n", out)
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	in := fixture("f4_le_1d.npy")
	out := filepath.Join(dir, "a.npy.zst")
	_, stderr, code := runArr(t, "convert", in, out)
	require.Equal(t, 0, code, stderr)

	// OUT exists: refused, naming OUT, OUT untouched.
	before, err := os.ReadFile(out)
	require.NoError(t, err)
	_, stderr, code = runArr(t, "convert", "--level", "best", in, out)
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, out)
	after, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	_, stderr, code = runArr(t, "convert", "--force", "--level", "best", in, out)
	assert.Equal(t, 0, code, stderr)

	// Missing or damaged IN: the error names IN and OUT is not created.
	for _, bad := range []string{filepath.Join(dir, "missing.npy"), filepath.Join(badDir, "truncated_data_f8.npy"), filepath.Join(badDir, "magic_92.npy")} {
		o := filepath.Join(dir, "never.npy.zst")
		_, stderr, code := runArr(t, "convert", bad, o)
		assert.Equal(t, exitError, code, bad)
		requireOneErrorLine(t, stderr, bad)
		_, err := os.Stat(o)
		assert.True(t, os.IsNotExist(err), "%s: OUT created", bad)
	}
	flipped := filepath.Join(dir, "flipped.npy.zst")
	b, _ := os.ReadFile(out)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(flipped, b, 0o644))
	o := filepath.Join(dir, "never.npy")
	_, stderr, code = runArr(t, "convert", flipped, o)
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, flipped)
	_, err = os.Stat(o)
	assert.True(t, os.IsNotExist(err))
	left, _ := filepath.Glob(filepath.Join(dir, ".never*"))
	assert.Empty(t, left, "temporary files left")

	_, stderr, code = runArr(t, "convert", in, filepath.Join(dir, "x.npy"))
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "already an .npy")

	for _, args := range [][]string{
		{"convert", in},
		{"convert", in, filepath.Join(dir, "x.txt")},
		{"convert", "--level", "turbo", in, filepath.Join(dir, "y.npy.zst")},
		{"convert", "--frame-size", "0", in, filepath.Join(dir, "y.npy.zst")},
		{"convert", "--frame-size", "1T", in, filepath.Join(dir, "y.npy.zst")},
		{"convert", "--level", "3", out, filepath.Join(dir, "y.npy")},
		{"convert", "--threads", "-2", in, filepath.Join(dir, "y.npy.zst")},
	} {
		_, stderr, code := runArr(t, args...)
		assert.Equal(t, exitUsage, code, "%q", args)
		assert.Contains(t, stderr, "usage: arr convert", "%q", args)
	}
}

func TestParseBytes(t *testing.T) {
	for s, want := range map[string]int64{"1048576": 1 << 20, "64k": 64 << 10, "4M": 4 << 20, "4MiB": 4 << 20, "1 GiB": 1 << 30, "12b": 12} {
		got, err := parseBytes(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "x", "-1", "1.5M", "99999999999999999999"} {
		_, err := parseBytes(s)
		assert.Error(t, err, s)
	}
}

// TestZstdCLIReadsOurs checks that stock zstd restores the exact .npy from
// what arr convert writes.
func TestZstdCLIReadsOurs(t *testing.T) {
	zstdBin, err := exec.LookPath("zstd")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("zstd not installed, but CI must run this test")
		}
		t.Skip("zstd not installed")
	}
	dir := t.TempDir()
	for _, n := range []string{"f8_le_2d_f.npy", "struct_nested_be.npy", "U3_le_1d.npy", "legacy_unpadded.npy"} {
		z := compressFixture(t, dir, n, "--frame-size", "100")
		out := filepath.Join(dir, "d-"+n)
		b, err := exec.Command(zstdBin, "-q", "-d", z, "-o", out).CombinedOutput()
		require.NoError(t, err, "%s", b)
		want, _ := os.ReadFile(fixture(n))
		got, _ := os.ReadFile(out)
		assert.True(t, bytes.Equal(want, got), n)
	}
}
