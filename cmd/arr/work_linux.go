package main

import (
	"os/exec"
	"syscall"
	"time"
)

// waitStep is how long --exit-when-empty waits for claims of others.
const waitStep = 200 * time.Millisecond

// childDiesWithParent makes cmd get SIGKILL when the worker dies, so a
// killed worker leaves no command working on a file that went back to the
// queue.
func childDiesWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
