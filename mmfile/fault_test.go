//go:build linux

package mmfile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() {
	// truncate PATH SIZE: truncate a file from another process.
	helpers["truncate"] = func(args []string) error {
		size, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return err
		}
		return os.Truncate(args[0], size)
	}
	// rawread PATH: map the array, say "ready", wait for a line, then sum
	// the raw slice without the guard (a fault here must crash).
	helpers["rawread"] = func(args []string) error {
		a, err := Open(args[0], ReadOnly, nil)
		if err != nil {
			return err
		}
		s, err := Slice[float64](a)
		if err != nil {
			return err
		}
		fmt.Println("ready")
		if _, err := readStdinLine(); err != nil {
			return err
		}
		var sum float64
		for _, v := range s {
			sum += v
		}
		fmt.Println("sum", sum)
		return nil
	}
}

// TestTruncatedByOtherProcess maps 1 MiB, has another process truncate the
// file to 4 KiB, and reads, copies and writes past the new end through the
// guarded accessors: each returns ErrFileShrunk naming the file, and the
// test process survives.
func TestTruncatedByOtherProcess(t *testing.T) {
	path := tempPath(t, "shrink.npy")
	const n = 1 << 17 // 1 MiB of float64
	makeArray(t, path, n, func(i int) float64 { return 1 })
	ro, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	defer ro.Close()
	rw, err := Open(path, ReadWrite, nil)
	require.NoError(t, err)
	defer rw.Close()
	buf := make([]byte, 64<<10)
	_, err = ro.ReadAt(buf, 512<<10)
	require.NoError(t, err)

	runHelper(t, "truncate", path, "4096")

	_, err = ro.ReadAt(buf, 512<<10)
	require.ErrorIs(t, err, ErrFileShrunk)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "4096 bytes")
	assert.True(t, errors.Is(err, ErrFault))

	err = ro.Do(func(data []byte) error {
		var sum float64
		for i := 0; i < len(data); i += 8 {
			sum += float64(data[i])
		}
		if sum < 0 {
			return errors.New("impossible")
		}
		return nil
	})
	assert.ErrorIs(t, err, ErrFileShrunk)

	err = ro.Do(func(data []byte) error {
		dst := make([]byte, len(data))
		copy(dst, data)
		return nil
	})
	assert.ErrorIs(t, err, ErrFileShrunk)

	_, err = rw.WriteAt(buf, 900<<10)
	assert.ErrorIs(t, err, ErrFileShrunk)
	assert.ErrorIs(t, ro.Prefault(), ErrFileShrunk)

	// The first page is still there.
	n0, err := ro.ReadAt(buf[:1024], 0)
	require.NoError(t, err)
	assert.Equal(t, 1024, n0)
	assert.False(t, debugPanicOnFault())

	// A new Open sees the short file and refuses it.
	_, err = Open(path, ReadOnly, nil)
	assert.Error(t, err)
}

// TestRawSliceFaultCrashes documents the limit of the guard: a raw slice
// read outside Do in a process whose file was truncated kills that process
// with a fault. It runs in a child process.
func TestRawSliceFaultCrashes(t *testing.T) {
	path := tempPath(t, "raw.npy")
	makeArray(t, path, 1<<17, func(i int) float64 { return 1 })
	c := startHelper(t, "rawread", path)
	c.Expect(t, "ready")
	require.NoError(t, os.Truncate(path, 4096))
	c.Send(t, "go")
	err := c.Cmd.Wait()
	var ee *exitError
	require.True(t, errors.As(err, &ee), "child should have crashed, got %v; stderr: %s", err, c.Stderr.String())
	assert.Contains(t, c.Stderr.String(), "unexpected fault address")
}

// TestSectionTruncatedByOtherProcess: a section mapped from inside a file
// (OpenSection) faults like a whole-file mapping when another process
// truncates the file; the error counts data bytes of the section.
func TestSectionTruncatedByOtherProcess(t *testing.T) {
	data := make([]float64, 1<<14) // 128 KiB
	p, off := containerFile(t, 3*4096+64, data, 0)
	a, err := OpenSection(p, off, ReadOnly, &Options{Populate: PopulateNone})
	require.NoError(t, err)
	defer a.Close()
	runHelper(t, "truncate", p, strconv.FormatInt(off+4096, 10))
	k := make([]byte, 8)
	_, err = a.ReadAt(k, int64(len(data)-1)*8)
	require.ErrorIs(t, err, ErrFileShrunk)
	assert.ErrorContains(t, err, fmt.Sprintf("access at data byte %d faulted", (len(data)-1)*8))
	assert.ErrorContains(t, err, fmt.Sprintf("the array needs %d", off+128+int64(len(data))*8))
	_, err = a.ReadAt(k, 0) // still inside the file
	assert.NoError(t, err)
}
