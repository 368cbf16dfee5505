package npz

import (
	"os"

	"github.com/arrfile/arrfile/mmfile"
)

// The temp-and-rename of Create: mmfile's temporary files, until they move
// to internal/atomicfile (Create(name, perm), Publish(f, name, noSync),
// Abandon(f)), which this file then calls instead. It is the package's
// only use of mmfile.

func createTemp(name string) (*os.File, error) { return mmfile.CreateTemp(name, 0o644) }

func publishTemp(f *os.File, name string) error { return mmfile.PublishTemp(f, name, nil) }

func abandonTemp(f *os.File) error { return mmfile.AbandonTemp(f) }
