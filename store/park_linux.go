//go:build linux

package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A parking Store's descriptor carries, from the Get that opened it until
// its mapping is unmapped and the descriptor closed, the park mark: a
// shared lock on one byte, parkBase - (pid<<20 | seq), unique to the open
// file description (seq counts this process's marks) and naming the
// process that made it. A lock belongs to the open file description, so a
// dup, a descriptor inherited across fork or exec.Cmd.ExtraFiles, or one
// passed over a Unix socket carries the same mark: a producer counts a
// descriptor as parked only if its mark names the process it is found in
// and no other descriptor seen carries the same mark. The marks lie far
// below refByte and liveByte and far past any data, and one descriptor
// carries one mark, so the kernel never merges a mark with another lock
// of its descriptor.
const (
	parkBase = 1 << 61
	parkSpan = 1 << 42 // pids below 1<<22 (the kernel's pid_max limit), seq below 1<<20
)

const canPark = true

// parkSeq numbers this process's park marks.
var parkSeq atomic.Uint32

// parkLock marks f's open file description as a parking Store's.
func parkLock(f *os.File) error {
	v := int64(os.Getpid())<<20 | int64(parkSeq.Add(1)&(1<<20-1))
	if v <= 0 || v >= parkSpan {
		return errors.New("store: pid out of the park marks' range")
	}
	_, err := ofd(f, unix.F_RDLCK, parkBase-v, false)
	return err
}

// markPID returns the pid a park mark at byte b names; false if b is not
// a park mark.
func markPID(b int64) (int, bool) {
	if b <= parkBase-parkSpan || b >= parkBase {
		return 0, false
	}
	return int((parkBase - b) >> 20), true
}

// parkLocked reports whether another open file description of f's file
// holds a park mark.
func parkLocked(f *os.File) bool {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: parkBase - parkSpan + 1, Len: parkSpan - 1}
	err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk)
	runtime.KeepAlive(f)
	return err == nil && lk.Type != unix.F_UNLCK
}

// fileUse is what one process has of one file: descriptors with and
// without the park mark, and the bytes it maps.
type fileUse struct {
	parked, other int
	mapped        int64
	marks         []int64 // the park marks of its parked descriptors
}

// openers lists, for files under one folder, each process's use
// (scanOpeners); complete is false if some process could not be read.
type openers struct {
	use      map[fileID]map[int]*fileUse
	marks    map[fileID]map[int64]int // descriptors seen with each park mark
	complete bool
}

// onlyParked reports whether every other open file description and
// mapping of the file id of size bytes belongs to a parking Store: each
// process that has it has only descriptors with the park mark and maps
// exactly one mapping of the whole file per descriptor (a store mapping
// from its start), each descriptor's mark names the process it is in and
// no two descriptors carry the same mark, and there is at least one such (the caller saw
// another opener through a lease). Processes this user may not read are
// not seen (as everywhere the store reads /proc); a /proc that cannot be
// read at all makes the answer false.
func (o *openers) onlyParked(id fileID, size int64) bool {
	if o == nil || !o.complete {
		return false
	}
	procs := o.use[id]
	if len(procs) == 0 {
		return false // someone has it open (the lease said so) whom /proc does not show
	}
	for _, u := range procs {
		if u.other > 0 || u.parked == 0 || u.mapped != int64(u.parked)*cost(size) {
			return false
		}
		for _, m := range u.marks {
			if o.marks[id][m] != 1 {
				return false // a dup of a parked descriptor in the same process
			}
		}
	}
	return true
}

// scanOpeners reads /proc for the descriptors (those whose path is on a
// mount of dev's filesystem, bind mounts included, then by device and
// inode) and the mappings (by device and inode) of files on
// device dev, skipping descriptor skipFD of this process (-1: none). For
// each descriptor it reads /proc/PID/fdinfo, which lists the locks its
// open file description owns, to tell the park mark.
func scanOpeners(dir string, dev uint64, skipFD int) *openers {
	o := &openers{use: map[fileID]map[int]*fileUse{}, marks: map[fileID]map[int64]int{}, complete: true}
	d, err := os.Open("/proc")
	if err != nil {
		o.complete = false
		return o
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	self := os.Getpid()
	roots := mountsOf(dev, dir) // every path into the store's filesystem; then matched by device and inode
	devField := []byte(" " + hex2(unix.Major(dev)) + ":" + hex2(unix.Minor(dev)) + " ")
	devLock := hex2(unix.Major(dev)) + ":" + hex2(unix.Minor(dev)) + ":"
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		get := func(id fileID) *fileUse {
			m := o.use[id]
			if m == nil {
				m = map[int]*fileUse{}
				o.use[id] = m
			}
			u := m[pid]
			if u == nil {
				u = &fileUse{}
				m[pid] = u
			}
			return u
		}
		base := "/proc/" + name
		fdd, err := os.Open(base + "/fd")
		if err != nil {
			continue // gone, or not ours to read
		}
		fds, _ := fdd.Readdirnames(-1)
		fdd.Close()
		for _, fd := range fds {
			link := base + "/fd/" + fd
			target, err := os.Readlink(link)
			if err != nil || !underAny(strings.TrimSuffix(target, " (deleted)"), roots) {
				continue
			}
			if n, _ := strconv.Atoi(fd); pid == self && n == skipFD {
				continue
			}
			fi, err := os.Stat(link)
			if err != nil {
				continue
			}
			id := idOf(fi)
			if id.dev != dev {
				continue
			}
			u := get(id)
			info, err := os.ReadFile(base + "/fdinfo/" + fd)
			mark, ok := int64(0), false
			if err == nil {
				mark, ok = parkMark(info, devLock+strconv.FormatUint(id.ino, 10))
			}
			if ok {
				if o.marks[id] == nil {
					o.marks[id] = map[int64]int{}
				}
				o.marks[id][mark]++
			}
			if mp, _ := markPID(mark); ok && mp == pid {
				u.parked++
				u.marks = append(u.marks, mark)
			} else {
				u.other++ // no mark, or another process's: inherited or passed on
			}
		}
		b, err := os.ReadFile(base + "/maps")
		if err != nil {
			continue
		}
		if !bytes.Contains(b, devField) {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if !bytes.Contains(line, devField) {
				continue
			}
			// start-end perms offset dev inode pathname
			f := strings.Fields(string(line))
			if len(f) < 5 {
				continue
			}
			ino, err := strconv.ParseUint(f[4], 10, 64)
			lo, hi, ok := strings.Cut(f[0], "-")
			if err != nil || ino == 0 || !ok {
				continue
			}
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			get(fileID{dev, ino}).mapped += int64(end - start)
		}
	}
	return o
}

// parkMark returns the park mark that fdinfo lists among the locks of
// its open file description on the file "MAJ:MIN:INO" (the lines read
// "lock:\t1: OFDLCK ADVISORY READ -1 00:1b:1234 START END"): a one-byte
// OFD read lock (START == END) in the marks' range. false if there is
// none, or more than one.
func parkMark(info []byte, file string) (int64, bool) {
	var mark int64
	n := 0
	for _, line := range strings.Split(string(info), "\n") {
		rest, ok := strings.CutPrefix(line, "lock:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 8 || f[1] != "OFDLCK" || f[3] != "READ" || f[5] != file || f[6] != f[7] {
			continue
		}
		start, err := strconv.ParseInt(f[6], 10, 64)
		if _, ok := markPID(start); err != nil || !ok {
			continue
		}
		mark = start
		n++
	}
	return mark, n == 1
}

func hex2(v uint32) string {
	s := strconv.FormatUint(uint64(v), 16)
	if len(s) < 2 {
		s = "0" + s
	}
	return s
}

// Opens of pooled files since a look (Options.ParkFiles): a verdict holds
// only while no process opened the file after the look began, which an
// inotify watch (IN_OPEN) added before the look tells.

// newWatcher returns a non-blocking inotify instance; -1 if none.
func newWatcher() int {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return -1
	}
	return fd
}

// watchOpens watches f's file (through /proc/self/fd, so the very file
// f has open, whatever its name now) for opens; the watch descriptor, or
// -1.
func watchOpens(ifd int, f *os.File) int {
	wd, err := unix.InotifyAddWatch(ifd, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), unix.IN_OPEN)
	runtime.KeepAlive(f)
	if err != nil {
		return -1
	}
	return wd
}

// unwatch removes a watch (one on a file since freed is gone already).
func unwatch(ifd, wd int) { unix.InotifyRmWatch(ifd, uint32(wd)) }

// readOpens reads the pending events: the watches that saw an open, and
// whether events were lost (the queue overflowed).
func readOpens(ifd int) (wds []int, overflow bool) {
	var buf [4096]byte
	for {
		n, err := unix.Read(ifd, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return wds, overflow
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(buf[off:]))
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			l := binary.NativeEndian.Uint32(buf[off+12:])
			if mask&unix.IN_Q_OVERFLOW != 0 {
				overflow = true
			}
			if mask&unix.IN_OPEN != 0 {
				wds = append(wds, int(wd))
			}
			off += unix.SizeofInotifyEvent + int(l)
		}
	}
}

func closeWatcher(ifd int) { unix.Close(ifd) }

// mountsOf returns dir and the mount points (in this process's mount
// namespace, from /proc/self/mountinfo) of the filesystem on device dev,
// each with a trailing slash: the paths a descriptor of one of its files
// may show. Descriptors elsewhere are not stat'ed (a stat of a file on a
// hung network mount would block the look).
func mountsOf(dev uint64, dir string) []string {
	roots := []string{dir + "/"}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return roots
	}
	want := strconv.FormatUint(uint64(unix.Major(dev)), 10) + ":" + strconv.FormatUint(uint64(unix.Minor(dev)), 10)
	for _, line := range strings.Split(string(b), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT ...
		f := strings.Fields(line)
		if len(f) < 5 || f[2] != want {
			continue
		}
		mp := unescapeMount(f[4])
		if mp != "/" {
			mp += "/"
		}
		roots = append(roots, mp)
	}
	return roots
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// underAny reports whether path is under one of the roots (each ending
// in a slash).
func underAny(path string, roots []string) bool {
	for _, r := range roots {
		if strings.HasPrefix(path, r) {
			return true
		}
	}
	return false
}
