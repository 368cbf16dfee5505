package zstdseek

import (
	"errors"
	"fmt"
	"io/fs"
)

// Errors about the content of a file, returned by Reader and by
// ParseSeekTable. When the file has a name (Open, WithName) they are wrapped
// in an *fs.PathError naming it; test for them with errors.Is.
var (
	// ErrTruncated reports a file that ends inside a frame or a seek table.
	ErrTruncated = errors.New("zstdseek: truncated file")

	// ErrChecksum reports decompressed data whose checksum (the seek
	// table's per-frame XXH64 or the zstd frame's content checksum) does not
	// match.
	ErrChecksum = errors.New("zstdseek: checksum mismatch")

	// ErrBadSeekTable reports a seek table that is malformed or
	// inconsistent with the file (sizes that do not add up, reserved bits
	// set, too many frames for the file size).
	ErrBadSeekTable = errors.New("zstdseek: bad seek table")

	// ErrFrameTooLarge reports a frame (or zstd window) larger than the
	// reader's limit; see WithMaxFrameSize.
	ErrFrameTooLarge = errors.New("zstdseek: frame too large")

	// ErrCorrupt reports compressed data that cannot be decoded or decodes
	// to a size other than the one recorded for it.
	ErrCorrupt = errors.New("zstdseek: corrupt data")

	// ErrNotZstd reports input that is not zstd data at all.
	ErrNotZstd = errors.New("zstdseek: not a zstd file")

	// ErrNotSeekable reports random access on a zstd file without a seek
	// table; such files can only be decompressed sequentially.
	ErrNotSeekable = errors.New("zstdseek: file has no seek table")
)

// Errors about the use of a Reader or Writer.
var (
	// ErrTooManyFrames reports a Writer asked to produce more frames than a
	// seek table can describe, or a table listing more frames than the
	// reader's limit (see WithMaxFrames).
	ErrTooManyFrames = errors.New("zstdseek: too many frames")

	// ErrClosed reports use of a Reader or Writer after Close.
	ErrClosed = errors.New("zstdseek: use after close")
)

// pathError wraps err in an *fs.PathError for op and name, unless name is
// empty, err is nil or err already holds an *fs.PathError (which names the
// file the error is about).
func pathError(op, name string, err error) error {
	if err == nil || name == "" {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// errorf returns an error wrapping sentinel with a formatted detail.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
