//go:build !linux

package mmfile

import (
	"errors"
	"fmt"
)

// errUnsupported is the cause of what this operating system cannot do
// (Linux can do everything); it matches errors.ErrUnsupported.
var errUnsupported = fmt.Errorf("mmfile: %w on this operating system", errors.ErrUnsupported)
