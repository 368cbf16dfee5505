//go:build linux

package store

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The byte a reference locks: far past any data, next to (not on) the byte
// internal/atomicfile locks to mark a temporary file live (1<<62), so it
// never meets a user's range lock or the live mark.
const refByte = 1<<62 - 1

// liveByte is internal/atomicfile's live mark; a recycled file renamed to
// a temporary name carries it (TestRecycledTempIsLive checks that
// atomicfile.Live sees it).
const liveByte = 1 << 62

// ofd sets (F_RDLCK, F_WRLCK) or clears (F_UNLCK) an open-file-description
// lock on byte off of f; wait blocks. ok is false if another holder
// conflicts (without wait).
func ofd(f *os.File, typ int16, off int64, wait bool) (ok bool, err error) {
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: off, Len: 1}
	cmd := unix.F_OFD_SETLK
	if wait {
		cmd = unix.F_OFD_SETLKW
	}
	for {
		err = unix.FcntlFlock(f.Fd(), cmd, &lk)
		runtime.KeepAlive(f)
		switch {
		case err == nil:
			return true, nil
		case err == unix.EINTR:
			continue
		case !wait && (err == unix.EAGAIN || err == unix.EACCES):
			return false, nil
		}
		return false, err
	}
}

// dropRangeLocks releases the locks f holds on the array's bytes (those of
// mmfile's LockRange, below 1<<60), as closing f would, and keeps the
// store's own far past them (reference, live and park marks).
func dropRangeLocks(f *os.File) {
	if f == nil {
		return
	}
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0, Start: 0, Len: 1 << 60}
	for unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk) == unix.EINTR {
	}
	runtime.KeepAlive(f)
}

// refLock takes a reference on f (open for reading): a shared lock on
// refByte, waiting while an evictor holds it exclusively.
func refLock(f *os.File) error {
	_, err := ofd(f, unix.F_RDLCK, refByte, true)
	return err
}

// tryExclusive takes the exclusive lock on refByte of f (open for
// writing): false if a process holds a reference.
func tryExclusive(f *os.File) (bool, error) { return ofd(f, unix.F_WRLCK, refByte, false) }

// unlockRef drops this descriptor's lock on refByte.
func unlockRef(f *os.File) { ofd(f, unix.F_UNLCK, refByte, false) }

// setLive and clearLive set and clear the live mark of a temporary file.
func setLive(f *os.File) error { _, err := ofd(f, unix.F_WRLCK, liveByte, false); return err }
func clearLive(f *os.File)     { ofd(f, unix.F_UNLCK, liveByte, false) }

// isHeld reports whether a process holds a reference on the file at path.
func isHeld(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: refByte, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return false
	}
	return lk.Type != unix.F_UNLCK
}

// soleOpener reports whether f's descriptor is the only open file
// description of its file in any process: no other descriptor and no
// mapping (a mapping keeps its file open). It asks by taking a write lease,
// which the kernel grants only then, and drops the lease at once. known is
// false where the kernel would not answer (leases off, not the file's
// owner); then the caller looks in /proc.
func soleOpener(f *os.File) (sole, known bool) {
	fd := int(f.Fd())
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_WRLCK)
	runtime.KeepAlive(f)
	switch err {
	case nil:
		unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_UNLCK)
		return true, true
	case unix.EAGAIN, unix.EBUSY:
		return false, true
	}
	return false, false
}

// storeLock takes (or with unlock, releases) the whole-store lock on the
// ledger file.
func storeLock(f *os.File, unlock bool) error {
	how := unix.LOCK_EX
	if unlock {
		how = unix.LOCK_UN
	}
	for {
		err := unix.Flock(int(f.Fd()), how)
		runtime.KeepAlive(f)
		if err != unix.EINTR {
			return err
		}
	}
}

// touch sets path's access time to now: the store's LRU clock. The time
// is Go's, to the nanosecond, not UTIME_NOW: the kernel's file times come
// from a clock that advances once per tick, which would tie arrays used
// within the same few milliseconds.
func touch(path string) {
	ts := []unix.Timespec{unix.NsecToTimespec(time.Now().UnixNano()), {Nsec: unix.UTIME_OMIT}}
	unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, 0)
}

// times returns a file's last use (atime) and change time (ctime: when it
// was renamed into the pool).
func times(fi os.FileInfo) (atime, ctime time.Time) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fi.ModTime(), fi.ModTime()
	}
	return time.Unix(st.Atim.Unix()), time.Unix(st.Ctim.Unix())
}

// fileID identifies a file across paths.
type fileID struct{ dev, ino uint64 }

// linked reports whether the file still has a name (it was not removed).
func linked(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || st.Nlink > 0
}

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{uint64(st.Dev), st.Ino}
	}
	return fileID{}
}

// fsInfo returns the bytes free to unprivileged users and the total size
// of dir's filesystem.
func fsInfo(dir string) (free, total int64, ok bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), true
}

// scanProcs returns, for the files under the folders dirs, the processes
// that have them open (/proc/PID/fd) or mapped (/proc/PID/maps). It is best
// effort: processes of other users may not be readable. For each process
// the descriptors are read before the mappings, so a process that opens a
// file, maps it and closes the descriptor is seen in one or the other.
func scanProcs(dirs []string) map[fileID][]int {
	out := map[fileID][]int{}
	under := func(p string) bool {
		for _, d := range dirs {
			if d != "" && strings.HasPrefix(p, d+"/") {
				return true
			}
		}
		return false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, pe := range procs {
		pid, err := strconv.Atoi(pe.Name())
		if err != nil {
			continue
		}
		seen := map[fileID]bool{}
		add := func(id fileID) {
			if !seen[id] {
				seen[id] = true
				out[id] = append(out[id], pid)
			}
		}
		fdDir := "/proc/" + pe.Name() + "/fd"
		if fds, err := os.ReadDir(fdDir); err == nil {
			for _, fd := range fds {
				link := filepath.Join(fdDir, fd.Name())
				target, err := os.Readlink(link)
				if err != nil || !under(strings.TrimSuffix(target, " (deleted)")) {
					continue
				}
				if fi, err := os.Stat(link); err == nil {
					add(idOf(fi))
				}
			}
		}
		b, err := os.ReadFile("/proc/" + pe.Name() + "/maps")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			// address perms offset dev inode pathname
			fields := strings.Fields(sc.Text())
			if len(fields) < 6 || !under(strings.Join(fields[5:], " ")) && !under(fields[5]) {
				continue
			}
			maj, min, ok := strings.Cut(fields[3], ":")
			if !ok {
				continue
			}
			ma, err1 := strconv.ParseUint(maj, 16, 32)
			mi, err2 := strconv.ParseUint(min, 16, 32)
			ino, err3 := strconv.ParseUint(fields[4], 10, 64)
			if err1 != nil || err2 != nil || err3 != nil || ino == 0 {
				continue
			}
			add(fileID{unix.Mkdev(uint32(ma), uint32(mi)), ino})
		}
	}
	return out
}
