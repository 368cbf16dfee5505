package main

import (
	"os"
	"strconv"
	"strings"
)

// processPSS returns the proportional set size of process pid in bytes
// (the Pss line of /proc/PID/smaps_rollup: each shared page counts
// 1/sharers), or 0 when it cannot be read.
func processPSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}
