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
