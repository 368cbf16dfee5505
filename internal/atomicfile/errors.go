package atomicfile

import "errors"

// Errors of Create, Publish, Rename and Abandon.
var (
	// ErrNoName means the name given to Create has no file name to
	// publish under (it ends in a separator, "." or "..").
	ErrNoName = errors.New("atomicfile: no file name")
	// ErrTempName means the name given to Create, Publish or Rename has
	// the form of a temporary file's (".NAME.RANDOM.arrtmp", see Target):
	// housekeeping would take it for a crashed producer's leftover and
	// remove it.
	ErrTempName = errors.New("atomicfile: name has the form of a temporary file (.NAME.RANDOM.arrtmp), which housekeeping removes")
	// ErrNotTemp means the file given to Publish, Rename or Abandon is not
	// a temporary file from Create (for that name); it is left as it is.
	ErrNotTemp = errors.New("atomicfile: not a temporary file from Create")
)
