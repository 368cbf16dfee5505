package mmfile

import (
	"os"
	"sync/atomic"

	mmap "github.com/edsrzf/mmap-go"
)

// defaultPopulate is the method PopulateDefault uses: MADV_POPULATE_READ.
// In BenchmarkFirstRead on Linux 6.18 (2-core AMD EPYC VM, 1 GiB float64
// array on /dev/shm, 4 KiB pages) it took 1.8-2.2 times the sum over a
// resident heap slice measured in the same run, MAP_POPULATE 2.1-3.0 times;
// both fill the page tables page by page. Plain demand faulting was faster
// than both there (1.7-1.9 times: the kernel maps 16 pages per read fault in
// a batch), which is why Options' zero value does not populate. With huge
// pages on tmpfs all three match the heap sum. See docs/sharing.md.
const defaultPopulate = PopulateAdvise

// mapFile maps the first length bytes of f in the given mode, populating
// the page tables as pop says. length must be positive and at most the
// file's size.
func mapFile(f *os.File, length int, mode Mode, pop Populate) ([]byte, error) {
	if pop == PopulateDefault {
		pop = defaultPopulate
	}
	if pop == PopulateMap && mode != CopyOnWrite {
		if m, ok, err := mapPopulate(f, length, mode == ReadWrite); ok {
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
	m, err := mmap.MapRegion(f, length, prot, 0, 0)
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
