package store

import (
	"errors"
	"fmt"
	"syscall"
)

// Errors about keys. They are the Err of an *fs.PathError naming the
// array's file (the key's path in the store folder).
var (
	// ErrBadKey means a key is empty, too long, starts with a dot or holds
	// a character other than letters, digits, '.', '_' and '-'.
	ErrBadKey = errors.New("store: invalid key")
	// ErrNotFound means no array is stored under the key.
	ErrNotFound = errors.New("store: no array under this key")
	// ErrExists means an array is already published under the key: arrays
	// are sealed, a key is published once.
	ErrExists = errors.New("store: key already published")
	// ErrDone means a Writer was published or aborted already.
	ErrDone = errors.New("store: writer already published or aborted")
	// ErrFull matches a *CapacityError with errors.Is.
	ErrFull = errors.New("store: array does not fit")
)

// CapacityError reports that an array cannot fit in the store even after
// evicting or spilling every array no process holds. It is the Err of the
// *fs.PathError that Create and Put return; errors.Is matches ErrFull and
// syscall.ENOSPC.
type CapacityError struct {
	Dir      string // the store's folder
	Need     int64  // bytes the array needs
	Capacity int64  // the store's capacity
	Used     int64  // bytes in use after evicting what could be evicted
	Held     int64  // bytes of arrays that processes hold
	Free     int64  // bytes free in Dir's filesystem, -1 if unknown
}

func (e *CapacityError) Error() string {
	free := "unknown"
	if e.Free >= 0 {
		free = formatBytes(e.Free)
	}
	return fmt.Sprintf("store: the array needs %s but the store in %s has %s of its %s capacity in use "+
		"(%s held by running processes, %s free on the filesystem); release arrays, raise the capacity, "+
		"give a spill folder or set $ARRFILE_DIR to a folder with more room",
		formatBytes(e.Need), e.Dir, formatBytes(e.Used), formatBytes(e.Capacity), formatBytes(e.Held), free)
}

// Is reports whether target is ErrFull or syscall.ENOSPC.
func (e *CapacityError) Is(target error) bool { return target == ErrFull || target == syscall.ENOSPC }

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
