//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package mmfile

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// flock takes a BSD lock on the whole file (shared or exclusive). Without
// wait it reports false instead of blocking when the lock is held elsewhere.
func flock(f *os.File, exclusive, wait bool) (bool, error) {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err := unix.Flock(int(f.Fd()), how)
		runtime.KeepAlive(f)
		switch {
		case err == nil:
			return true, nil
		case err == unix.EINTR:
			continue
		case err == unix.EWOULDBLOCK && !wait:
			return false, nil
		default:
			return false, fmt.Errorf("flock: %w", err)
		}
	}
}

// funlock releases a BSD lock.
func funlock(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_UN)
	runtime.KeepAlive(f)
	return err
}

// dirWritable reports whether dir is a folder this process may create
// files in.
func dirWritable(dir string) bool {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	return unix.Access(dir, unix.W_OK|unix.X_OK) == nil
}

// sendFD sends f's descriptor over conn with the one-byte message that
// recvFD expects.
func sendFD(conn *net.UnixConn, f *os.File) error {
	rights := unix.UnixRights(int(f.Fd()))
	n, oobn, err := conn.WriteMsgUnix([]byte{'A'}, rights, nil)
	runtime.KeepAlive(f)
	if err != nil {
		return err
	}
	if n != 1 || oobn != len(rights) {
		return errors.New("short write on the socket")
	}
	return nil
}

// recvFD reads one message from sendFD and returns its descriptor; extra
// descriptors are closed.
func recvFD(conn *net.UnixConn) (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	if n != 1 || len(fds) == 0 || flags&unix.MSG_CTRUNC != 0 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("message carries no array descriptor")
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	unix.CloseOnExec(fds[0])
	return os.NewFile(uintptr(fds[0]), "received-array"), nil
}

// renameMapped publishes the array's open, mapped file; POSIX renames
// open files. renamed reports whether the name now is the array's file.
func (a *Array) renameMapped() (renamed bool, err error) {
	return atomicfile.Rename(a.f, a.path, a.noSync)
}
