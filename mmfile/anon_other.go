//go:build !linux

package mmfile

import "github.com/arrfile/arrfile/npy"

// newAnon needs memfd_create: Linux only.
func newAnon(label string, hb []byte, hdr *npy.Header, data []byte, o CreateOptions) (*Array, error) {
	return nil, wrap("create", "memfd:"+label, errUnsupported)
}
