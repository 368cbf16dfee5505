package npz

import (
	"os"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// The temp-and-rename of Create: internal/atomicfile, the one every
// arrfile writer uses.

func createTemp(name string) (*os.File, error) { return atomicfile.Create(name, 0) }

func publishTemp(f *os.File, name string) error { return atomicfile.Publish(f, name, false) }

func abandonTemp(f *os.File) error { return atomicfile.Abandon(f) }
