//go:build linux

package mmfile

import (
	"fmt"
	"io"
	"os/exec"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/npy"
)

// helpers are the functions a re-executed test binary can run (see
// TestMain). Each gets the arguments the parent passed.
var helpers = map[string]func(args []string) error{}

// debugPanicOnFault reports whether the fault guard is on for this
// goroutine.
func debugPanicOnFault() bool {
	old := debug.SetPanicOnFault(false)
	debug.SetPanicOnFault(old)
	return old
}

type exitError = exec.ExitError

// errOf drops the ok of Lock and LockRange, for calls that wait.
func errOf(_ bool, err error) error { return err }

// createAppender creates and publishes an empty C-order array of dtype dt
// with shape (0, rowShape...) as name and opens it for appending, as a
// producer that streams rows does.
func createAppender(name string, dt *npy.DType, rowShape []int, opt *CreateOptions) (*Appender, error) {
	a, err := Create(name, &npy.Header{DType: dt, Shape: append([]int{0}, rowShape...)}, opt)
	if err != nil {
		return nil, err
	}
	err = a.Publish()
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return OpenAppender(name, opt)
}

// sealed reports whether a's file is sealed against shrinking (memfd).
func sealed(a *Array) bool {
	f, err := a.File()
	if err != nil {
		return false
	}
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	return err == nil && seals&unix.F_SEAL_SHRINK != 0
}

// index returns the position in the data of the element at the N-d index
// idx, from the header's strides.
func index(h *npy.Header, idx ...int) int {
	pos := 0
	for i, st := range h.Strides() {
		pos += idx[i] * st
	}
	return pos / h.DType.Size
}

// writeFrom reads an .npy stream from r and publishes it as name, the data
// read straight into the new file's mapping (see ExampleCreate_stream).
func writeFrom(name string, r io.Reader, opt *CreateOptions) error {
	rd, err := npy.NewReader(r)
	if err != nil {
		return err
	}
	h := *rd.Header
	h.Version = npy.Version{}
	a, err := Create(name, &h, opt)
	if err != nil {
		return err
	}
	err = a.Do(func(data []byte) error {
		_, err := io.ReadFull(rd, data)
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%w: stream ended before the %d data bytes", npy.ErrTruncated, len(data))
		}
		return err
	})
	if err == nil {
		err = a.Publish()
	}
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	return err
}
