//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd && !windows

package mmfile

import "os"

// Systems without memory-mapped files: every mapping fails with
// errors.ErrUnsupported, so Create, Open and the anonymous arrays do too (Write
// and the Appender, which write through the file, still work).

func mapAlignment() int64 { return int64(os.Getpagesize()) }

func mmap(f *os.File, off int64, length int, mode Mode, populate bool) ([]byte, error) {
	return nil, errUnsupported
}

func munmap(m []byte) error              { return errUnsupported }
func flush(m []byte) error               { return errUnsupported }
func madvise(m []byte, adv Advice) error { return nil }
