package zstdseek

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// zstdCLI returns the path of the zstd command-line tool, skipping the
// test if it is not installed (CI installs it).
func zstdCLI(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/zstd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("zstd")
	if err != nil {
		t.Skip("zstd command-line tool not installed (apt-get install zstd); skipping interop test")
	}
	return p
}

func TestStockZstdDecompressesOurFiles(t *testing.T) {
	zstdBin := zstdCLI(t)
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		n    int
		opts []WriterOption
	}{
		"empty":        {0, nil},
		"small frames": {100_000, []WriterOption{WithFrameSize(4096)}},
		"no checksums": {100_000, []WriterOption{WithFrameSize(10_000), WithChecksum(false), WithFrameCRC(false)}},
		"best":         {300_000, []WriterOption{WithLevel(zstd.SpeedBestCompression)}},
		"default":      {5<<20 + 3, nil},
	} {
		t.Run(name, func(t *testing.T) {
			data := testData(tc.n, 30)
			path := filepath.Join(dir, name+".zst")
			require.NoError(t, os.WriteFile(path, compress(t, data, tc.opts...), 0o644))
			out, err := exec.Command(zstdBin, "-q", "-d", "-c", path).Output()
			require.NoError(t, err, "zstd -d %s", path)
			assert.True(t, bytes.Equal(data, out), "zstd -d output differs (%d vs %d bytes)", len(out), len(data))
			require.NoError(t, exec.Command(zstdBin, "-q", "-t", path).Run(), "zstd -t")
		})
	}
}

func TestWeReadStockZstdFiles(t *testing.T) {
	zstdBin := zstdCLI(t)
	dir := t.TempDir()
	data := testData(1<<20+17, 31)
	in := filepath.Join(dir, "in.bin")
	require.NoError(t, os.WriteFile(in, data, 0o644))
	var parts [][]byte
	for _, args := range [][]string{{"-1"}, {"-3", "-T2"}, {"-19"}, {"--long=27", "-3"}, {"--no-check", "-3"}} {
		out, err := exec.Command(zstdBin, append(append([]string{"-q", "-c"}, args...), in)...).Output()
		require.NoError(t, err, "zstd %v", args)
		parts = append(parts, out)
		r := newReader(t, out, WithName("stock"))
		assert.False(t, (r.SeekTable() != nil))
		var got bytes.Buffer
		_, err = r.WriteTo(&got)
		require.NoError(t, err, "%v", args)
		assert.True(t, bytes.Equal(data, got.Bytes()), "%v", args)
	}
	// Concatenated zstd files are one multi-frame file.
	cat := append(append([]byte(nil), parts[0]...), parts[1]...)
	var got bytes.Buffer
	_, err := newReader(t, cat).WriteTo(&got)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(append(append([]byte(nil), data...), data...), got.Bytes()))

	// A damaged stock file is reported.
	bad := append([]byte(nil), parts[0]...)
	bad[len(bad)/2] ^= 0x55
	assert.Error(t, newReader(t, bad).Verify())
}
