//go:build linux

package mmfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

func init() {
	// appender PATH ID N: append N rows whose every value is ID.
	helpers["appender"] = func(args []string) error {
		id, _ := strconv.ParseFloat(args[1], 64)
		n, _ := strconv.Atoi(args[2])
		ap, err := OpenAppender(args[0], nil)
		if err != nil {
			return err
		}
		defer ap.Close()
		row := make([]float64, ap.Header().Shape[1])
		for i := range row {
			row[i] = id
		}
		fmt.Println("ready")
		if _, err := readStdinLine(); err != nil {
			return err
		}
		for range n {
			if err := Append(ap, row); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestAppender(t *testing.T) {
	path := tempPath(t, "grow.npy")
	ap, err := createAppender(path, npy.DTypeOf[float64](), []int{3}, nil)
	require.NoError(t, err)
	defer ap.Close()
	h0 := ap.Header()
	want := []float64{}
	for k := range 12 {
		rows := make([]float64, 3*(k+1))
		for i := range rows {
			rows[i] = float64(len(want) + i)
		}
		require.NoError(t, Append(ap, rows))
		want = append(want, rows...)

		got, h, err := npy.ReadFile[float64](path)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		assert.Equal(t, []int{len(want) / 3, 3}, h.Shape)
		assert.Equal(t, h0.DataOffset, h.DataOffset, "the header must keep its size")
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, h.DataOffset+h.DataSize(), fi.Size())
	}
	assert.Equal(t, len(want)/3, ap.Header().Shape[0])

	assert.ErrorIs(t, Append(ap, make([]byte, 7)), npy.ErrSize)
	assert.ErrorIs(t, Append(ap, []int32{1, 2, 3}), npy.ErrTypeMismatch)
	require.NoError(t, Append(ap, []byte(nil)))

	// Bytes left by an interrupted append are replaced by the next one.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	f.Write(bytes.Repeat([]byte{0xff}, 100))
	f.Close()
	require.NoError(t, Append(ap, []float64{-1, -2, -3}))
	got, h, err := npy.ReadFile[float64](path)
	require.NoError(t, err)
	assert.Equal(t, []float64{-1, -2, -3}, got[len(got)-3:])
	fi, _ := os.Stat(path)
	assert.Equal(t, h.DataOffset+h.DataSize(), fi.Size())

	require.NoError(t, ap.Close())
	assert.ErrorIs(t, ap.Close(), fs.ErrClosed)
	assert.ErrorIs(t, Append(ap, make([]byte, 24)), fs.ErrClosed)
}

func TestAppenderFortran(t *testing.T) {
	path := tempPath(t, "f.npy")
	h := &npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{2, 0}, FortranOrder: true}
	require.NoError(t, Write(path, []byte{}, h, nil))
	ap, err := OpenAppender(path, nil)
	require.NoError(t, err)
	defer ap.Close()
	require.NoError(t, Append(ap, []int32{1, 2, 3, 4, 5, 6})) // three columns
	got, gh, err := npy.ReadFile[int32](path)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3}, gh.Shape)
	assert.True(t, gh.FortranOrder)
	assert.Equal(t, []int32{1, 2, 3, 4, 5, 6}, got)
}

func TestAppenderRefuses(t *testing.T) {
	dir := shmDir(t)
	zero := filepath.Join(dir, "zero.npy")
	require.NoError(t, Write(zero, make([]byte, 8), f8(), nil))
	_, err := OpenAppender(zero, nil)
	assert.ErrorIs(t, err, npy.ErrBadShape)
	empty := filepath.Join(dir, "empty.npy")
	require.NoError(t, Write(empty, []byte{}, f8(0, 0), nil))
	_, err = OpenAppender(empty, nil)
	assert.ErrorIs(t, err, npy.ErrBadShape)
	_, err = OpenAppender(filepath.Join(dir, "none.npy"), nil)
	assert.ErrorIs(t, err, os.ErrNotExist)
	short := filepath.Join(dir, "short.npy")
	require.NoError(t, Write(short, []float64{1, 2}, nil, nil))
	require.NoError(t, os.Truncate(short, 130))
	_, err = OpenAppender(short, nil)
	assert.ErrorIs(t, err, npy.ErrTruncated)
}

// legacyHeader builds a v1 header whose padding is exactly pad spaces
// (no NumPy growth padding), for a (rows, 2) float64 array.
func legacyHeader(rows, pad int) []byte {
	dict := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d, 2), }", rows)
	b := []byte(npy.Magic + "\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)+pad+1))
	b = append(b, dict...)
	b = append(b, strings.Repeat(" ", pad)...)
	return append(b, '\n')
}

// TestAppendLegacyHeader: files without NumPy's growth padding can grow
// while the shape still fits the header; beyond that ErrNoHeaderRoom, with
// the file unchanged.
func TestAppendLegacyHeader(t *testing.T) {
	dir := shmDir(t)
	path := filepath.Join(dir, "legacy.npy")
	require.NoError(t, os.WriteFile(path, append(legacyHeader(9, 1), make([]byte, 9*16)...), 0o644))
	ap, err := OpenAppender(path, nil)
	require.NoError(t, err)
	defer ap.Close()
	require.NoError(t, Append(ap, []float64{1, 2})) // 9 -> 10: uses the one spare space
	got, h, err := npy.ReadFile[float64](path)
	require.NoError(t, err)
	assert.Equal(t, []int{10, 2}, h.Shape)
	assert.Equal(t, []float64{1, 2}, got[18:])
	before, _ := os.ReadFile(path)
	for range 90 { // 10 -> 100 needs another byte
		if err = Append(ap, []float64{3, 4}); err != nil {
			break
		}
	}
	assert.ErrorIs(t, err, ErrNoHeaderRoom)
	after, _ := os.ReadFile(path)
	_, h2, err := npy.ReadFile[float64](path)
	require.NoError(t, err)
	assert.Equal(t, []int{99, 2}, h2.Shape)
	assert.Equal(t, before[:10], after[:10])
}

// TestAppendersInProcesses: two processes append rows to the same file at
// the same time; the lock keeps every row whole and every row is kept.
func TestAppendersInProcesses(t *testing.T) {
	path := tempPath(t, "multi.npy")
	ap, err := createAppender(path, npy.DTypeOf[float64](), []int{64}, nil)
	require.NoError(t, err)
	require.NoError(t, ap.Close())
	c1 := startHelper(t, "appender", path, "1", "200")
	c2 := startHelper(t, "appender", path, "2", "200")
	c1.Expect(t, "ready")
	c2.Expect(t, "ready")
	c1.Send(t, "go")
	c2.Send(t, "go")
	c1.Wait(t)
	c2.Wait(t)
	got, h, err := npy.ReadFile[float64](path)
	require.NoError(t, err)
	require.Equal(t, []int{400, 64}, h.Shape)
	count := map[float64]int{}
	for r := range 400 {
		row := got[r*64 : (r+1)*64]
		for _, v := range row {
			require.Equal(t, row[0], v, "row %d is mixed", r)
		}
		count[row[0]]++
	}
	assert.Equal(t, map[float64]int{1: 200, 2: 200}, count)
}

func TestHeaderInPlaceV2(t *testing.T) {
	// A v2 header (forced) also grows in place.
	path := tempPath(t, "v2.npy")
	h := &npy.Header{Version: npy.Version{Major: 2}, DType: npy.DTypeOf[uint8](), Shape: []int{0, 4}}
	require.NoError(t, Write(path, []byte{}, h, nil))
	ap, err := OpenAppender(path, nil)
	require.NoError(t, err)
	defer ap.Close()
	require.NoError(t, Append(ap, []uint8{1, 2, 3, 4, 5, 6, 7, 8}))
	got, gh, err := npy.ReadFile[uint8](path)
	require.NoError(t, err)
	assert.Equal(t, npy.Version{Major: 2}, gh.Version)
	assert.Equal(t, []uint8{1, 2, 3, 4, 5, 6, 7, 8}, got)
}
