package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// procStatusBytes returns a "Vm..."/"Rss..." field of /proc/self/status in
// bytes, or 0 when it cannot be read.
func procStatusBytes(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			fs := strings.Fields(rest)
			if len(fs) >= 1 {
				kb, err := strconv.ParseInt(fs[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// peakRSS returns the process's peak resident set size in bytes since it
// started or since the last successful resetPeakRSS (VmHWM), 0 if unknown.
func peakRSS() int64 { return procStatusBytes("VmHWM") }

// resetPeakRSS resets the peak resident set counter to the current resident
// set (writing 5 to /proc/self/clear_refs, Linux 4.0 and later) and
// reports whether that worked.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// memAvailable returns the memory the kernel estimates is available for new
// allocations without swapping (MemAvailable), or 0 when unknown.
func memAvailable() int64 { return meminfoBytes("MemAvailable") }

// memTotal returns the machine's RAM in bytes, or 0 when unknown.
func memTotal() int64 { return meminfoBytes("MemTotal") }

func meminfoBytes(field string) int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			fs := strings.Fields(rest)
			if len(fs) >= 1 {
				kb, err := strconv.ParseInt(fs[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// isolateChild puts a child process in its own process group, so that a
// Ctrl-C on the terminal reaches only the producer, which then cleans up
// and stops its children itself, and asks the kernel to kill the child if
// the producer dies.
func isolateChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killChild kills a child started with isolateChild and every process in
// its group (the Python producer's own consumer process).
func killChild(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Process.Kill()
}

// socketAddr returns the address of the producer's socket: an abstract
// Unix socket name, which leaves no file behind.
func socketAddr(_ string, tag string) string {
	return "@arrbench-" + strconv.Itoa(os.Getpid()) + "-" + tag
}

// sharedMemoryDir is where POSIX shared memory objects (Python's
// SharedMemory) live as files, "" where they are not files.
const sharedMemoryDir = "/dev/shm"

// fsType returns the filesystem type of the folder (from
// /proc/self/mountinfo: the mount with the longest mount point that holds
// it), or "unknown".
func fsType(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "unknown"
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "unknown"
	}
	best, bestType := "", "unknown"
	for _, line := range bytes.Split(b, []byte("\n")) {
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		fs := strings.Fields(string(line))
		if len(fs) < 7 {
			continue
		}
		mp := unescapeMount(fs[4])
		sep := -1
		for i := 6; i < len(fs); i++ {
			if fs[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fs) {
			continue
		}
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, bestType = mp, fs[sep+1]
		}
	}
	return bestType
}

// unescapeMount undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
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

// cpuModel returns the CPU's model name, or "unknown".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// kernelVersion returns the kernel's name and release ("Linux 6.1.0").
func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
}

// dropPageCache writes back and then drops the cached pages of the file
// (fdatasync, then posix_fadvise(POSIX_FADV_DONTNEED)), so that the next
// reader reads it from the device.
func dropPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("fdatasync %s: %w", path, err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("posix_fadvise(DONTNEED) %s: %w", path, err)
	}
	return nil
}

// freeSpace returns the bytes available to this user in the folder's
// filesystem, or 0 when unknown.
func freeSpace(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// populateWrite fills the page tables of b's pages for writing in one
// system call (MADV_POPULATE_WRITE, Linux 5.14+) instead of one page fault
// per page as the writes reach them; b is widened to whole pages. Errors
// (an older kernel) are ignored: the writes then fault as usual.
func populateWrite(b []byte) {
	if len(b) == 0 {
		return
	}
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(&b[0]))
	end := start + uintptr(len(b))
	start &^= page - 1
	end = (end + page - 1) &^ (page - 1)
	unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_POPULATE_WRITE)
}
