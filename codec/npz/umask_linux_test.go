//go:build linux

package npz

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCreateUmask: an archive made by a process started with umask 077 is
// 0600, with umask 022 0644 (0666 under the umask, as np.savez's).
func TestCreateUmask(t *testing.T) {
	const env = "NPZ_TEST_UMASK_DIR"
	if dir := os.Getenv(env); dir != "" {
		z, err := Create(filepath.Join(dir, "a.npz"))
		require.NoError(t, err)
		require.NoError(t, writeArray(z, "x", []int32{1, 2, 3}))
		require.NoError(t, z.Close())
		return
	}
	for mask, want := range map[string]fs.FileMode{"077": 0o600, "022": 0o644} {
		dir := t.TempDir()
		cmd := exec.Command("/bin/sh", "-c", `umask `+mask+`; exec "$0" -test.run='^TestCreateUmask$'`, os.Args[0])
		cmd.Env = append(os.Environ(), env+"="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "child: %s", out)
		fi, err := os.Stat(filepath.Join(dir, "a.npz"))
		require.NoError(t, err, "child: %s", out)
		assert.Equal(t, want, fi.Mode().Perm(), "umask %s", mask)
	}
}
