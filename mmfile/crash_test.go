//go:build linux

package mmfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/npy"
)

func init() {
	// producer PATH N STOP: create an array of N float64, fill it with
	// 3*i, publish it; at stage STOP ("created", "half", "published",
	// "never") print the stage and wait for stdin (the parent kills it).
	helpers["producer"] = func(args []string) error {
		path, stop := args[0], args[2]
		n, _ := strconv.Atoi(args[1])
		pause := func(stage string) {
			if stage == stop {
				fmt.Println(stage)
				readStdinLine()
			}
		}
		a, err := Create(path, f8(n), nil)
		if err != nil {
			return err
		}
		pause("created")
		s, err := Slice[float64](a)
		if err != nil {
			return err
		}
		for i := range s {
			s[i] = 3 * float64(i)
			if i == n/2 {
				pause("half")
			}
		}
		if err := a.Publish(); err != nil {
			return err
		}
		pause("published")
		return a.Close()
	}
	// writer KIND PATH N: write an array of N float64 (3*i) to PATH with
	// Write (KIND "write") or through atomicfile as the compressed formats
	// and the arr command do (KIND "atomicfile"), print "writing" midway
	// and wait for stdin (the parent kills it).
	helpers["writer"] = func(args []string) error {
		kind, path := args[0], args[1]
		n, _ := strconv.Atoi(args[2])
		data := make([]float64, n)
		for i := range data {
			data[i] = 3 * float64(i)
		}
		pause := func() {
			fmt.Println("writing")
			readStdinLine()
		}
		switch kind {
		case "write":
			writeHook = pause
			return Write(path, data, nil, nil)
		case "atomicfile":
			f, err := atomicfile.Create(path, 0)
			if err != nil {
				return err
			}
			if _, err := f.Write(npy.Bytes(data[:n/2])); err != nil {
				return err
			}
			pause()
			return atomicfile.Publish(f, path, false)
		}
		return fmt.Errorf("unknown writer %q", kind)
	}
	// consumer PATH N: wait for PATH to appear, open it at once, and check
	// every value is 3*i.
	helpers["consumer"] = func(args []string) error {
		path := args[0]
		n, _ := strconv.Atoi(args[1])
		fmt.Println("waiting")
		deadline := time.Now().Add(20 * time.Second)
		for {
			a, err := Open(path, ReadOnly, nil)
			if errors.Is(err, os.ErrNotExist) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
				continue
			}
			if err != nil {
				return err
			}
			s, err := Slice[float64](a)
			if err != nil {
				return err
			}
			if len(s) != n {
				return fmt.Errorf("length %d, want %d", len(s), n)
			}
			for i, v := range s {
				if v != 3*float64(i) {
					return fmt.Errorf("element %d is %v, want %v", i, v, 3*float64(i))
				}
			}
			fmt.Println("ok")
			return a.Close()
		}
	}
}

// TestProducerConsumerProcesses: a consumer process polls for the name and
// opens it the moment it appears; a producer process creates, fills and
// publishes. The consumer sees every value: never a half-written array.
func TestProducerConsumerProcesses(t *testing.T) {
	dir := shmDir(t)
	for round := range 3 {
		path := filepath.Join(dir, fmt.Sprintf("p%d.npy", round))
		const n = 1 << 18
		c := startHelper(t, "consumer", path, strconv.Itoa(n))
		c.Expect(t, "waiting")
		runHelper(t, "producer", path, strconv.Itoa(n), "never")
		c.Expect(t, "ok")
		c.Wait(t)
	}
}

// TestProducerKilled kills a producer with SIGKILL at each stage: before
// publishing, nothing exists under the name and the temporary file is
// listed (live while the producer runs, stale after) and removed by
// RemoveStale; after publishing, the complete array is there.
func TestProducerKilled(t *testing.T) {
	for _, stage := range []string{"created", "half", "published"} {
		t.Run(stage, func(t *testing.T) {
			dir := shmDir(t)
			path := filepath.Join(dir, "k.npy")
			const n = 100000
			c := startHelper(t, "producer", path, strconv.Itoa(n), stage)
			c.Expect(t, stage)

			entries, err := List(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1)
			if stage != "published" {
				assert.True(t, entries[0].Temp)
				assert.True(t, entries[0].Live, "a running producer's temporary must be live")
				removed, err := RemoveStale(dir, 0)
				require.NoError(t, err)
				assert.Empty(t, removed, "RemoveStale removed a live producer's file")
			}

			require.NoError(t, c.Cmd.Process.Kill())
			c.Cmd.Wait()

			if stage == "published" {
				got, _, err := npy.ReadFile[float64](path)
				require.NoError(t, err)
				for i, v := range got {
					require.Equal(t, 3*float64(i), v)
				}
				return
			}
			_, err = os.Stat(path)
			assert.ErrorIs(t, err, os.ErrNotExist)
			entries, err = List(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1)
			e := entries[0]
			assert.True(t, e.Temp)
			assert.False(t, e.Live)
			assert.Equal(t, "k.npy", e.Target)
			require.NotNil(t, e.Header, "header is written at create: %v", e.Err)
			assert.Equal(t, []int{n}, e.Header.Shape)

			removed, err := RemoveStale(dir, time.Hour)
			require.NoError(t, err)
			assert.Empty(t, removed, "younger than the age limit")
			removed, err = RemoveStale(dir, 0)
			require.NoError(t, err)
			assert.Equal(t, []string{e.Path}, removed)
			assertEmpty(t, dir)
		})
	}
}

// TestWriterKilled kills a producer process with SIGKILL in the middle of
// each way of writing a file (Write, and atomicfile as codec's writers and
// arr convert use it; Create is TestProducerKilled): its temporary file is
// listed as live while it runs and left alone by RemoveStale, and once the
// process is dead it is stale and RemoveStale removes it. Every writer's
// temporary file is recognised (npy.WriteFile's own ".NAME.tmp-*" files
// were not).
func TestWriterKilled(t *testing.T) {
	for _, kind := range []string{"write", "atomicfile"} {
		t.Run(kind, func(t *testing.T) {
			for dirName, dir := range map[string]string{"tmpfs": shmDir(t), "disk": t.TempDir()} {
				path := filepath.Join(dir, "w.npy")
				c := startHelper(t, "writer", kind, path, "100000")
				c.Expect(t, "writing")

				entries, err := List(dir)
				require.NoError(t, err)
				require.Len(t, entries, 1, dirName)
				e := entries[0]
				assert.True(t, e.Temp, dirName)
				assert.Equal(t, "w.npy", e.Target, dirName)
				assert.True(t, e.Live, "%s: a running producer's temporary must be live", dirName)
				removed, err := RemoveStale(dir, 0)
				require.NoError(t, err)
				assert.Empty(t, removed, "%s: RemoveStale removed a live producer's file", dirName)

				require.NoError(t, c.Cmd.Process.Kill())
				c.Cmd.Wait()

				_, err = os.Stat(path)
				assert.ErrorIs(t, err, os.ErrNotExist, dirName)
				entries, err = List(dir)
				require.NoError(t, err)
				require.Len(t, entries, 1, dirName)
				assert.False(t, entries[0].Live, dirName)
				removed, err = RemoveStale(dir, 0)
				require.NoError(t, err)
				assert.Equal(t, []string{e.Path}, removed, dirName)
				assertEmpty(t, dir)
			}
		})
	}
}

// syncLog records the durability calls of Publish and Write.
type syncLog struct{ calls []string }

func (l *syncLog) install(t *testing.T) {
	restore(t)
	syncFile = func(f *os.File) error { l.calls = append(l.calls, "fsync file"); return f.Sync() }
	atomicfile.TestHookSync = syncFile
	dir := atomicfile.TestHookSyncDir
	atomicfile.TestHookSyncDir = func(d string) error { l.calls = append(l.calls, "fsync dir"); return dir(d) }
	atomicfile.TestHookRename = func(a, b string) error { l.calls = append(l.calls, "rename"); return os.Rename(a, b) }
}

// restore puts the fault-injection hooks back at the end of the test.
func restore(t *testing.T) {
	sync, syncDir, rename := atomicfile.TestHookSync, atomicfile.TestHookSyncDir, atomicfile.TestHookRename
	t.Cleanup(func() {
		syncFile = (*os.File).Sync
		atomicfile.TestHookSync, atomicfile.TestHookSyncDir, atomicfile.TestHookRename = sync, syncDir, rename
	})
}

// TestDurabilityOrder: on disk, publishing fsyncs the file before the
// rename and the folder after it; on tmpfs and with NoSync it only renames.
func TestDurabilityOrder(t *testing.T) {
	disk := t.TempDir()
	if isMemoryDir(disk) {
		t.Skip("the test's temporary folder is in memory; need a disk-backed one")
	}
	var l syncLog
	l.install(t)
	want := []string{"fsync file", "rename", "fsync dir"}

	a, err := Create(filepath.Join(disk, "d.npy"), f8(10), nil)
	require.NoError(t, err)
	require.NoError(t, a.Publish())
	require.NoError(t, a.Close())
	assert.Equal(t, want, l.calls)

	l.calls = nil
	require.NoError(t, Write(filepath.Join(disk, "w.npy"), []int32{1, 2}, nil, nil))
	assert.Equal(t, want, l.calls)

	l.calls = nil
	require.NoError(t, Write(filepath.Join(disk, "n.npy"), []int32{1, 2}, nil, &CreateOptions{NoSync: true}))
	assert.Equal(t, []string{"rename"}, l.calls)

	l.calls = nil
	a, err = Create(filepath.Join(disk, "s.npy"), f8(10), nil)
	require.NoError(t, err)
	require.NoError(t, a.Sync())
	assert.Equal(t, []string{"fsync file"}, l.calls)
	require.NoError(t, a.Close())

	if dirWritable("/dev/shm") {
		l.calls = nil
		require.NoError(t, Write(tempPath(t, "m.npy"), []int32{1, 2}, nil, nil))
		assert.Equal(t, []string{"rename"}, l.calls, "tmpfs needs no fsync")
	}
}

func isMemoryDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	return atomicfile.InMemory(f)
}

// TestInjectedIOErrors: an fsync or rename error fails Publish and Write,
// leaves the existing file of that name unchanged, and leaves no temporary
// file once the array is closed.
func TestInjectedIOErrors(t *testing.T) {
	disk := t.TempDir()
	if isMemoryDir(disk) {
		t.Skip("the test's temporary folder is in memory; need a disk-backed one")
	}
	path := filepath.Join(disk, "x.npy")
	require.NoError(t, Write(path, []float64{1, 1, 1}, nil, nil))
	restore(t)
	check := func(what string) {
		t.Helper()
		got, _, err := npy.ReadFile[float64](path)
		require.NoError(t, err, what)
		assert.Equal(t, []float64{1, 1, 1}, got, what)
		des, _ := os.ReadDir(disk)
		assert.Len(t, des, 1, what)
	}

	atomicfile.TestHookSync = func(*os.File) error { return syscall.EIO }
	a, err := Create(path, f8(5), nil)
	require.NoError(t, err)
	assert.ErrorIs(t, a.Publish(), syscall.EIO)
	assert.ErrorIs(t, a.Publish(), syscall.EIO, "still unpublished: Publish can be tried again")
	require.NoError(t, a.Close())
	check("fsync error in Publish")
	assert.ErrorIs(t, Write(path, []float64{2}, nil, nil), syscall.EIO)
	check("fsync error in Write")
	atomicfile.TestHookSync = (*os.File).Sync

	atomicfile.TestHookRename = func(string, string) error { return syscall.EIO }
	a, err = Create(path, f8(5), nil)
	require.NoError(t, err)
	assert.ErrorIs(t, a.Publish(), syscall.EIO)
	require.NoError(t, a.Close())
	check("rename error in Publish")
	assert.ErrorIs(t, Write(path, []float64{2}, nil, nil), syscall.EIO)
	check("rename error in Write")
	atomicfile.TestHookRename = os.Rename

	// A folder fsync error comes after the rename: the new file is in place
	// but the caller learns it may not survive a power loss.
	atomicfile.TestHookSyncDir = func(string) error { return syscall.EIO }
	assert.ErrorIs(t, Write(path, []float64{2}, nil, nil), syscall.EIO)
	got, _, err := npy.ReadFile[float64](path)
	require.NoError(t, err)
	assert.Equal(t, []float64{2}, got)
}
