package mmfile

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
)

// Errors about an array's state and lifetime.
var (
	// ErrClosed means the Array (or Appender) was already closed.
	ErrClosed = errors.New("mmfile: array is closed")
	// ErrReadOnly means a write was asked of an array mapped read-only.
	ErrReadOnly = errors.New("mmfile: array is mapped read-only")
	// ErrPublished means Publish was called on an array that is already
	// published (or was opened, not created).
	ErrPublished = errors.New("mmfile: array is already published")
	// ErrAnonymous means a file-name operation (Publish, Remove) was asked of
	// an array without a known file name: an anonymous (memfd) array or one
	// mapped from an open file with OpenFile.
	ErrAnonymous = errors.New("mmfile: anonymous array has no file name")
	// ErrNotArray means a file is neither an .npy file nor a temporary file
	// of an mmfile producer, so Remove refuses to delete it.
	ErrNotArray = errors.New("mmfile: not an .npy array or an mmfile temporary")
)

// Errors about faults in a mapping, reported by the guarded accessors
// ([Array.Do], [Array.ReadAt], [Array.WriteAt]).
var (
	// ErrFileShrunk means the mapped file became shorter than the array
	// (another process truncated it) and an access touched the missing part.
	ErrFileShrunk = errors.New("mmfile: mapped file shrank under the mapping")
	// ErrFault means an access to a mapped page failed although the file is
	// still long enough: the filesystem could not provide the page (a sparse
	// file on a full filesystem, or an I/O error).
	ErrFault = errors.New("mmfile: mapped page could not be read or written")
)

// Errors about space and locks.
var (
	// ErrNoSpace means the target folder lacks room for the array. The
	// error is a *SpaceError that names the folder and the free space.
	ErrNoSpace = errors.New("mmfile: not enough free space")
	// ErrLocked means the array already holds the lock that was asked for
	// through the same Array (a second Lock without Unlock would deadlock).
	ErrLocked = errors.New("mmfile: lock already held by this Array")
	// ErrNotLocked means Unlock was called without a matching Lock.
	ErrNotLocked = errors.New("mmfile: lock not held")
	// ErrUnsupported means the operation is not available on this
	// operating system (it wraps errors.ErrUnsupported).
	ErrUnsupported = fmt.Errorf("mmfile: %w on this operating system", errors.ErrUnsupported)
	// ErrNoHeaderRoom means an append would make the header longer than
	// the space the file reserved for it (files written without NumPy's
	// growth padding, such as those from NumPy < 1.24 with a long shape).
	ErrNoHeaderRoom = errors.New("mmfile: no room in the header to grow the shape in place")
)

// Error records the operation and the file an error happened in. It unwraps
// to the cause, so errors.Is works with this package's sentinels, npy's
// sentinels (npy.ErrTruncated, npy.ErrTypeMismatch, ...) and fs errors
// (fs.ErrNotExist).
type Error struct {
	Op   string // "create", "open", "publish", ...
	Path string // file name as the caller gave it
	Err  error  // the cause
}

func (e *Error) Error() string {
	return "mmfile: " + e.Op + " " + e.Path + ": " + strings.TrimPrefix(e.Err.Error(), "mmfile: ")
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// wrap returns err as an *Error for op and path. A *fs.PathError for the
// same path is unwrapped first, so the path is named once.
func wrap(op, path string, err error) error {
	if err == nil {
		return nil
	}
	var me *Error
	if errors.As(err, &me) {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err
	}
	return &Error{Op: op, Path: path, Err: err}
}

// SpaceError reports that a folder lacks room for an array. It matches
// ErrNoSpace and syscall.ENOSPC with errors.Is.
type SpaceError struct {
	Dir  string // the folder the array was to be created in
	Need int64  // bytes the array needs
	Free int64  // bytes available to this user in Dir, -1 if unknown
	Err  error  // the system error, if the check came from the filesystem
}

func (e *SpaceError) Error() string {
	free := "an unknown amount"
	if e.Free >= 0 {
		free = formatBytes(e.Free)
	}
	s := fmt.Sprintf("mmfile: not enough space in %s: the array needs %s, the folder has %s free; "+
		"set $%s to a folder with more room (a disk folder for data larger than memory) or pass another folder",
		e.Dir, formatBytes(e.Need), free, EnvDir)
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Is reports whether target is ErrNoSpace or syscall.ENOSPC.
func (e *SpaceError) Is(target error) bool {
	return target == ErrNoSpace || target == syscall.ENOSPC
}

// Unwrap returns the system error, if any.
func (e *SpaceError) Unwrap() error { return e.Err }

// formatBytes formats n with a binary unit, e.g. "64.0 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
