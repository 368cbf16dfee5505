package mmfile

import (
	"fmt"
	"net"

	"github.com/arrfile/arrfile/npy"
)

// CreateAnon makes an anonymous array: the same .npy bytes (header and
// data) as Create, but in memory from memfd_create instead of a named file,
// mapped read-write. It has no name to clean up: the memory is freed when the
// last process that has the descriptor open or mapped closes it, also if
// every process crashes. Hand it to a child process as an inherited
// descriptor (File in exec.Cmd.ExtraFiles, then OpenFile in the child) or to
// a running process over a Unix socket (Send and Receive).
//
// The space is reserved at once (unless opt.Sparse), and the file is sealed
// against shrinking and growing (F_SEAL_SHRINK, F_SEAL_GROW; fcntl
// F_GET_SEALS on File tells a receiver), so no process that receives it can
// truncate it under another's mapping: its mappings can never fault. label
// only names the descriptor (it shows in /proc/PID/fd, and as "memfd:LABEL"
// in errors). Linux only; elsewhere it returns an error matching
// errors.ErrUnsupported.
func CreateAnon(label string, h *npy.Header, opt *CreateOptions) (*Array, error) {
	hb, hdr, err := headerBytes(h)
	if err != nil {
		return nil, wrap("create", "memfd:"+label, err)
	}
	return newAnon(label, hb, hdr, nil, createOptionsOf(opt))
}

// WriteAnon is CreateAnon for an array whose data already exists, described
// as for Write: data is written into the new memory with positioned writes
// split across cores, not copied through the mapping, and the space is not
// reserved first (a failed write reports the lack of memory). This is the
// fastest way to hand an existing slice to another process without a name:
// one pass over the new pages.
func WriteAnon[T npy.Elem](label string, data []T, h *npy.Header, opt *CreateOptions) (*Array, error) {
	hb, hdr, err := dataHeader(data, h)
	if err != nil {
		return nil, wrap("create", "memfd:"+label, err)
	}
	o := createOptionsOf(opt)
	if o.Populate == PopulateDefault {
		o.Populate = PopulateNone // written already; nothing to prefault for
	}
	return newAnon(label, hb, hdr, npy.Bytes(data), o)
}

// Send passes the array's file descriptor to the process at the other end
// of a Unix domain socket (SCM_RIGHTS), typically an anonymous array from
// CreateAnon. The receiver maps it with Receive; the array stays valid for
// both sides until each closes it. The descriptor carries the file's open
// mode: a receiver can map read-write only if the sender's file is open for
// writing. Not available on Windows.
func Send(conn *net.UnixConn, a *Array) error {
	f, err := a.File()
	if err != nil {
		return err
	}
	return wrap("send", a.path, sendFD(conn, f))
}

// Receive reads one file descriptor sent with Send from a Unix domain
// socket and maps the array in it (see OpenFile for the checks). It fails if
// the message carries no descriptor; extra descriptors are closed. Not
// available on Windows.
//
// In ReadOnly and CopyOnWrite mode Receive requires the file to be sealed
// against shrinking and growing (F_SEAL_SHRINK and F_SEAL_GROW, as
// CreateAnon and WriteAnon seal theirs): the sender of an unsealed file
// could truncate it under the mapping, and a read through a raw slice would
// then kill the receiver with SIGBUS. An unsealed file (a regular file, a
// memfd without the seals, anything on systems other than Linux) is closed
// and refused with ErrUnsealed unless opt.AllowUnsealed is set. ReadWrite
// receives are not checked: a read-write mapping shares the file with a
// cooperating sender that writes into it too, often a regular file that
// cannot be sealed.
func Receive(conn *net.UnixConn, mode Mode, opt *Options) (*Array, error) {
	f, err := recvFD(conn)
	if err != nil {
		return nil, wrap("receive", connName(conn), err)
	}
	if mode != ReadWrite && (opt == nil || !opt.AllowUnsealed) {
		if seals, ok := sealedAgainstResize(f); !ok {
			f.Close()
			return nil, wrap("receive", connName(conn), fmt.Errorf("%w: %s; set Options.AllowUnsealed to map it from a sender you trust", ErrUnsealed, seals))
		}
	}
	return OpenFile(f, mode, opt)
}

// connName names a socket for error messages.
func connName(conn *net.UnixConn) string {
	if a := conn.LocalAddr(); a != nil && a.String() != "" {
		return a.String()
	}
	return "unix socket"
}
