//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package mmfile

import (
	"errors"
	"net"
	"os"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

var errPinnedPublish = errors.New("cannot publish a pinned array on this system (the file must be unmapped to be renamed)")

// On Windows (and other systems without the Unix calls) mmfile degrades:
// space is reserved by writing zeros, there is no free-space check, populate
// touches pages, access hints are ignored, file locks, descriptor passing and
// anonymous arrays return errors.ErrUnsupported, and Publish closes and reopens the
// file around the rename (Windows cannot rename an open file).

func freeSpace(dir string) (int64, bool) { return 0, false }

func fallocate(f *os.File, off, n int64) error { return errNoFallocate }

func populateAdvise(m []byte) error { return errUnsupported }

func flock(f *os.File, exclusive, wait bool) (bool, error) { return false, errUnsupported }

func funlock(f *os.File) error { return errUnsupported }

func ofdLock(f *os.File, typ int16, off, n int64, wait bool) (bool, error) {
	return false, errUnsupported
}

const (
	lockShared    = 1
	lockExclusive = 2
	lockNone      = 0
)

func dirWritable(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

func sendFD(conn *net.UnixConn, f *os.File) error { return errUnsupported }
func recvFD(conn *net.UnixConn) (*os.File, error) { return nil, errUnsupported }

func populateChunk(m []byte, write bool) error { return errUnsupported }

// renameMapped unmaps the array, publishes its file (closing it: Windows
// refuses to rename an open file) and maps it again at the same size.
// Slices from Bytes and Slice taken before Publish are invalid afterwards
// on these systems, so Publish refuses while the array is pinned. If the
// rename fails, the temporary file is gone and the array is closed.
func (a *Array) renameMapped() (renamed bool, err error) {
	if a.pins > 0 {
		return false, errPinnedPublish
	}
	length := len(a.m)
	if err := msync(a.m); err != nil {
		return false, err
	}
	if err := unmap(a.m); err != nil {
		return false, err
	}
	a.m, a.data = nil, nil
	if err := atomicfile.Publish(a.f, a.path, a.noSync); err != nil {
		a.released, a.closed = true, true
		return false, err
	}
	f, err := os.OpenFile(a.path, os.O_RDWR, 0)
	if err != nil {
		a.released, a.closed = true, true
		return true, err
	}
	m, err := mapFile(f, length, ReadWrite, PopulateNone)
	if err != nil {
		f.Close()
		a.released, a.closed = true, true
		return true, err
	}
	a.f, a.m, a.data = f, m, m[a.hdr.DataOffset:length:length]
	return true, nil
}

// mapPopulateFlag is 0: there is no MAP_POPULATE; PopulateMap populates
// after mapping instead.
const mapPopulateFlag = 0
