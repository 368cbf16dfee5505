//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package mmfile

import (
	"os"
)

// On the BSDs and macOS the Linux-only calls degrade: no free-space check
// (Create relies on the reservation instead), space is reserved by writing
// zeros, populate touches pages, and there are no open-file-description
// locks (LockRange returns errors.ErrUnsupported) and no in-use mark on temporary
// files (RemoveStale goes by age alone).

func freeSpace(dir string) (int64, bool) { return 0, false }

func fallocate(f *os.File, off, n int64) error { return errNoFallocate }

func populateAdvise(m []byte) error { return errUnsupported }

func ofdLock(f *os.File, typ int16, off, n int64, wait bool) (bool, error) {
	return false, errUnsupported
}

const (
	lockShared    = 1
	lockExclusive = 2
	lockNone      = 0
)

func populateChunk(m []byte, write bool) error { return errUnsupported }

// mapPopulateFlag is 0: there is no MAP_POPULATE; PopulateMap populates
// after mapping instead.
const mapPopulateFlag = 0
