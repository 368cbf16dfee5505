//go:build linux

package mmfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// TestTempNeverSeenUnmarked runs producers (atomicfile, Create and Write,
// each published or abandoned) while another goroutine calls
// RemoveStale(dir, 0) as fast as it can: a temporary file is marked live
// from the moment its name appears until it is renamed or removed, so
// RemoveStale never removes one and every publish succeeds.
func TestTempNeverSeenUnmarked(t *testing.T) {
	for name, dir := range map[string]string{"tmpfs": shmDir(t), "disk": t.TempDir()} {
		t.Run(name, func(t *testing.T) {
			// The file-system must support O_TMPFILE for the guarantee;
			// say so if it does not.
			if fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600); err == nil {
				unix.Close(fd)
			} else {
				t.Skipf("%s: no O_TMPFILE here; temporaries are marked just after creation", dir)
			}
			var stop atomic.Bool
			var wg sync.WaitGroup
			var removed []string
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					r, _ := RemoveStale(dir, 0)
					removed = append(removed, r...)
				}
			}()
			o := &CreateOptions{NoSync: true}
			for i := range 150 {
				target := filepath.Join(dir, fmt.Sprintf("f%d", i))
				f, err := atomicfile.Create(target, 0)
				require.NoError(t, err)
				_, err = f.WriteString("x")
				require.NoError(t, err)
				if i%2 == 0 {
					require.NoError(t, atomicfile.Publish(f, target, true), "publish %d", i)
				} else {
					require.NoError(t, atomicfile.Abandon(f))
				}
				a, err := Create(target+".npy", f8(16), o)
				require.NoError(t, err)
				if i%2 == 0 {
					require.NoError(t, a.Publish(), "publish array %d", i)
				}
				require.NoError(t, a.Close())
				require.NoError(t, Write(target+".w.npy", []int32{1, 2}, nil, o), "write %d", i)
			}
			stop.Store(true)
			wg.Wait()
			assert.Empty(t, removed, "RemoveStale removed files in use")
			entries, err := List(dir)
			require.NoError(t, err)
			for _, e := range entries {
				assert.False(t, e.Temp, "left behind: %s", e.Name)
			}
			des, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, des, 75+75+150)
		})
	}
}
