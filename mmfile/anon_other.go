//go:build !linux

package mmfile

import "github.com/arrfile/arrfile/npy"

// CreateAnon makes an anonymous in-memory array (memfd_create). It is
// available on Linux only; here it returns ErrUnsupported.
func CreateAnon(name string, h *npy.Header, opt *Options) (*Array, error) {
	return nil, wrap("create", "memfd:"+name, ErrUnsupported)
}

// WriteAnon needs memfd_create: Linux only; here it returns ErrUnsupported.
func WriteAnon(name string, h *npy.Header, data []byte, opt *Options) (*Array, error) {
	return nil, wrap("create", "memfd:"+name, ErrUnsupported)
}

// Sealed reports whether the array's file is sealed against shrinking;
// always false on systems without memfd seals.
func (a *Array) Sealed() bool { return false }
