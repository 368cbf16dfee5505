//go:build !linux

package mmfile

import (
	"os"

	"github.com/arrfile/arrfile/npy"
)

// newAnon needs memfd_create: Linux only.
func newAnon(label string, hb []byte, hdr *npy.Header, data []byte, o CreateOptions) (*Array, error) {
	return nil, wrap("create", "memfd:"+label, errUnsupported)
}

// sealedAgainstResize is false: there are no file seals here.
func sealedAgainstResize(f *os.File) (string, bool) {
	return "this system has no file seals", false
}
