//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package mmfile

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// mapAlignment is the granularity of mapping offsets: the page size.
func mapAlignment() int64 { return int64(os.Getpagesize()) }

// mmap maps length bytes of f from off (a multiple of mapAlignment) in the
// given mode; with populate (Linux), with MAP_POPULATE.
func mmap(f *os.File, off int64, length int, mode Mode, populate bool) ([]byte, error) {
	prot, flags := unix.PROT_READ, unix.MAP_SHARED
	switch mode {
	case ReadWrite:
		prot |= unix.PROT_WRITE
	case CopyOnWrite:
		prot |= unix.PROT_WRITE
		flags = unix.MAP_PRIVATE
	}
	if populate {
		flags |= mapPopulateFlag
	}
	m, err := unix.Mmap(int(f.Fd()), off, length, prot, flags)
	runtime.KeepAlive(f)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	return m, nil
}

// munmap releases a mapping made by mmap.
func munmap(m []byte) error { return unix.Munmap(m) }

// flush writes a shared mapping's changes to its file (msync).
func flush(m []byte) error { return unix.Msync(m, unix.MS_SYNC) }

var adviceFlags = [...]int{
	AdviceNormal:     unix.MADV_NORMAL,
	AdviceSequential: unix.MADV_SEQUENTIAL,
	AdviceRandom:     unix.MADV_RANDOM,
	AdviceWillNeed:   unix.MADV_WILLNEED,
	AdviceDontNeed:   unix.MADV_DONTNEED,
}

// madvise applies an access hint to m, which must start on a page boundary.
func madvise(m []byte, adv Advice) error {
	if adv < 0 || int(adv) >= len(adviceFlags) {
		return fmt.Errorf("invalid advice %d", adv)
	}
	if len(m) == 0 {
		return nil
	}
	if err := unix.Madvise(m, adviceFlags[adv]); err != nil {
		return fmt.Errorf("madvise: %w", err)
	}
	return nil
}
