//go:build linux

package mmfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/npy"
)

// newAnon makes the memfd array of CreateAnon and WriteAnon: with data
// written (WriteAnon) or, when data is nil, zeroed and reserved.
func newAnon(name string, hb []byte, hdr *npy.Header, data []byte, o CreateOptions) (*Array, error) {
	label := "memfd:" + name
	total := hdr.DataOffset + hdr.DataSize()
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
	a := &Array{path: label, f: f, hdr: hdr, mode: ReadWrite, anon: true}
	if err := a.mapNew(int(total), o.Populate, o.Advice); err != nil {
		return fail(err)
	}
	return a, nil
}

// sealedAgainstResize reports whether f is sealed with F_SEAL_SHRINK and
// F_SEAL_GROW, and describes its seals.
func sealedAgainstResize(f *os.File) (desc string, ok bool) {
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		return "the file cannot be sealed (not a memfd)", false
	}
	const need = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW
	return fmt.Sprintf("seals %#x, need %#x", seals, need), seals&need == need
}
