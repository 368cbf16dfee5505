package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/arrfile/arrfile/queue"
)

var workCmd = &command{
	name: "work",
	args: "[--jobs N] [--exit-when-empty] [--retries 3] QUEUE -- CMD [ARG...]",
	summary: `claim files from a queue one at a time and run CMD on each
"{}" in CMD's arguments is replaced by the claimed file's path (it is appended
when no argument has "{}"). Exit status 0 marks the file done (removed); any
other status returns it to the queue, and a file that failed more than
--retries times is moved aside into QUEUE/.failed. Killing the worker, even
with SIGKILL, returns its claimed files to the queue (and kills CMD on Linux).
Without --exit-when-empty the worker waits for new files until interrupted.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		jobs := fs.Int("jobs", 1, "run `N` commands at once")
		exitEmpty := fs.Bool("exit-when-empty", false, "exit when nothing is pending or claimed")
		retries := fs.Int("retries", 3, "retries of a failed file before it is moved aside")
		return func(args []string) int {
			if len(args) < 2 {
				return e.usageError("need QUEUE and a command after --")
			}
			if *jobs < 1 || *retries < 0 {
				return e.usageError("--jobs must be at least 1 and --retries not negative")
			}
			return e.work(args[0], args[1:], *jobs, *retries, *exitEmpty)
		}
	},
}

func (e *env) work(dir string, argv []string, jobs, retries int, exitEmpty bool) int {
	q, err := queue.Open(dir, nil)
	if err != nil {
		e.fail(dir, err)
		return exitError
	}
	defer q.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var mu sync.Mutex
	// The commands of all jobs write to the same outputs: through one lock
	// unless they are files, which the commands get as their own.
	out, errOut := e.stdout, e.stderr
	if _, ok := out.(*os.File); !ok {
		out = &lockedWriter{mu: &mu, w: out}
	}
	if _, ok := errOut.(*os.File); !ok {
		errOut = &lockedWriter{mu: &mu, w: errOut}
	}
	status := exitOK
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := e.next(ctx, q, exitEmpty)
				if err != nil {
					if !errors.Is(err, context.Canceled) && !errors.Is(err, queue.ErrEmpty) {
						mu.Lock()
						e.fail(dir, err)
						status = exitError
						mu.Unlock()
					}
					return
				}
				if err := e.runOn(ctx, c, argv, retries, out, errOut); err != nil {
					mu.Lock()
					e.fail(c.Name(), err)
					status = exitError
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return status
}

// next claims a file: waiting for one, or with exitEmpty returning
// queue.ErrEmpty once nothing is pending or claimed by anyone.
func (e *env) next(ctx context.Context, q *queue.Queue, exitEmpty bool) (*queue.Claim, error) {
	if !exitEmpty {
		return q.Claim(ctx)
	}
	for {
		q.Reclaim()
		c, err := q.TryClaim()
		if !errors.Is(err, queue.ErrEmpty) {
			return c, err
		}
		st, err := q.Status()
		if err != nil {
			return nil, err
		}
		if len(st.Pending) == 0 && len(st.Claimed) == 0 {
			return nil, queue.ErrEmpty
		}
		// Others hold claims that may come back: wait for a change.
		wctx, cancel := context.WithTimeout(ctx, waitStep)
		c, err = q.Claim(wctx)
		cancel()
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			return c, err
		}
	}
}

// runOn runs the command on a claimed file and finishes the claim by its
// exit status.
func (e *env) runOn(ctx context.Context, c *queue.Claim, argv []string, retries int, stdout, stderr io.Writer) error {
	args := make([]string, 0, len(argv)+1)
	replaced := false
	for _, a := range argv {
		if strings.Contains(a, "{}") {
			replaced = true
		}
		args = append(args, strings.ReplaceAll(a, "{}", c.Path()))
	}
	if !replaced {
		args = append(args, c.Path())
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	childDiesWithParent(cmd)
	err := cmd.Run()
	if ctx.Err() != nil {
		return c.Return(false) // interrupted: not the file's fault
	}
	if err == nil {
		return c.Done()
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		c.Return(false)
		return fmt.Errorf("running %s: %w", args[0], err)
	}
	if c.Tries() >= retries {
		fmt.Fprintf(stderr, "arr: %s: %s failed (%v) %d times; moved to %s\n", c.Name(), args[0], err, c.Tries()+1, queue.FailedDir)
		return c.Fail()
	}
	return c.Return(true)
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
