package mmfile

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

// checkSplit checks the invariants of split's answer for units rows of
// unitBytes bytes whose data start at file offset start: contiguous
// non-empty ranges covering every row, at most k of them, byte ranges that
// follow the rows, and page-aligned boundaries whenever a page-aligned row
// exists.
func checkSplit(t *testing.T, rs []Range, units int, unitBytes, start, page int64, k int) {
	t.Helper()
	require.NotEmpty(t, rs)
	assert.LessOrEqual(t, len(rs), k)
	assert.Equal(t, 0, rs[0].Start)
	assert.Equal(t, units, rs[len(rs)-1].End)
	alignable := false
	for b := int64(0); b < page && b < int64(units); b++ {
		if (start+b*unitBytes)%page == 0 {
			alignable = true
		}
	}
	for i, r := range rs {
		assert.Less(t, r.Start, r.End, "range %d is empty", i)
		if i > 0 {
			assert.Equal(t, rs[i-1].End, r.Start, "range %d does not follow range %d", i, i-1)
			if alignable {
				assert.Zero(t, (start+r.Off)%page, "boundary before range %d (row %d) is not on a page", i, r.Start)
			}
		}
		assert.Equal(t, int64(r.Start)*unitBytes, r.Off)
		assert.Equal(t, int64(r.End-r.Start)*unitBytes, r.Len)
	}
}

func TestSplitInvariants(t *testing.T) {
	f8 := npy.DTypeOf[float64]()
	for _, page := range []int64{1, 64, 4096, 65536} {
		for _, off := range []int64{64, 128, 4096} {
			for _, shape := range [][]int{{1}, {7}, {1000}, {4096}, {100000}, {1 << 20}, {333, 3}, {5000, 512}, {100, 4096}, {3, 1 << 16}} {
				for _, k := range []int{1, 2, 3, 4, 8, 1000} {
					h := &npy.Header{DType: f8, Shape: shape, DataOffset: off}
					name := fmt.Sprintf("page=%d/off=%d/shape=%v/k=%d", page, off, shape, k)
					rs, err := split(h, k, 0, page)
					require.NoError(t, err, name)
					unitBytes := h.DataSize() / int64(shape[0])
					checkSplit(t, rs, shape[0], unitBytes, off, page, k)
					if page == 1 {
						assert.Len(t, rs, min(k, shape[0]), "%s: without pages every worker gets a range", name)
					}
				}
			}
		}
	}
}

func TestSplitBalanced(t *testing.T) {
	// 1 MiB of float64 after a 128-byte header, 4 KiB pages: 4 ranges of
	// a quarter each, within one page of rows.
	h := &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{1 << 17}, DataOffset: 128}
	rs, err := split(h, 4, 0, 4096)
	require.NoError(t, err)
	require.Len(t, rs, 4)
	for i, r := range rs {
		assert.InDelta(t, 1<<15, r.End-r.Start, 512)
		if i > 0 {
			assert.Zero(t, (128+r.Off)%4096)
		}
	}
	// Rows not divisible by k, no page constraint: lengths differ by one.
	rs, err = split(&npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{10}}, 4, 0, 1)
	require.NoError(t, err)
	assert.Equal(t, []Range{{0, 2, 0, 8}, {2, 5, 8, 12}, {5, 7, 20, 8}, {7, 10, 28, 12}}, rs)
}

func TestSplitEdges(t *testing.T) {
	f8 := npy.DTypeOf[float64]()
	t.Run("more workers than rows", func(t *testing.T) {
		rs, err := split(&npy.Header{DType: f8, Shape: []int{3, 1024}, DataOffset: 128}, 8, 0, 4096)
		require.NoError(t, err)
		// Rows of 8 KiB after a 128-byte header never start on a page:
		// one range per row, neighbours share a page.
		assert.Equal(t, []Range{{0, 1, 0, 8192}, {1, 2, 8192, 8192}, {2, 3, 16384, 8192}}, rs)
	})
	t.Run("tiny array", func(t *testing.T) {
		rs, err := split(&npy.Header{DType: f8, Shape: []int{100}, DataOffset: 128}, 4, 0, 4096)
		require.NoError(t, err)
		assert.Equal(t, []Range{{0, 100, 0, 800}}, rs, "an array inside one page is one range")
	})
	t.Run("0-d", func(t *testing.T) {
		rs, err := split(&npy.Header{DType: f8, DataOffset: 128}, 4, 0, 4096)
		require.NoError(t, err)
		assert.Equal(t, []Range{{0, 1, 0, 8}}, rs)
	})
	t.Run("no elements", func(t *testing.T) {
		for _, shape := range [][]int{{0}, {0, 5}, {5, 0}} {
			rs, err := split(&npy.Header{DType: f8, Shape: shape, DataOffset: 128}, 4, 0, 4096)
			require.NoError(t, err)
			assert.Empty(t, rs, "%v", shape)
		}
	})
	t.Run("Fortran order splits the last axis", func(t *testing.T) {
		h := &npy.Header{DType: f8, Shape: []int{4, 10}, FortranOrder: true, DataOffset: 128}
		rs, err := split(h, 2, 0, 1)
		require.NoError(t, err)
		assert.Equal(t, []Range{{0, 5, 0, 160}, {5, 10, 160, 160}}, rs, "columns of 4 elements")
		rs, err = split(&npy.Header{DType: f8, Shape: []int{512, 64}, FortranOrder: true, DataOffset: 128}, 4, 0, 4096)
		require.NoError(t, err)
		checkSplit(t, rs, 64, 512*8, 128, 4096, 4)
	})
	t.Run("section offset", func(t *testing.T) {
		h := &npy.Header{DType: f8, Shape: []int{1 << 14}, DataOffset: 128}
		rs, err := split(h, 2, 1000, 4096)
		require.NoError(t, err)
		checkSplit(t, rs, 1<<14, 8, 1128, 4096, 2)
	})
	t.Run("bad arguments", func(t *testing.T) {
		_, err := Split(&npy.Header{DType: f8, Shape: []int{4}}, 0)
		assert.ErrorIs(t, err, errBadSplit)
		assert.ErrorContains(t, err, "0 workers")
		_, err = Split(nil, 2)
		assert.ErrorIs(t, err, errBadSplit)
		_, err = Split(&npy.Header{DType: f8, Shape: []int{-1}}, 2)
		assert.ErrorIs(t, err, errBadSplit)
	})
}

// TestSplitSection: for an array embedded at a file offset, a header whose
// DataOffset includes the offset moves the boundaries onto the file's pages.
func TestSplitSection(t *testing.T) {
	f8 := npy.DTypeOf[float64]()
	h := &npy.Header{DType: f8, Shape: []int{1 << 16}, DataOffset: 128}
	page := int64(os.Getpagesize())
	plain, err := Split(h, 4)
	require.NoError(t, err)
	sh := *h
	sh.DataOffset += 1000 // the array starts 1000 bytes into its file
	rs, err := Split(&sh, 4)
	require.NoError(t, err)
	require.Len(t, rs, 4)
	assert.NotEqual(t, plain, rs)
	for _, r := range rs[1:] {
		assert.Zero(t, (sh.DataOffset+r.Off)%page, "boundary %d on a page of the file", r.Off)
	}
}
