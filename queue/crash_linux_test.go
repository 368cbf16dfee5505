//go:build linux

package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/pytest"
)

func init() {
	// claim Q STAGE: claim one file, print its name; stop at STAGE
	// ("claimed": right after the rename; "done": before Done removes it;
	// "working": while holding it) and wait for stdin.
	helpers["claim"] = func(args []string) error {
		q, err := Open(args[0], nil)
		if err != nil {
			return err
		}
		stage := args[1]
		pause := func(s string) {
			if s == stage {
				fmt.Println(s)
				readStdinLine()
			}
		}
		hookClaimed = func(string) { pause("claimed") }
		hookDone = func(string) { pause("done") }
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := q.Claim(ctx)
		if err != nil {
			return err
		}
		fmt.Println(c.Name())
		pause("working")
		return c.Done()
	}
	// consume Q LOG MS: claim files until the queue stays empty for MS
	// milliseconds, appending each name to LOG when done.
	helpers["consume"] = func(args []string) error {
		q, err := Open(args[0], &Options{ReclaimInterval: 20 * time.Millisecond})
		if err != nil {
			return err
		}
		ms, _ := strconv.Atoi(args[2])
		log, err := os.OpenFile(args[1], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
			c, err := q.Claim(ctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				return nil
			}
			if err != nil {
				return err
			}
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			// Logged before Done: a consumer killed between the two logs a
			// name that comes back, so a name may appear twice but never
			// not at all.
			if _, err := fmt.Fprintln(log, c.Name()); err != nil {
				return err
			}
			if err := c.Done(); err != nil {
				return err
			}
		}
	}
}

// TestKilledConsumerReturnsClaim kills a consumer with SIGKILL right after
// its claim's rename, while it works and before Done removes the file: the
// file returns to the queue (its lock vanished) and another consumer gets
// it, with nothing left that gc would not clean.
func TestKilledConsumerReturnsClaim(t *testing.T) {
	for _, stage := range []string{"claimed", "working", "done"} {
		t.Run(stage, func(t *testing.T) {
			root := shmDir(t)
			q, err := Open(filepath.Join(root, "q"), &Options{ReclaimInterval: 20 * time.Millisecond})
			require.NoError(t, err)
			defer q.Close()
			pushFile(t, q, "a.npy", "A")
			ch := startHelper(t, "claim", q.Dir(), stage)
			if stage != "claimed" {
				ch.Expect(t, "a.npy")
			}
			ch.Expect(t, stage)
			st, err := q.Status()
			require.NoError(t, err)
			require.Len(t, st.Claimed, 1)
			assert.Equal(t, []int{ch.Cmd.Process.Pid}, st.Claimed[0].Pids)
			c, err := q.TryClaim()
			assert.ErrorIs(t, err, ErrEmpty, "claimed by the child")
			assert.Nil(t, c)
			n, err := q.Reclaim()
			require.NoError(t, err)
			assert.Zero(t, n, "the child is alive")
			ch.Kill(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err = q.Claim(ctx)
			require.NoError(t, err)
			assert.Equal(t, "a.npy", c.Name())
			b, err := os.ReadFile(c.Path())
			require.NoError(t, err)
			assert.Equal(t, "A", string(b))
			require.NoError(t, c.Done())
			st, err = q.Status()
			require.NoError(t, err)
			assert.Empty(t, st.Pending)
			assert.Empty(t, st.Claimed)
		})
	}
}

// TestQueueSoak pushes files while 8 consumer processes claim them, kills
// consumers at random with SIGKILL and starts new ones, and checks that
// every file was done (none lost) and none is left.
func TestQueueSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak in -short mode")
	}
	root := shmDir(t)
	q, err := Open(filepath.Join(root, "q"), nil)
	require.NoError(t, err)
	defer q.Close()
	log := filepath.Join(root, "done.log")
	const total = 600
	start := func() *child {
		return startHelper(t, "consume", q.Dir(), log, "1500")
	}
	var procs []*child
	for range 8 {
		procs = append(procs, start())
	}
	kills := 0
	for i := range total {
		pushFile(t, q, fmt.Sprintf("f%04d", i), strconv.Itoa(i))
		if i%60 == 59 {
			k := rand.IntN(len(procs))
			procs[k].Kill(t)
			kills++
			procs[k] = start()
		}
		if i%10 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	for _, p := range procs {
		require.NoError(t, p.Cmd.Wait(), p.Stderr.String())
	}
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, name := range strings.Fields(string(b)) {
		seen[name] = true
	}
	assert.Len(t, seen, total, "every file pushed was done")
	st, err := q.Status()
	require.NoError(t, err)
	assert.Empty(t, st.Pending)
	assert.Empty(t, st.Claimed)
	t.Logf("%d files, %d consumers killed, %d log lines", total, kills, len(strings.Fields(string(b))))
}

// pythonConsumer is the protocol of the package doc in Python: os.rename
// and an fcntl open-file-description lock.
const pythonConsumer = `
import fcntl, os, struct, sys
F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)

def claim(q):
    for name in sorted(os.listdir(q)):
        path = os.path.join(q, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:  # exclusive lock on the whole file, without waiting
            fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                raise OSError("claimed by another consumer")
            claimed = os.path.join(q, ".claimed", name)
            os.rename(path, claimed)
            return fd, claimed
        except OSError:
            os.close(fd)
    return None, None

q = sys.argv[1]
while True:
    fd, path = claim(q)
    if fd is None:
        break
    with open(path, "rb") as f:
        print(os.path.basename(path), f.read().decode(), flush=True)
    if os.path.basename(path) == sys.argv[2]:
        sys.stdin.readline()  # hold this one until killed
    os.unlink(path)  # done
    os.close(fd)
`

// TestPythonConsumer: a Python consumer with os.rename and fcntl claims
// files exactly once alongside Go, and its claim returns when it is
// killed.
func TestPythonConsumer(t *testing.T) {
	py := pytest.Require(t)
	root := shmDir(t)
	q, err := Open(filepath.Join(root, "q"), &Options{ReclaimInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	defer q.Close()
	for i := range 5 {
		pushFile(t, q, "p"+strconv.Itoa(i), "v"+strconv.Itoa(i))
	}
	goClaim, err := q.TryClaim() // p0, held by Go while Python runs
	require.NoError(t, err)
	require.Equal(t, "p0", goClaim.Name())
	ch := startCmd(t, osexec.Command(py, "-c", pythonConsumer, q.Dir(), "p3"))
	ch.Expect(t, "p1 v1")
	ch.Expect(t, "p2 v2")
	ch.Expect(t, "p3 v3")
	// Python holds p3: Go cannot take it.
	st, err := q.Status()
	require.NoError(t, err)
	assert.Equal(t, []string{"p4"}, st.Pending)
	n, err := q.Reclaim()
	require.NoError(t, err)
	assert.Zero(t, n)
	ch.Kill(t)
	n, err = q.Reclaim()
	require.NoError(t, err)
	assert.Equal(t, 1, n, "p3 comes back: Python's lock died with it")
	var got []string
	for {
		c, err := q.TryClaim()
		if errors.Is(err, ErrEmpty) {
			break
		}
		require.NoError(t, err)
		got = append(got, c.Name())
		require.NoError(t, c.Done())
	}
	assert.ElementsMatch(t, []string{"p3", "p4"}, got)
	require.NoError(t, goClaim.Done())
}
