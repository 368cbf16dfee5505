package main

import (
	"flag"
	"fmt"

	"github.com/arrfile/arrfile/queue"
)

var pushCmd = &command{
	name: "push",
	args: "[--copy] QUEUE FILE...",
	summary: `move published files into a hand-off queue folder (created if missing)
Each FILE is claimed later by exactly one consumer (arr work, queue.Claim, or
a Python consumer with os.rename and fcntl). --copy keeps the original; a
file on another filesystem is copied and then removed.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		copyFile := fs.Bool("copy", false, "copy each FILE into the queue and keep the original")
		return func(args []string) int {
			if len(args) < 2 {
				return e.usageError("need QUEUE and at least one FILE")
			}
			q, err := queue.Open(args[0], nil)
			if err != nil {
				e.fail(args[0], err)
				return exitError
			}
			status := exitOK
			for _, f := range args[1:] {
				dst, err := q.Push(f, *copyFile)
				if err != nil {
					e.fail(f, err)
					status = exitError
					continue
				}
				fmt.Fprintln(e.stdout, dst)
			}
			return status
		}
	},
}
