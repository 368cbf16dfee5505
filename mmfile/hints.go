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

// PopulateMode says whether and how the page tables of a new mapping are
// filled ahead of use instead of one page fault at a time on first access
// (Options.Populate, CreateOptions.Populate). Populating costs time
// proportional to the array at Open or Create, while the kernel's demand
// faulting maps several pages per fault; PopulateAhead shares the work of a
// first sequential pass between two cores. docs/sharing.md compares them.
type PopulateMode int

const (
	// PopulateDefault is the zero value: PopulateAhead for arrays of at
	// least 4 MiB in memory-backed files (tmpfs such as /dev/shm, memfd),
	// PopulateNone otherwise (on disk, populating would read the whole file
	// from the device, which a reader of part of a large array does not
	// want).
	PopulateDefault PopulateMode = iota
	// PopulateNone maps lazily: pages are mapped on first access.
	PopulateNone
	// PopulateMap uses mmap's MAP_POPULATE flag (Linux) and returns when
	// every page is mapped. For CopyOnWrite mappings, where MAP_POPULATE
	// would copy every page, and where there is no MAP_POPULATE, it is done
	// as PopulateAdvise.
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
	// the caller starts at the front. It stops at Close. A file truncated
	// meanwhile just ends it; the caller's own accesses see the fault as
	// usual.
	PopulateAhead
)

// aheadMin is the smallest array PopulateDefault populates ahead.
const aheadMin = 4 << 20

// Advise gives the kernel an access-pattern hint (see Advice) for the n
// data bytes at data byte off; 0 and Header().DataSize() cover the whole
// array. The range is widened to whole pages. On systems without madvise
// it does nothing.
func (a *Array) Advise(adv Advice, off, n int64) error {
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

// Prefault fills the page tables of the whole mapping now, as
// PopulateAdvise does at Open (madvise MADV_POPULATE_READ where available,
// else touching every page under the fault guard, so a truncated file is
// an ErrFileShrunk error, not a crash): the following reads take no page
// faults. It costs time proportional to the array's size.
func (a *Array) Prefault() error {
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
