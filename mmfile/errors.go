package mmfile

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// Errors name the file in an *fs.PathError whose Err wraps one of the
// sentinels below, a *SpaceError, an npy sentinel (npy.ErrTruncated,
// npy.ErrTypeMismatch, ...) or a system error (fs.ErrNotExist,
// errors.ErrUnsupported), so errors.Is and errors.As both work.

// Use after Close is fs.ErrClosed and a write to an array mapped
// read-only is fs.ErrPermission, as for an *os.File.

// errReadOnly is the cause of writes refused because the array is mapped
// read-only; it matches fs.ErrPermission.
var errReadOnly = fmt.Errorf("%w: array is mapped read-only", fs.ErrPermission)

// Errors about an array's state and lifetime.
var (
	// ErrPublished means Publish was called on an array that has nothing
	// to publish: published already, opened rather than created, or
	// anonymous (without a file name).
	ErrPublished = errors.New("mmfile: array is published already or has no file name")
	// ErrNotArray means a file is neither an .npy file nor a temporary file
	// of a producer, so Remove refuses to delete it.
	ErrNotArray = errors.New("mmfile: not an .npy array or an mmfile temporary")
	// ErrTempName means Create or Write was given a name of the form of a
	// producer's temporary file (".NAME.RANDOM.arrtmp"): RemoveStale and
	// arr gc would take the published array for a crashed producer's
	// leftover and remove it.
	ErrTempName = errors.New("mmfile: name has the form of a temporary file (.NAME.RANDOM.arrtmp), which housekeeping removes")
	// ErrUnsealed means Receive was sent, for a ReadOnly or CopyOnWrite
	// mapping, a file that is not sealed against shrinking and growing, so
	// its sender could truncate it under the mapping (see
	// Options.AllowUnsealed).
	ErrUnsealed = errors.New("mmfile: received file is not sealed against shrinking and growing (F_SEAL_SHRINK, F_SEAL_GROW)")
)

// Errors about faults in a mapping, reported by the guarded accessors
// ([Array.Do], [Array.ReadAt], [Array.WriteAt]).
var (
	// ErrFault means an access to a mapped page faulted: the filesystem
	// could not provide the page (a sparse file on a full filesystem, an
	// I/O error), or the file shrank (ErrFileShrunk, which matches
	// ErrFault too).
	ErrFault = errors.New("mmfile: mapped page could not be read or written")
	// ErrFileShrunk means the mapped file became shorter than the array
	// (another process truncated it) and an access touched the missing
	// part. errors.Is(err, ErrFault) is true for it as well.
	ErrFileShrunk error = &shrunkError{}
)

// Errors about locks and appending.
var (
	// ErrLocked means the array already holds the lock that was asked for
	// through the same Array (a second Lock without Unlock would deadlock).
	ErrLocked = errors.New("mmfile: lock already held by this Array")
	// ErrNoHeaderRoom means an append would make the header longer than
	// the space the file reserved for it (files written without NumPy's
	// growth padding, such as those from NumPy < 1.24 with a long shape).
	ErrNoHeaderRoom = errors.New("mmfile: no room in the header to grow the shape in place")
	// ErrReplaced means the file an Appender opened is no longer the one
	// its name gives: another file was published under the name, or the
	// name was removed. Rows appended to it would be lost, so Append
	// refuses; open the name again to append to the new file.
	ErrReplaced = errors.New("mmfile: the file was replaced or removed since OpenAppender; rows appended to it would be lost")
)

// shrunkError is ErrFileShrunk: a kind of ErrFault.
type shrunkError struct{}

func (*shrunkError) Error() string        { return "mmfile: mapped file shrank under the mapping" }
func (*shrunkError) Is(target error) bool { return target == ErrFault }

// wrap returns err as an *fs.PathError for op and path. An error that
// already is one for path is returned as it is; a top-level one about
// another file (a temporary file the caller never named) gives its cause.
func wrap(op, path string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return err
	}
	if e, ok := err.(*fs.PathError); ok {
		err = e.Err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}

// SpaceError reports that a folder lacks room for an array; it is the Err
// of the *fs.PathError that Create, Write and the Appender return. It
// matches syscall.ENOSPC with errors.Is.
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
		e.Dir, formatBytes(e.Need), free, envDir)
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Is reports whether target is syscall.ENOSPC.
func (e *SpaceError) Is(target error) bool { return target == syscall.ENOSPC }

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
