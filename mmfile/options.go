package mmfile

import (
	"io/fs"

	"github.com/arrfile/arrfile/npy"
)

// Mode says how an existing file is mapped by [Open]. The names follow
// NumPy's np.load mmap_mode values "r", "r+" and "c".
type Mode int

const (
	// ReadOnly maps the file read-only and shared (mmap_mode="r"). Writing
	// through a slice of a read-only array crashes the program with a
	// segmentation fault; the guarded WriteAt returns ErrReadOnly instead.
	ReadOnly Mode = iota
	// ReadWrite maps the file read-write and shared (mmap_mode="r+"):
	// writes are seen at once by every process that maps the same file, and
	// reach the file itself (on disk after Sync).
	ReadWrite
	// CopyOnWrite maps the file privately (mmap_mode="c"): writes change
	// this process's copy of the touched pages only, never the file.
	CopyOnWrite
)

// String returns the mode as NumPy's mmap_mode spells it: "r", "r+", "c".
func (m Mode) String() string {
	switch m {
	case ReadOnly:
		return "r"
	case ReadWrite:
		return "r+"
	case CopyOnWrite:
		return "c"
	}
	return "invalid"
}

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

// Options tune Create, Open and the Write functions. A nil *Options means
// the zero value, whose every field is a sensible default.
type Options struct {
	// Perm is the permission of files made by Create and Write; 0 means
	// 0644 (readable by other users' processes, as np.save's files are
	// under the usual umask). It is applied as given, regardless of umask.
	Perm fs.FileMode

	// Sparse skips the space reservation at create: the file is extended
	// with ftruncate and its blocks are allocated when first written. Use it
	// for sparse arrays on disk. On a filesystem that fills up later, a
	// write through the mapping then faults (see Array.Do) instead of
	// Create failing up front.
	Sparse bool

	// Populate says how the page tables are filled at Open or Create; the
	// zero value picks per file, see Populate.
	Populate Populate

	// Advice is applied to the mapping right after it is made.
	Advice Advice

	// MaxHeaderSize caps the header length field accepted by Open; 0
	// means npy.DefaultMaxHeaderSize.
	MaxHeaderSize int

	// Strict makes Open refuse files with bytes after the array data
	// (npy.ErrTrailingData). By default they are accepted, not mapped, and
	// reported by Array.Trailing.
	Strict bool

	// NoSync skips the fsync of the file and its folder when publishing
	// on a disk-backed filesystem (tmpfs is never synced: it has no disk).
	// The file then appears atomically but may be lost or empty after a
	// power failure.
	NoSync bool
}

func optionsOf(o *Options) Options {
	if o == nil {
		return Options{}
	}
	return *o
}

func (o *Options) perm() fs.FileMode {
	if o.Perm == 0 {
		return 0o644
	}
	return o.Perm & fs.ModePerm
}

func (o *Options) maxHeader() int {
	if o.MaxHeaderSize <= 0 {
		return npy.DefaultMaxHeaderSize
	}
	return o.MaxHeaderSize
}
