package mmfile

import (
	"fmt"
	"os"
)

// Advice is an access-pattern hint for the kernel (madvise). Hints never
// change what the program reads; on systems without madvise they are
// ignored.
type Advice int

const (
	// AdviceNormal is the default read-ahead behaviour.
	AdviceNormal Advice = iota
	// AdviceSequential announces a front-to-back scan: aggressive read-ahead,
	// pages behind the scan may be dropped early.
	AdviceSequential
	// AdviceRandom announces random access: no read-ahead.
	AdviceRandom
	// AdviceWillNeed asks the kernel to start reading the pages in now.
	AdviceWillNeed
	// AdviceDontNeed drops this process's page-table entries for the range.
	// For a shared mapping the data stays in the file and is faulted back in
	// on the next access; for a CopyOnWrite mapping the private changes in
	// the range are discarded.
	AdviceDontNeed
)

// Populate says whether and how the page tables of a new mapping are
// filled ahead of use instead of one page fault at a time on first access.
//
// Measured on Linux 6.18 with tmpfs and 4 KiB pages (2-core VM, 1 GiB
// float64 array, BenchmarkFirstRead), a consumer's first full read took
// 1.7-1.8 times a sum over a resident heap slice with plain demand faulting,
// 1.9-2.2 times after populating at Open (MAP_POPULATE or
// MADV_POPULATE_READ fill page by page, slower than the kernel's 16-page
// fault-around), and 1.2 times with PopulateAhead, which faults the array in
// from the back on another core while the reader starts at the front. So
// the zero value, PopulateDefault, uses PopulateAhead on memory-backed files
// and demand faulting elsewhere. See docs/sharing.md.
type Populate int

const (
	// PopulateDefault is the zero value: PopulateAhead for arrays of at
	// least 4 MiB in memory-backed files (tmpfs such as /dev/shm, memfd),
	// PopulateNone otherwise (on disk, populating would read the whole file
	// from the device, which a reader of part of a large array does not
	// want).
	PopulateDefault Populate = iota
	// PopulateNone maps lazily: pages are mapped on first access.
	PopulateNone
	// PopulateMap uses mmap's MAP_POPULATE flag (Linux) and returns when
	// every page is mapped. For CopyOnWrite mappings, where MAP_POPULATE
	// would copy every page, it is done with PopulateAdvise instead.
	PopulateMap
	// PopulateAdvise uses madvise(MADV_POPULATE_READ) after mapping (Linux
	// 5.14 or later) and returns when every page is mapped. Where it is
	// unavailable the pages are touched one by one under the fault guard,
	// which has the same effect.
	PopulateAdvise
	// PopulateAhead keeps Open and Create O(1) and populates in the
	// background: a goroutine maps the array's pages from the back towards
	// the front (touching one byte per 64 KiB under the fault guard for
	// reading, so that the kernel maps 16 pages per fault; with
	// MADV_POPULATE_WRITE for a created array, Linux 5.14 or later) while
	// the caller starts at the front, so the page-table work of a first
	// sequential pass is shared by two cores. It stops at Close. A file
	// truncated meanwhile just ends it; the caller's own accesses see the
	// fault as usual.
	PopulateAhead
)

// aheadMin is the smallest array PopulateDefault populates ahead.
const aheadMin = 4 << 20

// Advise gives the kernel an access-pattern hint for the whole array (see
// Advice). On systems without madvise it does nothing.
func (a *Array) Advise(adv Advice) error {
	return a.AdviseRange(adv, 0, a.hdr.DataSize())
}

// AdviseRange gives an access-pattern hint for the n data bytes at data
// byte off. The range is widened to whole pages.
func (a *Array) AdviseRange(adv Advice, off, n int64) error {
	if off < 0 || n < 0 || off > a.hdr.DataSize()-n {
		return wrap("advise", a.path, fmt.Errorf("range [%d, %d+%d) is not inside the %d-byte array data", off, off, n, a.hdr.DataSize()))
	}
	_, unpin, err := a.pin("advise")
	if err != nil {
		return err
	}
	defer unpin()
	m := a.mapping()
	ps := int64(os.Getpagesize())
	at := int64(a.skew) + a.hdr.DataOffset + off // position in m, whose start is page-aligned
	start := at / ps * ps
	end := at + n
	if end <= start {
		return nil
	}
	return wrap("advise", a.path, madvise(m[start:end], adv))
}

// Populate prefaults the page tables of the whole mapping now (madvise
// MADV_POPULATE_READ where available, else by touching every page under the
// fault guard), so the following reads take no page faults. It costs time
// proportional to the array's size.
func (a *Array) Populate() error {
	_, unpin, err := a.pin("populate")
	if err != nil {
		return err
	}
	defer unpin()
	m := a.mapping()
	if err := populateAdvise(m); err == nil {
		return nil
	}
	return a.guard(func() error { touch(m); return nil })
}
