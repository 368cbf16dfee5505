//go:build linux

package store

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// parkByte is the byte a parking Store's descriptor locks (shared) from
// the Get that opened it until its mapping is unmapped and the descriptor
// closed: the mark of a store-managed open file description, which keeps
// its mapping only to reuse it after a later Get of the same file and
// never reads it while parked. Two below refByte (not next to it, so the
// kernel never merges the two shared locks of one descriptor into one
// range), far past any data.
const parkByte = refByte - 2

const canPark = true

// parkLock marks f's open file description as a parking Store's.
func parkLock(f *os.File) error { _, err := ofd(f, unix.F_RDLCK, parkByte, false); return err }

// parkLocked reports whether another open file description of f's file
// holds the park mark.
func parkLocked(f *os.File) bool {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: parkByte, Len: 1}
	err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk)
	runtime.KeepAlive(f)
	return err == nil && lk.Type != unix.F_UNLCK
}

// fileUse is what one process has of one file: descriptors with and
// without the park mark, and the bytes it maps.
type fileUse struct {
	parked, other int
	mapped        int64
}

// openers lists, for files under one folder, each process's use
// (scanOpeners); complete is false if some process could not be read.
type openers struct {
	use      map[fileID]map[int]*fileUse
	complete bool
}

// onlyParked reports whether every other open file description and
// mapping of the file id of size bytes belongs to a parking Store: each
// process that has it has only descriptors with the park mark and maps
// exactly one mapping of the whole file per descriptor (a store mapping
// from its start), and there is at least one such (the caller saw
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
	}
	return true
}

// scanOpeners reads /proc for the descriptors (by their path under dir,
// as scanProcs does) and the mappings (by device and inode) of files on
// device dev, skipping descriptor skipFD of this process (-1: none). For
// each descriptor it reads /proc/PID/fdinfo, which lists the locks its
// open file description owns, to tell the park mark.
func scanOpeners(dir string, dev uint64, skipFD int) *openers {
	o := &openers{use: map[fileID]map[int]*fileUse{}, complete: true}
	d, err := os.Open("/proc")
	if err != nil {
		o.complete = false
		return o
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	self := os.Getpid()
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
			if err != nil || !strings.HasPrefix(strings.TrimSuffix(target, " (deleted)"), dir+"/") {
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
			if err == nil && hasParkMark(info, devLock+strconv.FormatUint(id.ino, 10)) {
				u.parked++
			} else {
				u.other++
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

// hasParkMark reports whether fdinfo lists an OFD read lock covering
// parkByte of the file "MAJ:MIN:INO" (the lines read "lock:\t1: OFDLCK
// ADVISORY READ -1 00:1b:1234 START END").
func hasParkMark(info []byte, file string) bool {
	for _, line := range strings.Split(string(info), "\n") {
		rest, ok := strings.CutPrefix(line, "lock:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 8 || f[1] != "OFDLCK" || f[3] != "READ" || f[5] != file {
			continue
		}
		start, err := strconv.ParseInt(f[6], 10, 64)
		if err != nil || start > parkByte {
			continue
		}
		if end, err := strconv.ParseInt(f[7], 10, 64); f[7] == "EOF" || err == nil && end >= parkByte {
			return true
		}
	}
	return false
}

func hex2(v uint32) string {
	s := strconv.FormatUint(uint64(v), 16)
	if len(s) < 2 {
		s = "0" + s
	}
	return s
}
