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
	// segmentation fault; the guarded WriteAt returns an error matching fs.ErrPermission instead.
	ReadOnly Mode = iota
	// ReadWrite maps the file read-write and shared (mmap_mode="r+"):
	// writes are seen at once by every process that maps the same file, and
	// reach the file itself (on disk after Sync).
	ReadWrite
	// CopyOnWrite maps the file privately (mmap_mode="c"): writes change
	// this process's copy of the touched pages only, never the file.
	CopyOnWrite
)

// Options tune how Open, OpenSection, OpenFile and Receive map an
// existing array. A nil *Options means the zero value, whose every field
// is a sensible default.
type Options struct {
	// Populate says how the page tables are filled; the zero value picks
	// per file, see PopulateMode.
	Populate PopulateMode

	// Advice is applied to the mapping right after it is made.
	Advice Advice

	// MaxHeaderSize caps the header length field accepted; 0 means
	// npy.DefaultMaxHeaderSize.
	MaxHeaderSize int

	// Strict refuses files with bytes after the array data
	// (npy.ErrTrailingData). By default they are accepted and not mapped.
	// OpenSection ignores it (the rest of a container follows its array).
	// A file that an Appender is appending to has trailing bytes while an
	// Append runs (the new rows, before the header names them).
	Strict bool

	// AllowUnsealed lets Receive map, in ReadOnly and CopyOnWrite mode, a
	// descriptor that is not sealed against shrinking and growing (memfd
	// seals F_SEAL_SHRINK and F_SEAL_GROW, which CreateAnon and WriteAnon
	// set). By default such a descriptor is refused with ErrUnsealed: its
	// sender could truncate the file under the mapping, and a read of the
	// missing pages through a raw slice kills the receiver with SIGBUS.
	// Regular files cannot be sealed, nor can anything on systems other
	// than Linux; set AllowUnsealed to receive them from a sender you
	// trust. ReadWrite receives are not checked: they share the file with
	// a cooperating sender to write into it, often a regular file.
	AllowUnsealed bool
}

// CreateOptions tune the functions that make arrays: Create, CreateAnon,
// Write, WriteAnon and OpenAppender. A nil *CreateOptions means the zero
// value, whose every field is a sensible default. Each field says which
// of them it applies to; the others have nothing it could change.
type CreateOptions struct {
	// Perm is the permission of the files Create and Write make. 0 means
	// 0666 masked by the process's umask, as for np.save, touch and any
	// Unix tool: 0644 under the usual umask 022 (readable by other users'
	// processes), 0600 under 077. A non-zero Perm is applied exactly as
	// given, regardless of umask.
	Perm fs.FileMode

	// Sparse skips the space reservation of Create and CreateAnon (and of
	// the rows an Appender adds): the file is extended with ftruncate and
	// its blocks are allocated when first written. Use it for sparse
	// arrays on disk. On a filesystem that fills up later, a write through
	// the mapping then faults (see Array.Do) instead of Create failing up
	// front. For Write, which never reserves, it skips the free-space
	// check.
	Sparse bool

	// NoSync skips the fsync of the file and its folder when Publish or
	// Write publishes on a disk-backed filesystem, and of the file when an
	// Appender appends (tmpfs is never synced: it has no disk). The file
	// then appears atomically but may be lost or empty after a power
	// failure.
	NoSync bool

	// Populate says how the page tables of the new mapping of Create,
	// CreateAnon and WriteAnon are filled; the zero value picks per file,
	// see PopulateMode (WriteAnon's zero value maps lazily: the data is
	// written already).
	Populate PopulateMode

	// Advice is applied to the new mapping of Create, CreateAnon and
	// WriteAnon right after it is made.
	Advice Advice

	// MaxHeaderSize caps the header length field OpenAppender accepts in
	// the file it opens; 0 means npy.DefaultMaxHeaderSize.
	MaxHeaderSize int
}

func optionsOf(o *Options) Options {
	if o == nil {
		return Options{}
	}
	return *o
}

func createOptionsOf(o *CreateOptions) CreateOptions {
	if o == nil {
		return CreateOptions{}
	}
	return *o
}

// perm is the permission for atomicfile.Create: 0 for 0666 under the
// umask.
func (o *CreateOptions) perm() fs.FileMode { return o.Perm & fs.ModePerm }

// maxHeader returns the header cap n stands for.
func maxHeader(n int) int {
	if n <= 0 {
		return npy.DefaultMaxHeaderSize
	}
	return n
}
