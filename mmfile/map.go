package mmfile

import (
	"os"
	"sync/atomic"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// The mapping itself is in map_unix.go (x/sys/unix), map_windows.go
// (mmap-go) and map_other.go (no mappings); this file chooses how the page
// tables are filled.

// resolvePopulate turns PopulateDefault into the strategy for f.
func resolvePopulate(p PopulateMode, f *os.File, size int64) PopulateMode {
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
func mapFile(f *os.File, length int, mode Mode, pop PopulateMode) ([]byte, error) {
	return mapFileAt(f, 0, length, mode, pop)
}

// mapFileAt maps length bytes of f from offset off, which must be a
// multiple of mapAlignment.
func mapFileAt(f *os.File, off int64, length int, mode Mode, pop PopulateMode) ([]byte, error) {
	if pop == PopulateDefault || pop == PopulateAhead {
		pop = PopulateNone // resolved, and started, by the caller
	}
	if pop == PopulateMap && mode != CopyOnWrite && mapPopulateFlag != 0 {
		return mmap(f, off, length, mode, true)
	}
	m, err := mmap(f, off, length, mode, false)
	if err != nil {
		return nil, err
	}
	if pop != PopulateNone {
		// PopulateAdvise, and PopulateMap where MAP_POPULATE is missing or
		// would copy every page (CopyOnWrite).
		if err := populate(m); err != nil {
			munmap(m)
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
	return munmap(m)
}

// msync flushes a shared mapping to its file.
func msync(m []byte) error {
	if m == nil {
		return nil
	}
	return flush(m)
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
