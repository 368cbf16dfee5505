//go:build linux

package npyzst

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

// TestFileUmask: CompressFile and DecompressFile in a process started with
// umask 077 make 0600 files, with umask 022 0644 (0666 under the umask).
func TestFileUmask(t *testing.T) {
	const env = "NPYZST_TEST_UMASK_DIR"
	if dir := os.Getenv(env); dir != "" {
		src := filepath.Join(dir, "src.npy")
		hb, err := npy.AppendHeader(nil, &npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{3}})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(src, append(hb, make([]byte, 12)...), 0o600))
		require.NoError(t, CompressFile(filepath.Join(dir, "a.npy.zst"), src))
		require.NoError(t, DecompressFile(filepath.Join(dir, "b.npy"), filepath.Join(dir, "a.npy.zst")))
		return
	}
	for mask, want := range map[string]fs.FileMode{"077": 0o600, "022": 0o644} {
		dir := t.TempDir()
		cmd := exec.Command("/bin/sh", "-c", `umask `+mask+`; exec "$0" -test.run='^TestFileUmask$'`, os.Args[0])
		cmd.Env = append(os.Environ(), env+"="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "child: %s", out)
		for _, name := range []string{"a.npy.zst", "b.npy"} {
			fi, err := os.Stat(filepath.Join(dir, name))
			require.NoError(t, err, "child: %s", out)
			assert.Equal(t, want, fi.Mode().Perm(), "umask %s, %s", mask, name)
		}
	}
}
