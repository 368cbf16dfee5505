package main

import (
	"errors"
	"fmt"
	"os"
)

// errNotRegular is openRegular's refusal of anything but a regular file.
var errNotRegular = errors.New("not a regular file")

// openRegular opens path for the housekeeping commands (ls, rm), which
// read files in a folder other users can write to: it never blocks and
// never follows a final symbolic link (openNoBlock), and it checks the
// opened descriptor (fstat), refusing anything but a regular file, since a
// name checked before the open can be replaced by then.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", errNotRegular, fi.Mode().Type())}
	}
	return f, fi, nil
}
