//go:build linux

package mmfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the files producers make (issue 9): their permission under the
// umask, and names that housekeeping would remove.

func init() {
	// umaskcreate DIR MASK: with the umask set to MASK (octal), make
	// arrays in DIR through Create and Publish, Write, and Write with
	// Perm 0640.
	helpers["umaskcreate"] = func(args []string) error {
		mask, _ := strconv.ParseUint(args[1], 8, 32)
		syscall.Umask(int(mask))
		a, err := Create(filepath.Join(args[0], "create.npy"), f8(3), nil)
		if err != nil {
			return err
		}
		if err := a.Publish(); err != nil {
			return err
		}
		a.Close()
		if err := Write(filepath.Join(args[0], "write.npy"), []float64{1, 2}, nil, nil); err != nil {
			return err
		}
		return Write(filepath.Join(args[0], "exact.npy"), []float64{1, 2}, nil, &CreateOptions{Perm: 0o640})
	}
	// tempname DIR: try to publish arrays under names of the temporary
	// file form in DIR, through Write and through Create and Publish;
	// print "refused" (ErrTempName) or "accepted" for each.
	helpers["tempname"] = func(args []string) error {
		say := func(err error) {
			switch {
			case errors.Is(err, ErrTempName):
				fmt.Println("refused")
			case err == nil:
				fmt.Println("accepted")
			default:
				fmt.Println(err)
			}
		}
		say(Write(filepath.Join(args[0], ".data.v2.arrtmp"), []float64{1, 2, 3}, nil, nil))
		a, err := Create(filepath.Join(args[0], ".x.npy.123.arrtmp"), f8(3), nil)
		if err == nil {
			err = a.Publish()
			a.Close()
		}
		say(err)
		return nil
	}
}

// TestUmask (finding 3): a process with umask 077 makes 0600 files through
// Create and Write, one with umask 022 makes 0644 files, on tmpfs and on
// disk; a non-zero CreateOptions.Perm is applied exactly.
func TestUmask(t *testing.T) {
	for _, tc := range []struct {
		mask string
		want fs.FileMode
	}{{"077", 0o600}, {"022", 0o644}} {
		for _, dir := range []string{shmDir(t), t.TempDir()} {
			runHelper(t, "umaskcreate", dir, tc.mask)
			for name, want := range map[string]fs.FileMode{"create.npy": tc.want, "write.npy": tc.want, "exact.npy": 0o640} {
				fi, err := os.Stat(filepath.Join(dir, name))
				require.NoError(t, err)
				assert.Equal(t, want, fi.Mode().Perm(), "umask %s, %s in %s", tc.mask, name, dir)
			}
		}
	}
}

// TestTempLikeNameRefused (finding 7): a producer process cannot publish an
// array under a name of the temporary file form, so RemoveStale can never
// remove a published array.
func TestTempLikeNameRefused(t *testing.T) {
	dir := shmDir(t)
	out := runHelper(t, "tempname", dir)
	assert.Equal(t, "refused\nrefused\n", out)
	removed, err := RemoveStale(dir, 0)
	require.NoError(t, err)
	assert.Empty(t, removed)
	assertEmpty(t, dir)
}
