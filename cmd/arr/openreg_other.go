//go:build !unix

package main

import "os"

// openNoBlock opens path for reading; outside Unix no FIFO can be renamed
// onto a name, so a plain open does not block.
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }
