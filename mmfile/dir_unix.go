//go:build unix

package mmfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// openNoBlock opens path for reading without following a final symbolic
// link and without blocking: a FIFO (or device) that another user renamed
// onto the name opens at once instead of waiting for a writer. The caller
// checks with Stat (fstat) that it opened a regular file before reading.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
}
