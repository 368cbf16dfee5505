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

// Send passes the array's file descriptor to the process at the other end
// of a Unix domain socket (SCM_RIGHTS), typically an anonymous array from
// CreateAnon. The receiver maps it with Receive; the array stays valid for
// both sides until each closes it. The descriptor carries the file's open
// mode: a receiver can map read-write only if the sender's file is open for
// writing.
func Send(conn *net.UnixConn, a *Array) error {
	f, err := a.File()
	if err != nil {
		return err
	}
	rights := unix.UnixRights(int(f.Fd()))
	n, oobn, err := conn.WriteMsgUnix([]byte{'A'}, rights, nil)
	runtime.KeepAlive(f)
	if err != nil {
		return wrap("send", a.path, err)
	}
	if n != 1 || oobn != len(rights) {
		return wrap("send", a.path, errors.New("short write on the socket"))
	}
	return nil
}

// Receive reads one file descriptor sent with Send from a Unix domain
// socket and maps the array in it (see OpenFile for the checks). It fails if
// the message carries no descriptor; extra descriptors are closed.
func Receive(conn *net.UnixConn, mode Mode, opt *Options) (*Array, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, wrap("receive", connName(conn), err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, wrap("receive", connName(conn), err)
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
		return nil, wrap("receive", connName(conn), errors.New("message carries no array descriptor"))
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	unix.CloseOnExec(fds[0])
	return OpenFile(os.NewFile(uintptr(fds[0]), "received-array"), mode, opt)
}

// connName names a socket for error messages.
func connName(conn *net.UnixConn) string {
	if a := conn.LocalAddr(); a != nil && a.String() != "" {
		return a.String()
	}
	return "unix socket"
}

// renameMapped publishes the array's open, mapped file; POSIX renames
// open files. renamed reports whether the name now is the array's file.
func (a *Array) renameMapped() (renamed bool, err error) {
	return atomicfile.Rename(a.f, a.path, a.opt.NoSync)
}
