package mmfile

import (
	"os"
	"sync/atomic"

	mmap "github.com/edsrzf/mmap-go"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// resolvePopulate turns PopulateDefault into the strategy for f.
func resolvePopulate(p Populate, f *os.File, size int64) Populate {
	if p != PopulateDefault {
		return p
	}
	if size >= aheadMin && atomicfile.InMemory(f) {
		return PopulateAhead
	}
	return PopulateNone
}

// mapFile maps the first length bytes of f in the given mode, populating
// the page tables as pop says. length must be positive and at most the
// file's size.
func mapFile(f *os.File, length int, mode Mode, pop Populate) ([]byte, error) {
	return mapFileAt(f, 0, length, mode, pop)
}

// mapFileAt maps length bytes of f from offset off, which must be a
// multiple of mapAlignment.
func mapFileAt(f *os.File, off int64, length int, mode Mode, pop Populate) ([]byte, error) {
	if pop == PopulateDefault || pop == PopulateAhead {
		pop = PopulateNone // resolved, and started, by the caller
	}
	if pop == PopulateMap && mode != CopyOnWrite {
		if m, ok, err := mapPopulate(f, off, length, mode == ReadWrite); ok {
			return m, err
		}
		pop = PopulateAdvise
	}
	prot := mmap.RDONLY
	switch mode {
	case ReadWrite:
		prot = mmap.RDWR
	case CopyOnWrite:
		prot = mmap.COPY
	}
	m, err := mmap.MapRegion(f, length, prot, 0, off)
	if err != nil {
		return nil, err
	}
	if pop != PopulateNone {
		if err := populate(m); err != nil {
			unmap(m)
			return nil, err
		}
	}
	return m, nil
}

// unmap releases a mapping made by mapFile.
func unmap(m []byte) error {
	if m == nil {
		return nil
	}
	mm := mmap.MMap(m)
	return mm.Unmap()
}

// msync flushes a shared mapping to its file.
func msync(m []byte) error {
	if m == nil {
		return nil
	}
	return mmap.MMap(m).Flush()
}

// populate prefaults every page of m for reading: with madvise where the
// system has MADV_POPULATE_READ, else by reading one byte per page. A
// truncated file makes this fail with an error, not a crash.
func populate(m []byte) error {
	if err := populateAdvise(m); err == nil {
		return nil
	}
	return touchPages(m)
}

var touchSink atomic.Uint32

// touch reads one byte of every page of m.
func touch(m []byte) {
	ps := os.Getpagesize()
	var s byte
	for i := 0; i < len(m); i += ps {
		s += m[i]
	}
	touchSink.Add(uint32(s))
}

// touchPages touches every page of m under a fault guard.
func touchPages(m []byte) error {
	return guardMapping(m, func() error { touch(m); return nil }, func(uintptr, []byte) error { return ErrFault })
}
