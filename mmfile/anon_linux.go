//go:build linux

package mmfile

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

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
// against shrinking and growing (F_SEAL_SHRINK, F_SEAL_GROW), so no process
// that receives it can truncate it under another's mapping: its mappings can
// never fault. name only labels the descriptor (it shows in /proc/PID/fd).
// Linux only; elsewhere it returns ErrUnsupported.
func CreateAnon(name string, h *npy.Header, opt *Options) (*Array, error) {
	return newAnon(name, h, nil, opt)
}

// WriteAnon is CreateAnon for an array whose data already exists: data
// (h's data size, in h's dtype and order) is written into the new memory
// with positioned writes split across cores, not copied through the
// mapping, and the space is not reserved first (a failed write reports the
// lack of memory). This is the fastest way to hand an existing slice to
// another process without a name: one pass over the new pages.
func WriteAnon(name string, h *npy.Header, data []byte, opt *Options) (*Array, error) {
	if data == nil {
		data = []byte{}
	}
	return newAnon(name, h, data, opt)
}

func newAnon(name string, h *npy.Header, data []byte, opt *Options) (*Array, error) {
	o := optionsOf(opt)
	label := "memfd:" + name
	hb, hdr, err := headerBytes(h)
	if err != nil {
		return nil, wrap("create", label, err)
	}
	total := hdr.DataOffset + hdr.DataSize()
	if int64(int(total)) != total {
		return nil, wrap("create", label, fmt.Errorf("%w: %d bytes do not fit in this machine's address space", npy.ErrBadShape, total))
	}
	if data != nil && int64(len(data)) != hdr.DataSize() {
		return nil, wrap("create", label, fmt.Errorf("%w: %d data bytes for shape %v of %s (%d bytes)",
			npy.ErrSize, len(data), hdr.Shape, hdr.DType, hdr.DataSize()))
	}
	fd, err := unix.MemfdCreate("arrfile:"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, wrap("create", label, fmt.Errorf("memfd_create: %w", err))
	}
	f := os.NewFile(uintptr(fd), label)
	fail := func(err error) (*Array, error) {
		f.Close()
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.ENOMEM) {
			err = &SpaceError{Dir: "memory (memfd)", Need: total, Free: -1, Err: err}
		}
		return nil, wrap("create", label, err)
	}
	err = f.Truncate(total)
	if err == nil && data == nil && !o.Sparse {
		err = reserve(f, 0, total)
	}
	if err == nil && data != nil {
		err = writeAtParallel(f, data, hdr.DataOffset)
	}
	if err != nil {
		return fail(err)
	}
	if _, err := f.WriteAt(hb, 0); err != nil {
		return fail(err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW); err != nil {
		return fail(fmt.Errorf("fcntl(F_ADD_SEALS): %w", err))
	}
	a := &Array{path: label, f: f, hdr: hdr, mode: ReadWrite, opt: o, anon: true}
	if data != nil && o.Populate == PopulateDefault {
		a.opt.Populate = PopulateNone // written already; nothing to prefault for
	}
	if err := a.mapNew(int(total)); err != nil {
		return fail(err)
	}
	return a, nil
}

// Sealed reports whether the array's file is sealed against shrinking
// (an anonymous array from CreateAnon, here or in the process that sent it):
// then no process can truncate it, and raw slices cannot fault.
func (a *Array) Sealed() bool {
	f, err := a.File()
	if err != nil {
		return false
	}
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	runtime.KeepAlive(f)
	return err == nil && seals&unix.F_SEAL_SHRINK != 0
}
