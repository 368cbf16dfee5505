//go:build linux || darwin

package remote

import (
	"os"

	"golang.org/x/sys/unix"
)

const sourceAttr = "user.arrfile.source"

// setSource records key on f; a filesystem without user extended
// attributes just does not cache.
func setSource(f *os.File, key string) {
	_ = unix.Fsetxattr(int(f.Fd()), sourceAttr, []byte(key), 0)
}

// getSource returns the key recorded on the file name, or "".
func getSource(name string) string {
	buf := make([]byte, 4096)
	n, err := unix.Getxattr(name, sourceAttr, buf)
	if err != nil || n < 0 {
		return ""
	}
	return string(buf[:n])
}
