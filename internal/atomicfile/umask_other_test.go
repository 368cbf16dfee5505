//go:build !linux

package atomicfile

import "errors"

func umaskOf() (uint32, error) { return 0, errors.New("no umask reader") }

func maskedTmpfileMode(dir string) (uint32, error) { return 0, errors.New("no O_TMPFILE") }
