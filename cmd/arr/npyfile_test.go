package main

import (
	"os"

	"github.com/arrfile/arrfile/npy"
)

// writeNpyFile writes data as an .npy file (npy.Write into the file).
func writeNpyFile[T npy.Elem](name string, data []T, shape ...int) error {
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
