//go:build linux

package main

import (
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConvertUmask: arr convert run with umask 077 makes 0600 files, with
// umask 022 0644, for each way it writes (compress, recompress,
// decompress), as np.save and touch in the same shell do.
func TestConvertUmask(t *testing.T) {
	const env = "ARR_TEST_UMASK_DIR"
	if dir := os.Getenv(env); dir != "" {
		z := filepath.Join(dir, "a.npy.zst")
		for _, args := range [][]string{
			{"convert", fixture("i2_be_3d_f.npy"), z},
			{"convert", "--level", "1", z, filepath.Join(dir, "b.npy.zst")},
			{"convert", z, filepath.Join(dir, "c.npy")},
		} {
			code := run(args, io.Discard, os.Stderr)
			require.Equal(t, 0, code, args)
		}
		return
	}
	for mask, want := range map[string]fs.FileMode{"077": 0o600, "022": 0o644} {
		dir := t.TempDir()
		cmd := exec.Command("/bin/sh", "-c", `umask `+mask+`; exec "$0" -test.run='^TestConvertUmask$'`, os.Args[0])
		cmd.Env = append(os.Environ(), env+"="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "child: %s", out)
		for _, name := range []string{"a.npy.zst", "b.npy.zst", "c.npy"} {
			fi, err := os.Stat(filepath.Join(dir, name))
			require.NoError(t, err, "child: %s", out)
			assert.Equal(t, want, fi.Mode().Perm(), "umask %s, %s", mask, name)
		}
	}
}
