//go:build !linux

package queue

import (
	"os"
	"strings"
)

const haveLocks = false

func lockFile(f *os.File) (bool, error) { return true, nil }

func isCrossDevice(err error) bool {
	return err != nil && strings.Contains(err.Error(), "cross-device")
}

type fileID struct{}

func idOf(fi os.FileInfo) fileID { return fileID{} }

func openers(dir string) map[fileID][]int { return nil }
