//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package mmfile

import (
	"errors"
	"io/fs"
	"net"
	"os"
)

var errPinnedPublish = errors.New("cannot publish a pinned array on this system (the file must be unmapped to be renamed)")

// On Windows (and other systems without the Unix calls) mmfile degrades:
// space is reserved by writing zeros, there is no free-space check, populate
// touches pages, access hints are ignored, file locks, descriptor passing and
// anonymous arrays return ErrUnsupported, and Publish closes and reopens the
// file around the rename (Windows cannot rename an open file).

func freeSpace(dir string) (int64, bool) { return 0, false }

// mapAlignment is the granularity of mapping offsets: Windows maps at
// multiples of its 64 KiB allocation granularity, a multiple of the page
// size elsewhere too.
func mapAlignment() int64 { return max(64<<10, int64(os.Getpagesize())) }

func isMemoryFS(f *os.File) bool { return false }

func fallocate(f *os.File, off, n int64) error { return errNoFallocate }

func mapPopulate(f *os.File, off int64, length int, write bool) ([]byte, bool, error) {
	return nil, false, nil
}

func populateAdvise(m []byte) error { return ErrUnsupported }

func flock(f *os.File, exclusive, wait bool) (bool, error) { return false, ErrUnsupported }

func funlock(f *os.File) error { return ErrUnsupported }

func ofdLock(f *os.File, typ int16, off, n int64, wait bool) (bool, error) {
	return false, ErrUnsupported
}

const (
	lockShared    = 1
	lockExclusive = 2
	lockNone      = 0
)

func madvise(m []byte, adv Advice) error { return nil }

func setLive(f *os.File)      {}
func clearLive(f *os.File)    {}
func isLive(path string) bool { return false }

func dirWritable(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

func syncDir(dir string) error { return nil }

// renameMapped unmaps and closes the file, renames it and maps it again at
// the same size: Windows refuses to rename an open file. Slices from Bytes
// and Slice taken before Publish are invalid afterwards on these systems, so
// Publish refuses while the array is pinned.
func (a *Array) renameMapped(from, to string) error {
	if a.pins > 0 {
		return errPinnedPublish
	}
	length := len(a.m)
	if err := msync(a.m); err != nil {
		return err
	}
	if err := unmap(a.m); err != nil {
		return err
	}
	a.m, a.data = nil, nil
	if err := a.f.Close(); err != nil {
		return err
	}
	rerr := renameFile(from, to)
	name := to
	if rerr != nil {
		name = from
	}
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		a.released = true
		a.closed = true
		return err
	}
	m, err := mapFile(f, length, ReadWrite, PopulateNone)
	if err != nil {
		f.Close()
		a.released = true
		a.closed = true
		return err
	}
	a.f, a.m, a.data = f, m, m[a.hdr.DataOffset:length:length]
	return rerr
}

// Send is not available on this system.
func Send(conn *net.UnixConn, a *Array) error { return ErrUnsupported }

// Receive is not available on this system.
func Receive(conn *net.UnixConn, mode Mode, opt *Options) (*Array, error) {
	return nil, ErrUnsupported
}

func populateChunk(m []byte, write bool) error { return ErrUnsupported }

// createLiveTemp is not available here (no O_TMPFILE); temporary files are
// created the portable way.
func createLiveTemp(dir, base string, perm fs.FileMode) (*os.File, bool) { return nil, false }

// closeBeforeRename is true: Windows can neither rename nor remove an open
// file.
const closeBeforeRename = true
