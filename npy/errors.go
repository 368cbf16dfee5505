package npy

import (
	"errors"
	"io/fs"
)

// Errors reported while reading a header. Every error returned by this
// package for a malformed file wraps one of these, so callers can test with
// errors.Is; the message adds what exactly was wrong. Errors about a named
// file (from ReadFile) are a *fs.PathError whose Err wraps them; errors
// from an io.Reader carry no file name.
var (
	// ErrBadMagic means the input does not start with "\x93NUMPY".
	ErrBadMagic = errors.New("npy: bad magic string (not an .npy file)")
	// ErrUnsupportedVersion means the format version is not 1.0, 2.0 or 3.0.
	ErrUnsupportedVersion = errors.New("npy: unsupported format version")
	// ErrTruncated means the input ended before the header or the data did.
	ErrTruncated = errors.New("npy: truncated file")
	// ErrHeaderTooLarge means the header length field exceeds the reader's cap.
	ErrHeaderTooLarge = errors.New("npy: header too large")
	// ErrBadHeader means the header is not a dict literal with exactly the
	// keys 'descr', 'fortran_order' and 'shape' of the right types.
	ErrBadHeader = errors.New("npy: malformed header")
	// ErrBadShape means the shape is not a tuple of non-negative integers, or
	// its element count or byte size overflows int64.
	ErrBadShape = errors.New("npy: bad shape")
	// ErrBadDType means the dtype descriptor is unknown, malformed or unsized.
	ErrBadDType = errors.New("npy: unsupported dtype")
	// ErrObjectDType means the array holds Python objects (dtype 'O'), which
	// NumPy stores as a pickle. It is refused, never unpickled.
	ErrObjectDType = errors.New("npy: object arrays (pickled data) are not supported")
	// ErrTrailingData means bytes follow the data section (reported only by
	// callers that check for it, such as strict verification).
	ErrTrailingData = errors.New("npy: trailing bytes after the array data")
)

// Errors reported when converting between arrays and Go values.
var (
	// ErrTypeMismatch means the array's dtype does not match the Go element
	// type (kind or size differ).
	ErrTypeMismatch = errors.New("npy: dtype does not match the Go element type")
	// ErrByteOrder means a zero-copy view was asked for data that is not in
	// the machine's byte order; convert it explicitly first (DType.SwapBytes).
	ErrByteOrder = errors.New("npy: data is not in native byte order")
	// ErrAlignment means a zero-copy view was asked for data whose address is
	// not a multiple of the element type's alignment.
	ErrAlignment = errors.New("npy: data is not aligned for the element type")
	// ErrSize means a data length or element count does not match the shape.
	ErrSize = errors.New("npy: data size does not match the shape")
)

// pathError returns err as a *fs.PathError for op and name, unless err is
// nil or already names a file.
func pathError(op, name string, err error) error {
	var pe *fs.PathError
	if err == nil || errors.As(err, &pe) {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}
