//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// openNoBlock opens path for reading without following a final symbolic
// link and without blocking on a FIFO that another user renamed onto the
// name; openRegular then checks what was opened.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
}
