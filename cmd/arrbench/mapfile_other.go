//go:build !unix

package main

import "os"

// mapReadOnly reads the whole file at path where arrbench does not map
// files itself (the Arrow transport then copies).
func mapReadOnly(path string) ([]byte, func(), error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return b, func() {}, nil
}
