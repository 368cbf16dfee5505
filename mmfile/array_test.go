//go:build linux

package mmfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/npy"
)

func TestCreatePublishOpen(t *testing.T) {
	dir := shmDir(t)
	path := filepath.Join(dir, "a.npy")
	a, err := Create(path, f8(2, 3), nil)
	require.NoError(t, err)
	assert.NoFileExists(t, path)
	s, err := Slice[float64](a)
	require.NoError(t, err)
	require.Len(t, s, 6)
	for i := range s {
		assert.Zero(t, s[i], "Create must start zeroed")
		s[i] = float64(i) + 0.5
	}

	// Not visible under its name before Publish; listed as a live temporary.
	_, err = Open(path, ReadOnly, nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	entries, err := List(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.True(t, entries[0].Temp)
	assert.Equal(t, "a.npy", entries[0].Target)
	assert.Equal(t, runtime.GOOS == "linux", entries[0].Live)

	require.NoError(t, a.Publish())
	assert.FileExists(t, path)
	assert.ErrorIs(t, a.Publish(), ErrPublished)

	for _, mode := range []Mode{ReadOnly, ReadWrite, CopyOnWrite} {
		b, err := Open(path, mode, nil)
		require.NoError(t, err, mode)
		got, err := Slice[float64](b)
		require.NoError(t, err)
		assert.Equal(t, []float64{0.5, 1.5, 2.5, 3.5, 4.5, 5.5}, got, mode)
		assert.Equal(t, []int{2, 3}, b.Header().Shape)
		assert.Equal(t, []int{24, 8}, b.Header().Strides())
		assert.EqualValues(t, 6, b.Header().NumElements())
		require.NoError(t, b.Close())
	}

	// The producer keeps its mapping after Publish; a ReadWrite consumer's
	// writes are seen by the producer and by new readers, a CopyOnWrite
	// consumer's are not.
	rw, err := Open(path, ReadWrite, nil)
	require.NoError(t, err)
	cow, err := Open(path, CopyOnWrite, nil)
	require.NoError(t, err)
	rws, _ := Slice[float64](rw)
	cows, _ := Slice[float64](cow)
	cows[0] = -1
	rws[1] = 42
	assert.Equal(t, 42.0, s[1])
	assert.Equal(t, 0.5, s[0])
	require.NoError(t, rw.Sync())
	require.NoError(t, cow.Close())
	require.NoError(t, rw.Close())
	require.NoError(t, a.Close())

	got, _, err := npy.ReadFile[float64](path)
	require.NoError(t, err)
	assert.Equal(t, []float64{0.5, 42, 2.5, 3.5, 4.5, 5.5}, got)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), fi.Mode().Perm())
}

func TestAbandonRemovesTemp(t *testing.T) {
	dir := shmDir(t)
	a, err := Create(filepath.Join(dir, "x.npy"), f8(1000), nil)
	require.NoError(t, err)
	require.NoError(t, a.Close())
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, des, "abandoned array left files behind")
	assert.ErrorIs(t, a.Close(), fs.ErrClosed)
}

func TestCreateErrors(t *testing.T) {
	dir := shmDir(t)
	_, err := Create(filepath.Join(dir, "x.npy"), &npy.Header{Shape: []int{3}}, nil)
	assert.ErrorIs(t, err, npy.ErrBadDType)
	_, err = Create(filepath.Join(dir, "x.npy"), f8(-1), nil)
	assert.ErrorIs(t, err, npy.ErrBadShape)
	_, err = Create(filepath.Join(dir, "x.npy"), f8(1<<40, 1<<40), nil)
	assert.ErrorIs(t, err, npy.ErrBadShape)
	_, err = Create(filepath.Join(dir, "missing", "x.npy"), f8(3), nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "missing")
	des, _ := os.ReadDir(dir)
	assert.Empty(t, des)
}

func TestOpenValidation(t *testing.T) {
	dir := shmDir(t)
	path := filepath.Join(dir, "a.npy")
	makeArray(t, path, 100, func(i int) float64 { return float64(i) })
	full, err := os.ReadFile(path)
	require.NoError(t, err)

	// One byte short: refused in every mode, and the file is not extended.
	short := filepath.Join(dir, "short.npy")
	require.NoError(t, os.WriteFile(short, full[:len(full)-1], 0o644))
	for _, mode := range []Mode{ReadOnly, ReadWrite, CopyOnWrite} {
		_, err := Open(short, mode, nil)
		assert.ErrorIs(t, err, npy.ErrTruncated, mode)
		assert.Contains(t, err.Error(), short)
		fi, err := os.Stat(short)
		require.NoError(t, err)
		assert.EqualValues(t, len(full)-1, fi.Size(), "Open changed the size of a short file")
	}

	// Declared size far beyond the file: error before mapping anything.
	huge := filepath.Join(dir, "huge.npy")
	hb, err := npy.AppendHeader(nil, f8(1_000_000_000_000))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(huge, hb, 0o644))
	_, err = Open(huge, ReadOnly, nil)
	assert.ErrorIs(t, err, npy.ErrTruncated)

	// Trailing bytes: accepted (not mapped), or refused with Strict.
	trail := filepath.Join(dir, "trail.npy")
	require.NoError(t, os.WriteFile(trail, append(bytes.Clone(full), 1, 2, 3), 0o644))
	a, err := Open(trail, ReadOnly, nil)
	require.NoError(t, err)
	b, _ := a.Bytes()
	assert.Len(t, b, 800)
	require.NoError(t, a.Close())
	_, err = Open(trail, ReadOnly, &Options{Strict: true})
	assert.ErrorIs(t, err, npy.ErrTrailingData)

	// Not .npy at all, a header over the cap, a folder, a FIFO, nothing.
	bad := filepath.Join(dir, "bad.npy")
	require.NoError(t, os.WriteFile(bad, []byte("hello, world, this is not an array"), 0o644))
	_, err = Open(bad, ReadOnly, nil)
	assert.ErrorIs(t, err, npy.ErrBadMagic)
	_, err = Open(path, ReadOnly, &Options{MaxHeaderSize: 16})
	assert.ErrorIs(t, err, npy.ErrHeaderTooLarge)
	_, err = Open(dir, ReadOnly, nil)
	assert.ErrorContains(t, err, "not a regular file")
	fifo := filepath.Join(dir, "fifo.npy")
	require.NoError(t, unix.Mkfifo(fifo, 0o644))
	_, err = Open(fifo, ReadOnly, nil)
	assert.ErrorContains(t, err, "not a regular file")
	_, err = Open(filepath.Join(dir, "nothing.npy"), ReadOnly, nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = Open(path, Mode(7), nil)
	assert.Error(t, err)
}

func TestEmptyAndZeroDim(t *testing.T) {
	dir := shmDir(t)
	for _, shape := range [][]int{{0}, {0, 5}, {}} {
		path := filepath.Join(dir, "e.npy")
		a, err := Create(path, f8(shape...), nil)
		require.NoError(t, err, shape)
		require.NoError(t, a.Publish())
		require.NoError(t, a.Close())
		b, err := Open(path, ReadOnly, nil)
		require.NoError(t, err)
		s, err := Slice[float64](b)
		require.NoError(t, err)
		assert.EqualValues(t, b.Header().NumElements(), len(s))
		require.NoError(t, b.Close())
	}
}

func TestUseAfterClose(t *testing.T) {
	path := tempPath(t, "a.npy")
	a, err := Create(path, f8(8), nil)
	require.NoError(t, err)
	require.NoError(t, a.Close())
	_, err = a.Bytes()
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = Slice[float64](a)
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = a.ReadAt(make([]byte, 8), 0)
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = a.WriteAt(make([]byte, 8), 0)
	assert.ErrorIs(t, err, fs.ErrClosed)
	assert.ErrorIs(t, a.Do(func([]byte) error { return nil }), fs.ErrClosed)
	assert.ErrorIs(t, a.Publish(), fs.ErrClosed)
	assert.ErrorIs(t, a.Sync(), fs.ErrClosed)
	assert.ErrorIs(t, errOf(a.Lock(true, true)), fs.ErrClosed)
	assert.ErrorIs(t, errOf(a.LockRange(0, 8, false, true)), fs.ErrClosed)
	assert.ErrorIs(t, a.Advise(AdviceRandom, 0, a.Header().DataSize()), fs.ErrClosed)
	assert.ErrorIs(t, a.Prefault(), fs.ErrClosed)
	_, err = a.Pin()
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = a.File()
	assert.ErrorIs(t, err, fs.ErrClosed)
	assert.ErrorIs(t, a.Close(), fs.ErrClosed)
	// Metadata stays available.
	assert.Equal(t, []int{8}, a.Header().Shape)
}

// TestPinDefersUnmap closes an array while many goroutines read it through
// raw slices under Pin, with garbage collections in between: nothing
// crashes, the mapping stays until the last pin is released, and it is gone
// afterwards.
func TestPinDefersUnmap(t *testing.T) {
	path := tempPath(t, "pinned.npy")
	makeArray(t, path, 1<<14, func(i int) float64 { return 1 })
	a, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	base := mappedCount(t, path)
	require.Equal(t, 1, base)

	const workers = 16
	var started, wg sync.WaitGroup
	release := make(chan struct{})
	started.Add(workers)
	sums := make([]float64, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unpin, err := a.Pin()
			started.Done()
			if err != nil {
				t.Error(err)
				return
			}
			defer unpin()
			s, err := Slice[float64](a)
			if err != nil {
				t.Error(err)
				return
			}
			<-release
			for range 20 {
				runtime.GC()
				var sum float64
				for _, v := range s {
					sum += v
				}
				sums[w] = sum
			}
		}()
	}
	started.Wait()
	require.NoError(t, a.Close())
	// Closed for new users, still mapped for the pinned ones.
	_, err = Slice[float64](a)
	assert.ErrorIs(t, err, fs.ErrClosed)
	assert.Equal(t, 1, mappedCount(t, path))
	close(release)
	wg.Wait()
	for _, s := range sums {
		assert.Equal(t, float64(1<<14), s)
	}
	assert.Equal(t, 0, mappedCount(t, path), "mapping not released after the last unpin")
}

func TestNoLeaks(t *testing.T) {
	dir := shmDir(t)
	path := filepath.Join(dir, "leak.npy")
	before := fdCount(t)
	for i := range 50 {
		a, err := Create(path, f8(100), nil)
		require.NoError(t, err)
		if i%2 == 0 {
			require.NoError(t, a.Publish())
		}
		require.NoError(t, a.Close())
		require.NoError(t, Write(path, []float64{1, 2, 3}, nil, nil))
		for _, mode := range []Mode{ReadOnly, ReadWrite, CopyOnWrite} {
			b, err := Open(path, mode, nil)
			require.NoError(t, err)
			require.NoError(t, b.Close())
		}
		_, err = Open(filepath.Join(dir, "missing.npy"), ReadOnly, nil)
		require.Error(t, err)
	}
	assert.Equal(t, before, fdCount(t), "file descriptors leaked")
	assert.Equal(t, 0, mappedCount(t, dir), "mappings leaked")
	des, _ := os.ReadDir(dir)
	assert.Len(t, des, 1)
}

func TestSliceChecks(t *testing.T) {
	dir := shmDir(t)
	path := filepath.Join(dir, "a.npy")
	makeArray(t, path, 4, func(i int) float64 { return float64(i) })
	a, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	defer a.Close()
	_, err = Slice[int64](a)
	assert.ErrorIs(t, err, npy.ErrTypeMismatch)
	assert.Contains(t, err.Error(), path)
	_, err = Slice[float32](a)
	assert.ErrorIs(t, err, npy.ErrTypeMismatch)

	// Big-endian data: no zero-copy view.
	be := filepath.Join(dir, "be.npy")
	h := &npy.Header{DType: npy.DTypeOf[float64]().WithOrder('>'), Shape: []int{2}}
	require.NoError(t, Write(be, make([]byte, 16), h, nil))
	b, err := Open(be, ReadOnly, nil)
	require.NoError(t, err)
	_, err = Slice[float64](b)
	assert.ErrorIs(t, err, npy.ErrByteOrder)
	require.NoError(t, b.Close())

	// A legal but unaligned data offset (header padded to 75 bytes).
	un := filepath.Join(dir, "unaligned.npy")
	dict := "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"
	hdr := []byte(npy.Magic + "\x01\x00")
	hlen := 75 - 10
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(hlen))
	hdr = append(hdr, dict...)
	hdr = append(hdr, strings.Repeat(" ", hlen-len(dict)-1)+"\n"...)
	require.NoError(t, os.WriteFile(un, append(hdr, make([]byte, 16)...), 0o644))
	c, err := Open(un, ReadOnly, nil)
	require.NoError(t, err)
	_, err = Slice[float64](c)
	assert.ErrorIs(t, err, npy.ErrAlignment)
	_, err = Slice[uint8](c)
	assert.ErrorIs(t, err, npy.ErrTypeMismatch)
	buf := make([]byte, 16)
	_, err = c.ReadAt(buf, 0)
	require.NoError(t, err, "ReadAt works on unaligned data")
	require.NoError(t, c.Close())
}

func TestIndex(t *testing.T) {
	dir := shmDir(t)
	for _, fortran := range []bool{false, true} {
		path := filepath.Join(dir, "i.npy")
		a, err := Create(path, &npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{2, 3, 4}, FortranOrder: fortran}, nil)
		require.NoError(t, err)
		s, err := Slice[int32](a)
		require.NoError(t, err)
		for i := range 2 {
			for j := range 3 {
				for k := range 4 {
					s[index(a.Header(), i, j, k)] = int32(100*i + 10*j + k)
				}
			}
		}
		if fortran {
			assert.Equal(t, []int{4, 8, 24}, a.Header().Strides())
			assert.Equal(t, 1+2*2+3*6, index(a.Header(), 1, 2, 3))
		} else {
			assert.Equal(t, []int{48, 16, 4}, a.Header().Strides())
			assert.Equal(t, 1*12+2*4+3, index(a.Header(), 1, 2, 3))
		}
		assert.Equal(t, int32(123), s[index(a.Header(), 1, 2, 3)])
		assert.Equal(t, fortran, a.Header().FortranOrder)
		require.NoError(t, a.Close())
	}
}

func TestWriteFunctions(t *testing.T) {
	dir := shmDir(t)
	path := filepath.Join(dir, "w.npy")
	data := []int16{1, -2, 3, -4, 5, -6}
	require.NoError(t, Write(path, data, &npy.Header{Shape: []int{2, 3}}, nil))
	got, h, err := npy.ReadFile[int16](path)
	require.NoError(t, err)
	assert.Equal(t, data, got)
	assert.Equal(t, []int{2, 3}, h.Shape)

	// A failed write leaves the existing file untouched and no temporary.
	err = Write(path, data, &npy.Header{Shape: []int{4, 3}}, nil)
	assert.ErrorIs(t, err, npy.ErrSize)
	got, _, err = npy.ReadFile[int16](path)
	require.NoError(t, err)
	assert.Equal(t, data, got)

	// Copying an npy stream (Create, Do, Publish; see ExampleCreate_stream): a
	// truncated one publishes nothing.
	var buf bytes.Buffer
	require.NoError(t, npy.Write(&buf, []float32{1.5, 2.5, 3.5}))
	from := filepath.Join(dir, "from.npy")
	require.NoError(t, writeFrom(from, bytes.NewReader(buf.Bytes()), nil))
	f32, _, err := npy.ReadFile[float32](from)
	require.NoError(t, err)
	assert.Equal(t, []float32{1.5, 2.5, 3.5}, f32)
	cut := filepath.Join(dir, "cut.npy")
	err = writeFrom(cut, bytes.NewReader(buf.Bytes()[:buf.Len()-1]), nil)
	assert.ErrorIs(t, err, npy.ErrTruncated)
	_, err = os.Stat(cut)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	err = writeFrom(cut, strings.NewReader("garbage"), nil)
	assert.ErrorIs(t, err, npy.ErrBadMagic)

	des, _ := os.ReadDir(dir)
	assert.Len(t, des, 2, "temporary files left behind")
}

// TestUnlinkWhileMapped: removing a mapped array's name keeps existing
// mappings working; new opens get fs.ErrNotExist.
func TestUnlinkWhileMapped(t *testing.T) {
	path := tempPath(t, "u.npy")
	makeArray(t, path, 1000, func(i int) float64 { return float64(i) })
	a, err := Open(path, ReadWrite, nil)
	require.NoError(t, err)
	require.NoError(t, Remove(path))
	_, err = Open(path, ReadOnly, nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	s, err := Slice[float64](a)
	require.NoError(t, err)
	assert.Equal(t, 999.0, s[999])
	s[0] = 7
	assert.Equal(t, 7.0, s[0])
	assert.ErrorIs(t, Remove(path), fs.ErrNotExist)
	require.NoError(t, a.Close())
}

// TestReplaceWhileMapped: publishing a new array under a name that readers
// have mapped leaves them on the old, complete data.
func TestReplaceWhileMapped(t *testing.T) {
	path := tempPath(t, "r.npy")
	makeArray(t, path, 1000, func(i int) float64 { return 1 })
	old, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	makeArray(t, path, 2000, func(i int) float64 { return 2 })
	require.NoError(t, Write(path, []float64{3, 3, 3}, nil, nil))
	s, _ := Slice[float64](old)
	require.Len(t, s, 1000)
	for _, v := range s {
		require.Equal(t, 1.0, v)
	}
	require.NoError(t, old.Close())
	got, _, err := npy.ReadFile[float64](path)
	require.NoError(t, err)
	assert.Equal(t, []float64{3, 3, 3}, got)
}

func TestDefaultDir(t *testing.T) {
	t.Setenv(envDir, "/some/where")
	assert.Equal(t, "/some/where", DefaultDir())
	assert.Equal(t, "/some/where/x.npy", filepath.Join(DefaultDir(), "x.npy"))
	t.Setenv(envDir, "")
	if dirWritable("/dev/shm") {
		assert.Equal(t, "/dev/shm", DefaultDir())
	} else {
		assert.Equal(t, os.TempDir(), DefaultDir())
	}
}

func TestReadAtWriteAt(t *testing.T) {
	path := tempPath(t, "rw.npy")
	require.NoError(t, Write(path, []uint8{0, 1, 2, 3, 4, 5, 6, 7}, nil, nil))
	a, err := Open(path, ReadWrite, nil)
	require.NoError(t, err)
	defer a.Close()
	var r io.ReaderAt = a
	buf := make([]byte, 4)
	n, err := r.ReadAt(buf, 6)
	assert.Equal(t, 2, n)
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, []byte{6, 7}, buf[:n])
	_, err = a.ReadAt(buf, 8)
	assert.ErrorIs(t, err, io.EOF)
	_, err = a.ReadAt(buf, -1)
	assert.Error(t, err)
	n, err = a.WriteAt([]byte{9, 9}, 3)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = a.WriteAt([]byte{9, 9}, 7)
	assert.Error(t, err)
	n, _ = a.ReadAt(buf, 2)
	assert.Equal(t, []byte{2, 9, 9, 5}, buf[:n])

	ro, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	_, err = ro.WriteAt([]byte{1}, 0)
	assert.ErrorIs(t, err, fs.ErrPermission)
	require.NoError(t, ro.Close())
}

func TestDoPassesOtherPanics(t *testing.T) {
	path := tempPath(t, "p.npy")
	makeArray(t, path, 10, func(i int) float64 { return 0 })
	a, err := Open(path, ReadOnly, nil)
	require.NoError(t, err)
	defer a.Close()
	assert.PanicsWithValue(t, "boom", func() {
		a.Do(func([]byte) error { panic("boom") })
	})
	var np *int
	assert.Panics(t, func() {
		a.Do(func([]byte) error { return errors.New(string(rune(*np))) })
	})
	want := errors.New("mine")
	assert.Equal(t, want, a.Do(func([]byte) error { return want }))
	// The guard is off again after Do.
	assert.False(t, debugPanicOnFault())
}

func TestAdviseAndPopulate(t *testing.T) {
	path := tempPath(t, "adv.npy")
	makeArray(t, path, 100000, func(i int) float64 { return float64(i) })
	for _, pop := range []PopulateMode{PopulateNone, PopulateDefault, PopulateMap, PopulateAdvise} {
		for _, mode := range []Mode{ReadOnly, ReadWrite, CopyOnWrite} {
			a, err := Open(path, mode, &Options{Populate: pop, Advice: AdviceSequential})
			require.NoError(t, err)
			s, err := Slice[float64](a)
			require.NoError(t, err)
			assert.Equal(t, 99999.0, s[99999])
			for _, adv := range []Advice{AdviceNormal, AdviceRandom, AdviceWillNeed, AdviceSequential} {
				require.NoError(t, a.Advise(adv, 0, a.Header().DataSize()))
			}
			require.NoError(t, a.Advise(AdviceWillNeed, 100, 5000))
			require.Error(t, a.Advise(AdviceWillNeed, 100, 1<<40))
			require.NoError(t, a.Prefault())
			require.NoError(t, a.Close())
		}
	}
	// DontNeed on a shared mapping drops page-table entries, not data.
	a, err := Open(path, ReadWrite, nil)
	require.NoError(t, err)
	s, _ := Slice[float64](a)
	s[5] = -5
	require.NoError(t, a.Advise(AdviceDontNeed, 0, a.Header().DataSize()))
	assert.Equal(t, -5.0, s[5])
	require.NoError(t, a.Close())
	assert.Error(t, madvise(nil, Advice(99)))
}

func TestCreatePopulated(t *testing.T) {
	path := tempPath(t, "cp.npy")
	a, err := Create(path, f8(1<<16), &CreateOptions{Populate: PopulateDefault})
	require.NoError(t, err)
	s, err := Slice[float64](a)
	require.NoError(t, err)
	s[len(s)-1] = 1
	require.NoError(t, a.Publish())
	require.NoError(t, a.Close())
	got, _, err := npy.ReadFile[float64](path)
	require.NoError(t, err)
	assert.Equal(t, 1.0, got[len(got)-1])

}
