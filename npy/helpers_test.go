package npy_test

import (
	"bytes"
	"os"

	"github.com/arrfile/arrfile/npy"
)

// writeFile writes data as an .npy file through npy.Write (the atomic
// temp-and-rename write of a file by path is mmfile.Write).
func writeFile[T npy.Elem](name string, data []T, shape ...int) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := npy.Write(f, data, shape...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// canonical returns the canonical bytes of an array (npy.WriteCanonical).
func canonical(h *npy.Header, data []byte) ([]byte, error) {
	var b bytes.Buffer
	err := npy.WriteCanonical(&b, h, data)
	return b.Bytes(), err
}
