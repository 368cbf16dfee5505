//go:build !unix

package mmfile

import "os"

// openNoBlock opens path for reading. Systems outside Unix have no FIFOs
// that a rename can put under a name, so a plain open cannot block; the
// caller still checks with Stat that it opened a regular file.
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }
