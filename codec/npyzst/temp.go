package npyzst

import (
	"os"

	"github.com/arrfile/arrfile/mmfile"
)

// writeAtomic writes name through a temporary file in the same folder and
// renames it into place if fill succeeds; otherwise it removes the
// temporary file and name is untouched.
//
// This is the package's only use of mmfile (mmfile.CreateTemp, PublishTemp,
// AbandonTemp), kept in this file until the shared temp-and-rename lives in
// internal/atomicfile (Create, Publish, Abandon).
func writeAtomic(name string, fill func(*os.File) error) error {
	f, err := mmfile.CreateTemp(name, 0o644)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		mmfile.AbandonTemp(f)
		return err
	}
	return mmfile.PublishTemp(f, name, nil)
}
