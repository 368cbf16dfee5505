//go:build !linux

package main

import (
	"os/exec"
	"time"
)

const waitStep = 200 * time.Millisecond

func childDiesWithParent(cmd *exec.Cmd) {}
