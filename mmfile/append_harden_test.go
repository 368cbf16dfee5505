//go:build linux

package mmfile

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

// Tests of an Appender with unlucky neighbours (issue 9): readers opening
// during appends, a name republished or removed under it, a full tmpfs.

func init() {
	// appendloop PATH MAX: append rows of 4 float64, row i holding i in
	// every element, one row per Append, until stdin closes or MAX rows;
	// print "ready" first and the number of rows appended last.
	helpers["appendloop"] = func(args []string) error {
		limit, _ := strconv.Atoi(args[1])
		ap, err := OpenAppender(args[0], nil)
		if err != nil {
			return err
		}
		defer ap.Close()
		var stop atomic.Bool
		go func() {
			readStdinLine()
			stop.Store(true)
		}()
		fmt.Println("ready")
		n := ap.Header().Shape[0]
		row := make([]float64, 4)
		for ; n < limit && !stop.Load(); n++ {
			for i := range row {
				row[i] = float64(n)
			}
			if err := Append(ap, row); err != nil {
				return err
			}
		}
		fmt.Println(n)
		return nil
	}
	// appendcmd PATH: open PATH for appending; for each line on stdin
	// append one row of 2 float64 and print "ok", "replaced" (ErrReplaced)
	// or the error.
	helpers["appendcmd"] = func(args []string) error {
		ap, err := OpenAppender(args[0], nil)
		if err != nil {
			return err
		}
		defer ap.Close()
		fmt.Println("ready")
		for {
			if _, err := readStdinLine(); err != nil {
				return nil
			}
			switch err := Append(ap, []float64{1, 2}); {
			case err == nil:
				fmt.Println("ok")
			case errors.Is(err, ErrReplaced):
				fmt.Println("replaced")
			default:
				fmt.Println(err)
			}
		}
	}
	// appendfull DIR: append 2 MiB of rows to an empty array in DIR (a
	// 1 MiB tmpfs) and print "space-error FOLDER" for a *SpaceError, or
	// the error.
	helpers["appendfull"] = func(args []string) error {
		ap, err := createAppender(filepath.Join(args[0], "a.npy"), npy.DTypeOf[float64](), []int{1024}, nil)
		if err != nil {
			return err
		}
		defer ap.Close()
		err = Append(ap, make([]float64, 256*1024))
		var se *SpaceError
		switch {
		case errors.As(err, &se) && errors.Is(err, syscall.ENOSPC):
			fmt.Println("space-error", se.Dir)
		case err == nil:
			fmt.Println("appended")
		default:
			fmt.Println(err)
		}
		return nil
	}
}

// TestOpenWhileAppending (finding 2): while another process appends rows
// as fast as it can, Open and OpenAppender never fail (no false "truncated
// file"), and every open sees a shape whose rows hold what was appended
// (row i holds i), never a shape from a torn header.
func TestOpenWhileAppending(t *testing.T) {
	path := tempPath(t, "stream.npy")
	ap, err := createAppender(path, npy.DTypeOf[float64](), []int{4}, nil)
	require.NoError(t, err)
	require.NoError(t, ap.Close())
	c := startHelper(t, "appendloop", path, "200000")
	c.Expect(t, "ready")
	var fails, wrong, grew int
	var firstErr error
	last := -1
	for i := range 4000 {
		var n int
		if i%4 == 3 {
			ap, err := OpenAppender(path, nil)
			if err != nil {
				fails++
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			n = ap.Header().Shape[0]
			ap.Close()
		} else {
			a, err := Open(path, ReadOnly, nil)
			if err != nil {
				fails++
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			n = a.Header().Shape[0]
			s, err := Slice[float64](a)
			require.NoError(t, err)
			require.Len(t, s, 4*n)
			for _, r := range []int{n - 1, n / 2} {
				if r >= 0 && r < n && (s[4*r] != float64(r) || s[4*r+3] != float64(r)) {
					wrong++
				}
			}
			a.Close()
		}
		if n > last {
			grew++
			last = n
		}
	}
	c.Send(t, "stop")
	line, err := c.ReadLine()
	require.NoError(t, err)
	c.Wait(t)
	t.Logf("4000 opens while %s rows were appended: %d failed, %d wrong, %d saw a longer array", line, fails, wrong, grew)
	assert.Zero(t, fails, "opens failed; first: %v", firstErr)
	assert.Zero(t, wrong, "opens saw rows that do not match the shape")
	assert.Greater(t, grew, 10, "the appends did not overlap the opens")
}

// TestAppenderReplaced (finding 6): an Appender in another process fails
// with ErrReplaced once its file is replaced under the name or removed,
// instead of appending rows nobody sees; the new file is untouched.
func TestAppenderReplaced(t *testing.T) {
	path := tempPath(t, "rows.npy")
	require.NoError(t, Write(path, []float64{}, f8(0, 2), nil))
	c := startHelper(t, "appendcmd", path)
	c.Expect(t, "ready")
	c.Send(t, "append")
	c.Expect(t, "ok")
	require.NoError(t, Write(path, []float64{7, 7, 8, 8}, f8(2, 2), nil)) // another producer republishes
	c.Send(t, "append")
	c.Expect(t, "replaced")
	c.Send(t, "append")
	c.Expect(t, "replaced")
	c.Wait(t)
	got, h, err := npy.ReadFile[float64](path)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 2}, h.Shape)
	assert.Equal(t, []float64{7, 7, 8, 8}, got)

	c = startHelper(t, "appendcmd", path)
	c.Expect(t, "ready")
	c.Send(t, "append")
	c.Expect(t, "ok")
	require.NoError(t, os.Remove(path))
	c.Send(t, "append")
	c.Expect(t, "replaced")
	c.Wait(t)
	assert.NoFileExists(t, path)
}

// TestAppendNoSpace (finding 10): an Append in another process that runs
// out of room on a small tmpfs fails with a *SpaceError naming the folder,
// as Create and Write do, and leaves the file as it was.
func TestAppendNoSpace(t *testing.T) {
	dir := smallTmpfs(t)
	out := runHelper(t, "appendfull", dir)
	assert.Equal(t, "space-error "+dir+"\n", out)
	fi, err := os.Stat(filepath.Join(dir, "a.npy"))
	require.NoError(t, err)
	assert.EqualValues(t, 128, fi.Size(), "the failed append left the file as it was")
}
