//go:build linux

package atomicfile

import "golang.org/x/sys/unix"

func umaskOf() (uint32, error) { return umask() }

// maskedTmpfileMode makes an O_TMPFILE file in dir as a kernel that ignores
// the umask for O_TMPFILE would (mode 0666 whatever the umask), runs
// maskTmpfile on it and returns the mode it ends with.
func maskedTmpfileMode(dir string) (uint32, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, 0o666); err != nil {
		return 0, err
	}
	if err := maskTmpfile(fd); err != nil {
		return 0, err
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	return st.Mode & 0o777, err
}
