package queue

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pushFile(t testing.TB, q *Queue, name, content string) {
	t.Helper()
	src := filepath.Join(filepath.Dir(q.Dir()), name)
	require.NoError(t, os.WriteFile(src, []byte(content), 0o644))
	_, err := q.Push(src, false)
	require.NoError(t, err)
	assert.NoFileExists(t, src, "moved")
}

func TestPushClaimDone(t *testing.T) {
	root := shmDir(t)
	q, err := Open(filepath.Join(root, "q"), nil)
	require.NoError(t, err)
	defer q.Close()
	assert.True(t, IsQueue(q.Dir()))
	assert.False(t, IsQueue(root))

	_, err = q.TryClaim()
	assert.ErrorIs(t, err, ErrEmpty)
	pushFile(t, q, "a.npy", "A")
	pushFile(t, q, "b.npy", "B")

	// --copy keeps the original; a name in the queue is refused.
	src := filepath.Join(root, "a.npy")
	require.NoError(t, os.WriteFile(src, []byte("A2"), 0o644))
	_, err = q.Push(src, true)
	assert.ErrorIs(t, err, ErrExists)
	require.NoError(t, os.Rename(src, filepath.Join(root, "c.npy")))
	dst, err := q.Push(filepath.Join(root, "c.npy"), true)
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "c.npy"))
	assert.Equal(t, filepath.Join(q.Dir(), "c.npy"), dst)
	_, err = q.Push(filepath.Join(root, ".hidden"), false)
	assert.ErrorIs(t, err, ErrBadName)

	c, err := q.TryClaim()
	require.NoError(t, err)
	assert.Equal(t, "a.npy", c.Name())
	b, err := os.ReadFile(c.Path())
	require.NoError(t, err)
	assert.Equal(t, "A", string(b))
	_, err = q.Push(filepath.Join(root, "c.npy"), true)
	assert.ErrorIs(t, err, ErrExists, "c.npy is pending")

	st, err := q.Status()
	require.NoError(t, err)
	assert.Equal(t, []string{"b.npy", "c.npy"}, st.Pending)
	require.Len(t, st.Claimed, 1)
	assert.Equal(t, "a.npy", st.Claimed[0].Name)
	assert.Equal(t, []int{os.Getpid()}, st.Claimed[0].Pids)

	// A live claim is not reclaimed.
	n, err := q.Reclaim()
	require.NoError(t, err)
	assert.Zero(t, n)
	require.NoError(t, c.Done())
	assert.ErrorIs(t, c.Done(), ErrFinished)
	assert.NoFileExists(t, c.Path())

	// Return counts tries; Fail moves aside.
	c, err = q.TryClaim()
	require.NoError(t, err)
	assert.Equal(t, "b.npy", c.Name())
	assert.Zero(t, c.Tries())
	require.NoError(t, c.Return(true))
	c, err = q.TryClaim()
	require.NoError(t, err)
	assert.Equal(t, "b.npy", c.Name())
	assert.Equal(t, 1, c.Tries())
	require.NoError(t, c.Fail())
	st, err = q.Status()
	require.NoError(t, err)
	assert.Equal(t, []string{"b.npy"}, st.Failed)
	assert.Equal(t, []string{"c.npy"}, st.Pending)
	assert.Empty(t, st.Claimed)
}

// TestClaimWaits: Claim wakes on a push (inotify) and returns at the
// context's deadline when nothing comes.
func TestClaimWaits(t *testing.T) {
	root := shmDir(t)
	q, err := Open(filepath.Join(root, "q"), &Options{ReclaimInterval: time.Hour})
	require.NoError(t, err)
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = q.Claim(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	got := make(chan *Claim)
	for range 3 {
		go func() {
			c, err := q.Claim(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- c
		}()
	}
	time.Sleep(20 * time.Millisecond)
	for i := range 3 {
		pushFile(t, q, "x"+strconv.Itoa(i), "x")
	}
	var names []string
	for range 3 {
		select {
		case c := <-got:
			names = append(names, c.Name())
			require.NoError(t, c.Done())
		case <-time.After(30 * time.Second):
			t.Fatal("a waiting Claim was not woken by a push (reclaim interval is an hour: no polling)")
		}
	}
	sort.Strings(names)
	assert.Equal(t, []string{"x0", "x1", "x2"}, names)
}

// TestExactlyOnceInProcess: many goroutines claiming at once get every
// file exactly once.
func TestExactlyOnceInProcess(t *testing.T) {
	root := shmDir(t)
	q, err := Open(filepath.Join(root, "q"), nil)
	require.NoError(t, err)
	defer q.Close()
	const n = 200
	for i := range n {
		pushFile(t, q, "f"+strconv.Itoa(i), strconv.Itoa(i))
	}
	res := make(chan string, n)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for {
				c, err := q.TryClaim()
				if errors.Is(err, ErrEmpty) {
					errs <- nil
					return
				}
				if err != nil {
					errs <- err
					return
				}
				res <- c.Name()
				if err := c.Done(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	close(res)
	seen := map[string]int{}
	for name := range res {
		seen[name]++
	}
	assert.Len(t, seen, n)
	for name, k := range seen {
		assert.Equal(t, 1, k, name)
	}
}
