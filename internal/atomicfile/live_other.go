//go:build !linux

package atomicfile

import (
	"io/fs"
	"os"
)

// Without open-file-description locks and O_TMPFILE there is no live mark:
// housekeeping goes by a temporary file's age alone.

func setLive(f *os.File)                                             {}
func clearLive(f *os.File)                                           {}
func isLive(path string) bool                                        { return false }
func inMemory(f *os.File) bool                                       { return false }
func createLive(dir, base string, perm fs.FileMode) (*os.File, bool) { return nil, false }
