//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCreateSparse checks that create never writes the data: with --sparse
// the file occupies (almost) no blocks; by default its space is reserved.
func TestCreateSparse(t *testing.T) {
	dir := t.TempDir()
	const n = 64 << 20
	blocks := func(p string) int64 {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, int64(n+128), fi.Size())
		return fi.Sys().(*syscall.Stat_t).Blocks * 512
	}
	sparse, reserved := filepath.Join(dir, "s.npy"), filepath.Join(dir, "r.npy")
	// --force: allowed even if the temporary folder is a tmpfs.
	_, stderr, code := runArr(t, "create", sparse, "--dtype", "u1", "--shape", "67108864", "--sparse", "--force")
	require.Equal(t, 0, code, stderr)
	_, stderr, code = runArr(t, "create", reserved, "--dtype", "u1", "--shape", "67108864")
	require.Equal(t, 0, code, stderr)
	assert.Less(t, blocks(sparse), int64(1<<20), "sparse file has blocks")
	assert.GreaterOrEqual(t, blocks(reserved), int64(n), "reserved file lacks blocks")
}
