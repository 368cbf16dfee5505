//go:build !linux

package store

import (
	"os"
	"time"
)

// Without open-file-description locks and /proc there are no references,
// no cross-process store lock and no scans (see the package doc).

func refLock(f *os.File) error              { return nil }
func dropRangeLocks(*os.File)               {}
func tryExclusive(f *os.File) (bool, error) { return true, nil }
func unlockRef(f *os.File)                  {}
func setLive(f *os.File) error              { return nil }
func clearLive(f *os.File)                  {}
func isHeld(path string) bool               { return false }
func storeLock(f *os.File, unlock bool) error {
	return nil
}
func touch(path string) { now := time.Now(); os.Chtimes(path, now, time.Time{}) }

func times(fi os.FileInfo) (atime, ctime time.Time) { return fi.ModTime(), fi.ModTime() }

type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID { return fileID{} }

func fsInfo(dir string) (free, total int64, ok bool) { return 0, 0, false }

func scanProcs(dirs []string) map[fileID][]int { return map[fileID][]int{} }

func soleOpener(f *os.File) (sole, known bool) { return false, false }

// No parking without the locks that mark it (Options.ParkFiles is
// ignored).
const canPark = false

func parkLock(f *os.File) error  { return nil }
func parkLocked(f *os.File) bool { return false }
func linked(fi os.FileInfo) bool { return true }

type openers struct{}

func (o *openers) onlyParked(id fileID, size int64) bool      { return false }
func scanOpeners(dir string, dev uint64, skipFD int) *openers { return nil }

func newWatcher() int                              { return -1 }
func watchOpens(ifd int, f *os.File) int           { return -1 }
func unwatch(ifd, wd int)                          {}
func readOpens(ifd int) (wds []int, overflow bool) { return nil, false }
func closeWatcher(ifd int)                         {}
