//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envUmaskChild names the folder a re-executed TestUmask creates its files
// in.
const envUmaskChild = "ATOMICFILE_TEST_UMASK_CHILD"

// TestUmask runs producers in a child process started from a shell with
// umask 077, then 022: files made with perm 0 get 0666 under the umask
// (0600, 0644), as np.save's and touch's do, through both ways of creating
// the temporary file (O_TMPFILE and plain open); a non-zero perm is applied
// exactly.
func TestUmask(t *testing.T) {
	if dir := os.Getenv(envUmaskChild); dir != "" {
		umaskChild(t, dir)
		return
	}
	for _, tc := range []struct {
		umask string
		def   fs.FileMode
	}{{"077", 0o600}, {"022", 0o644}, {"002", 0o664}} {
		dir := t.TempDir()
		cmd := exec.Command("/bin/sh", "-c", `umask `+tc.umask+`; exec "$0" -test.run='^TestUmask$'`, os.Args[0])
		cmd.Env = append(os.Environ(), envUmaskChild+"="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "child: %s", out)
		for name, want := range map[string]fs.FileMode{"default": tc.def, "default-portable": tc.def, "exact": 0o640, "exact-portable": 0o640} {
			fi, err := os.Stat(filepath.Join(dir, name))
			require.NoError(t, err, "child: %s", out)
			assert.Equal(t, want, fi.Mode().Perm(), "umask %s, %s", tc.umask, name)
		}
		if runtime.GOOS == "linux" {
			assert.Contains(t, string(out), "umask 0"+tc.umask, "umask() reads the process's umask")
			assert.Contains(t, string(out), fmt.Sprintf("tmpfile %04o", tc.def), "an O_TMPFILE file the kernel did not mask is masked")
		}
	}
}

// umaskChild creates the files TestUmask checks.
func umaskChild(t *testing.T, dir string) {
	for name, perm := range map[string]fs.FileMode{"default": 0, "exact": 0o640} {
		f, err := Create(filepath.Join(dir, name), perm)
		require.NoError(t, err)
		require.NoError(t, Publish(f, filepath.Join(dir, name), true))
		f, err = createPortable(dir, name+"-portable", perm)
		require.NoError(t, err)
		require.NoError(t, Publish(f, filepath.Join(dir, name+"-portable"), true))
	}
	if m, err := umaskOf(); err == nil {
		fmt.Printf("umask %04o\n", m)
	}
	if m, err := maskedTmpfileMode(dir); err == nil {
		fmt.Printf("tmpfile %04o\n", m)
	}
}
