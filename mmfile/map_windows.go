//go:build windows

package mmfile

import (
	"os"

	mmapgo "github.com/edsrzf/mmap-go"
)

// Windows maps through mmap-go (CreateFileMapping, MapViewOfFile), which
// keeps the mapping handles that Unmap needs.

// mapAlignment is the granularity of mapping offsets: Windows maps at
// multiples of its 64 KiB allocation granularity.
func mapAlignment() int64 { return max(64<<10, int64(os.Getpagesize())) }

// mmap maps length bytes of f from off (a multiple of mapAlignment) in the
// given mode; populate is ignored (there is no MAP_POPULATE).
func mmap(f *os.File, off int64, length int, mode Mode, populate bool) ([]byte, error) {
	prot := mmapgo.RDONLY
	switch mode {
	case ReadWrite:
		prot = mmapgo.RDWR
	case CopyOnWrite:
		prot = mmapgo.COPY
	}
	return mmapgo.MapRegion(f, length, prot, 0, off)
}

// munmap releases a mapping made by mmap.
func munmap(m []byte) error {
	mm := mmapgo.MMap(m)
	return mm.Unmap()
}

// flush writes a shared mapping's changes to its file (FlushViewOfFile).
func flush(m []byte) error { return mmapgo.MMap(m).Flush() }

// madvise does nothing: Windows has no access hints of this kind.
func madvise(m []byte, adv Advice) error { return nil }
