package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// arrayHandle is one array that a command works on: a .npy file mapped
// through mmfile, or an array read from standard input.
type arrayHandle struct {
	label    string // how errors and output name it
	format   string // "npy"
	header   *npy.Header
	fileSize int64 // -1 when unknown
	trailing int64 // bytes after the data section
	// do runs fn with the data section: random access through r and, as
	// data, the whole section in memory (mapped or read). Faults in a
	// mapping (the file truncated by another process) come back as errors.
	do    func(fn func(r io.ReaderAt, data []byte) error) error
	close func() error
}

// openArrays opens FILE as the commands accept it. "-" reads an .npy stream
// from standard input.
func openArrays(name string) ([]*arrayHandle, error) {
	if name == "-" {
		data, h, err := npy.ReadAll(stdin)
		if err != nil {
			return nil, err
		}
		return []*arrayHandle{{
			label: "-", format: "npy", header: h, fileSize: -1,
			do: func(fn func(io.ReaderAt, []byte) error) error {
				return fn(bytes.NewReader(data), data)
			},
			close: func() error { return nil },
		}}, nil
	}
	a, err := mmfile.Open(name, mmfile.ReadOnly, nil)
	if err != nil {
		return nil, err
	}
	h := a.Header()
	return []*arrayHandle{{
		label: name, format: "npy", header: h,
		fileSize: h.DataOffset + h.DataSize() + a.Trailing(),
		trailing: a.Trailing(),
		do: func(fn func(io.ReaderAt, []byte) error) error {
			return a.Do(func(data []byte) error {
				return fn(bytes.NewReader(data), data)
			})
		},
		close: onceCloser(a.Close),
	}}, nil
}

// openHeader reads only what info needs. For standard input it reads the
// header and leaves the data unread.
func openHeader(name string) ([]*arrayHandle, error) {
	if name == "-" {
		h, err := npy.ReadHeader(stdin)
		if err != nil {
			return nil, err
		}
		return []*arrayHandle{{
			label: "-", format: "npy", header: h, fileSize: -1,
			do: func(func(io.ReaderAt, []byte) error) error {
				return fmt.Errorf("standard input: data not read")
			},
			close: func() error { return nil },
		}}, nil
	}
	return openArrays(name)
}

// onceCloser makes a close function safe to call more than once; later
// calls return nil.
func onceCloser(f func() error) func() error {
	done := false
	return func() error {
		if done {
			return nil
		}
		done = true
		return f()
	}
}

// closeAll closes handles, returning the first error.
func closeAll(hs []*arrayHandle) error {
	var first error
	for _, h := range hs {
		if err := h.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
