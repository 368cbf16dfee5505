//go:build linux

package store

import (
	"fmt"
	"io/fs"
	"os"
	osexec "os/exec"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/mmfile"
)

// A goroutine that pinned the Array (mmfile.Array.Pin) still reads it
// after another goroutine's Release; before parking the reference stayed
// until the unpin (the descriptor closes then). With parking the
// reference is dropped at Release and the file is recycled under the
// pinned reader.
func TestParkPinnedNotParked(t *testing.T) {
	dir := shmDir(t)
	s, p := parkPair(t, dir)
	const n = 128 << 10
	putChecked(t, s, "a", n, 1)
	r := getChecked(t, p, "a")
	unpin, err := r.Array().Pin()
	require.NoError(t, err)
	defer unpin()
	v, err := mmfile.Slice[uint64](r.Array())
	require.NoError(t, err)
	require.NoError(t, r.Release()) // the pinned reader goes on reading v
	require.NoError(t, s.Delete("a"))
	s.judging.Wait()
	assert.False(t, createRecycled(t, s, "b", n, 2), "a pinned mapping is still in use")
	assert.Equal(t, first(1), v[0], "the pinned reader's data changed under it")
}

// A dup of a parked descriptor carries its park mark (an OFD lock belongs
// to the open file description): a mapping through it looks parked.
func TestParkMarkDup(t *testing.T) {
	dir := shmDir(t)
	s, p := parkPair(t, dir)
	const n = 128 << 10
	putChecked(t, s, "a", n, 1)
	fi, err := os.Stat(s.Path("a"))
	require.NoError(t, err)
	r := getChecked(t, p, "a")
	f, err := r.Array().File()
	require.NoError(t, err)
	fd2, err := unix.Dup(int(f.Fd()))
	require.NoError(t, err)
	defer unix.Close(fd2)
	m, err := unix.Mmap(fd2, 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED) // a reader of its own
	require.NoError(t, err)
	defer unix.Munmap(m)
	before := string(m[128:136])
	require.NoError(t, r.Release())
	require.NoError(t, s.Delete("a"))
	s.judging.Wait()
	assert.False(t, createRecycled(t, s, "b", n, 2), "another mapping, through a dup, reads the file")
	assert.Equal(t, before, string(m[128:136]), "the reader's data changed under it")
}

// The same across processes: a child that got the parked descriptor
// (exec.Cmd.ExtraFiles, as File's doc suggests; SCM_RIGHTS is alike) and
// mapped it, as Python's mmap.mmap(3, 0) does (it dups fd 3), then closed
// fd 3.
func TestParkMarkInherited(t *testing.T) {
	dir := shmDir(t)
	s, p := parkPair(t, dir)
	const n = 128 << 10
	putChecked(t, s, "a", n, 1)
	r := getChecked(t, p, "a")
	f, err := r.Array().File()
	require.NoError(t, err)
	script := `import mmap, os, sys, struct
m = mmap.mmap(3, 0, prot=mmap.PROT_READ)
os.close(3)
print("mapped", flush=True)
sys.stdin.readline()
print(struct.unpack_from("<Q", m, 128)[0], flush=True)
`
	cmd := osexec.Command("python3", "-c", script)
	cmd.ExtraFiles = []*os.File{f}
	ch := startCmd(t, cmd)
	ch.Expect(t, "mapped")
	require.NoError(t, r.Release())
	require.NoError(t, s.Delete("a"))
	s.judging.Wait()
	rec := createRecycled(t, s, "b", n, 2)
	ch.In.Write([]byte("\n"))
	ch.Expect(t, strconv.FormatUint(first(1), 10)) // what the child read was replaced if rec
	assert.False(t, rec, "a child maps the file through the passed descriptor")
}

// A Store that deletes (a consumer that deletes what it read) but never
// creates keeps a verdict per deleted file forever.
func TestVerdictsPruned(t *testing.T) {
	dir := shmDir(t)
	s, err := Open(dir, &Options{RecycleMin: 1 << 40}) // producer: never recycles
	require.NoError(t, err)
	defer s.Close()
	p, err := Open(dir, &Options{ParkFiles: 4})
	require.NoError(t, err)
	defer p.Close()
	d, err := Open(dir, &Options{RecycleMin: 4096, ParkFiles: 4}) // the deleter (parking: it looks)
	require.NoError(t, err)
	defer d.Close()
	const n = 128 << 10
	ok := 0
	for i := range 40 {
		k := "k" + strconv.Itoa(i)
		putChecked(t, s, k, n, uint64(i))
		r := getChecked(t, p, k)
		require.NoError(t, r.Release())
		require.NoError(t, d.Delete(k))
		d.judging.Wait()
		if i < 20 {
			require.Empty(t, d.verdicts, "a Store that never created does not look")
		}
		if i == 20 {
			w, err := d.Create("x", u8(1)) // from here on d creates too: it looks
			require.NoError(t, err)
			require.NoError(t, w.Abort())
		}
		for _, v := range d.verdicts {
			if v.ok {
				ok++
			}
		}
	}
	t.Logf("favourable verdicts seen: %d; pool %d files", ok, len(d.poolFiles()))
	assert.LessOrEqual(t, len(d.verdicts), len(d.poolFiles()), "verdicts of files long gone from the pool")
	assert.Positive(t, ok, "a Store that creates looks")
}

// A pooled file gains an opener after the background look (anyone may
// open .arrpool/NAME.npy; here a plain mmfile.Open): the favourable
// verdict is trusted at Create without a new look.
func TestVerdictSpoiltByOpen(t *testing.T) {
	dir := shmDir(t)
	s, p := parkPair(t, dir)
	const n = 128 << 10
	putChecked(t, s, "a", n, 1)
	r := getChecked(t, p, "a")
	require.NoError(t, r.Release())
	require.NoError(t, s.Delete("a"))
	s.judging.Wait()
	pool := s.poolFiles()
	require.Len(t, pool, 1)
	v := s.verdictOf(pool[0])
	require.True(t, v != nil && v.ok, "the look found only the parker")
	a, err := mmfile.Open(pool[0].path, mmfile.ReadOnly, nil) // a reader after the look
	require.NoError(t, err)
	defer a.Close()
	x, err := mmfile.Slice[uint64](a)
	require.NoError(t, err)
	assert.False(t, createRecycled(t, s, "b", n, 2), "a reader opened the pooled file after the look")
	assert.Equal(t, first(1), x[0], "the reader's data changed under it")
}

// A producer that does not park keeps the strict rule: no pooled file
// another process has open is recycled, parked mappings included (one
// process's parking must not lower another's safety).
func TestNonParkingProducerStrict(t *testing.T) {
	dir := shmDir(t)
	s, err := Open(dir, &Options{RecycleMin: 4096})
	require.NoError(t, err)
	defer s.Close()
	const n = 128 << 10
	putChecked(t, s, "a", n, 1)
	ch := parkedHelper(t, dir)
	require.NoError(t, s.Delete("a"))
	s.judging.Wait()
	assert.Empty(t, s.verdicts, "a Store that does not park does not look")
	assert.False(t, createRecycled(t, s, "b", n, 2), "a parked mapping in another process blocks a non-parking producer")
	ch.In.Close()
	require.NoError(t, ch.Cmd.Wait())
	assert.True(t, createRecycled(t, s, "c", n, 3), "reused once the parker is gone")
}

// A reader that maps a pooled file through another path into the same
// filesystem (a bind mount of the store folder) is seen: descriptors are
// matched by device and inode on every mount of the store's filesystem,
// not by the store folder's path.
func TestParkReaderThroughBindMount(t *testing.T) {
	dir := smallTmpfs(t, "16m")
	bind := t.TempDir()
	if err := unix.Mount(dir, bind, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(bind, unix.MNT_DETACH) })
	s := parkingProducer(t, dir)
	const n = 128 << 10
	putChecked(t, s, "a", n, 1)
	parkedHelper(t, dir) // a parker in another process, alive until the test ends
	other := startHelper(t, "park", dir, "0")
	fmt.Fprintln(other.In, "open", bind+"/a.npy") // a reader about to map it
	other.Expect(t, "opened")
	require.NoError(t, s.Delete("a"))
	s.judging.Wait()
	assert.False(t, createRecycled(t, s, "b", n, 2), "a reader has the file open through the bind mount")
	other.In.Close()
	require.NoError(t, other.Cmd.Wait())
	assert.True(t, createRecycled(t, s, "c", n, 3), "reused once only the parker is left")
}

// Delete after Close fails with fs.ErrClosed and starts no look.
func TestDeleteAfterClose(t *testing.T) {
	dir := shmDir(t)
	s, err := Open(dir, &Options{RecycleMin: 4096, ParkFiles: 4})
	require.NoError(t, err)
	putChecked(t, s, "a", 128<<10, 1)
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Delete("a"), fs.ErrClosed)
	s.judging.Wait()
	assert.Empty(t, s.verdicts)
}
