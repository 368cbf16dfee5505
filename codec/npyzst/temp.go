package npyzst

import (
	"os"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// writeAtomic writes name through a temporary file in the same folder and
// renames it into place if fill succeeds; otherwise it removes the
// temporary file and name is untouched. The temp-and-rename is
// internal/atomicfile, the one every arrfile writer uses.
func writeAtomic(name string, fill func(*os.File) error) error {
	f, err := atomicfile.Create(name, 0)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		atomicfile.Abandon(f)
		return err
	}
	return atomicfile.Publish(f, name, false)
}
