package mmfile

import (
	"errors"
	"fmt"
	"os"

	"github.com/arrfile/arrfile/npy"
)

// Range is one worker's share of an array partitioned by Split: the
// indices [Start, End) along the split axis, which are the data bytes
// [Off, Off+Len) (offsets into the data section, as ReadAt, WriteAt and
// LockRange take them). For an array whose elements have type T, a
// worker's elements in Slice[T] are s[Off/size : (Off+Len)/size], with
// size the element size.
type Range struct {
	Start, End int
	Off, Len   int64
}

// Split partitions the array h describes into at most k ranges of whole
// rows for k workers that each write their own range, so that no two
// workers ever write the same element, and, wherever the layout allows it,
// no two workers write the same memory page (pages written by two
// processes at once work, but cost cache-line and page traffic between the
// cores, and on disk a page written back twice).
//
// The array is split along its outermost axis in memory: axis 0 for C
// order, the last axis for Fortran order (the axis an Appender grows); a
// 0-d array is one row. A range boundary falls where a row starts on a page
// boundary of the file (the data starting at h.DataOffset; for an array
// opened with OpenSection(name, off, ...), pass a copy of its header with
// DataOffset increased by off), the boundary nearest
// to an even share: ranges may then differ by up to the least common
// multiple of the row size and the page size. An array too small for k
// page-aligned ranges gets fewer ranges (one if it fits in a page or two);
// the result never holds an empty range. When no row starts on a page
// boundary at all (a row size that is a multiple of the page size with a
// data offset that is not), the boundaries are the rows nearest to even
// shares, and neighbours share one page. An array without elements gives
// no range.
//
// # Done: the protocol for K workers
//
// The parent creates the result (Create, then Publish, so workers can open
// it by name; or CreateAnon and Send) and starts one worker per range. Each
// worker opens the array with Open(name, ReadWrite, nil), writes only its
// range, closes it (or keeps it mapped), and then tells the parent it is
// done with one message: a line on a pipe or socket, or its exit status 0.
// The parent counts: after it has received the K messages (or reaped K
// successful exits) every element is written and visible to it, because a
// shared mapping is the file's page cache itself, and the system call that
// carries each message orders the worker's writes before it. A worker that
// dies before its message is not done: its range may be partly written, so
// give that range to a new worker (writing a range again is harmless).
// Nothing needs to be flushed for other processes to see the data; call
// Sync in the parent once all are done if a disk-backed result must reach
// the disk.
func Split(h *npy.Header, k int) ([]Range, error) {
	return split(h, k, 0, int64(os.Getpagesize()))
}

// errBadSplit is the cause of Split's errors about its arguments.
var errBadSplit = errors.New("mmfile: cannot split")

// split is Split for an array whose .npy starts at file offset base, with
// pages of page bytes.
func split(h *npy.Header, k int, base, page int64) ([]Range, error) {
	switch {
	case h == nil || h.DType == nil:
		return nil, fmt.Errorf("%w: no header or no dtype", errBadSplit)
	case k < 1:
		return nil, fmt.Errorf("%w: %d workers (want at least 1)", errBadSplit, k)
	case page < 1:
		return nil, fmt.Errorf("%w: page size %d", errBadSplit, page)
	}
	// units rows of unitBytes bytes each along the outer axis.
	units, unitBytes := 1, int64(h.DType.Size)
	if n := len(h.Shape); n > 0 {
		outer := 0
		if h.FortranOrder {
			outer = n - 1
		}
		for i, d := range h.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%w: negative dimension in shape %v", errBadSplit, h.Shape)
			}
			if i == outer {
				units = d
			} else {
				unitBytes *= int64(d)
			}
		}
	}
	if units == 0 || unitBytes == 0 {
		return nil, nil
	}
	k = min(k, units)
	start := base + h.DataOffset // file offset of the first data byte
	ideal := func(i int) int { return int(int64(i) * int64(units) / int64(k)) }

	// Rows b start on a page when (start + b*unitBytes) % page == 0; the
	// solutions are first + j*step, if there are any.
	g := gcd(unitBytes%page, page) // gcd(unitBytes, page); gcd(0, page) = page
	want := ((-start)%page + page) % page
	bounds := []int{0}
	if want%g == 0 {
		step := page / g
		first := int64(-1)
		for b := int64(0); b < step; b++ {
			if (b*(unitBytes%page))%page == want {
				first = b
				break
			}
		}
		for i := 1; i < k; i++ {
			x := int64(ideal(i))
			// The aligned rows just below and above the ideal boundary.
			lo := first
			if x >= first {
				lo = first + (x-first)/step*step
			}
			best := lo
			if hi := lo + step; lo < first || hi-x < x-lo {
				best = hi
			}
			if best <= 0 || best >= int64(units) {
				if alt := best - step; alt > 0 && alt < int64(units) {
					best = alt
				} else {
					continue
				}
			}
			if b := int(best); b > bounds[len(bounds)-1] {
				bounds = append(bounds, b)
			}
		}
	} else {
		for i := 1; i < k; i++ {
			bounds = append(bounds, ideal(i))
		}
	}
	bounds = append(bounds, units)
	out := make([]Range, 0, len(bounds)-1)
	for i := 1; i < len(bounds); i++ {
		s, e := bounds[i-1], bounds[i]
		out = append(out, Range{Start: s, End: e, Off: int64(s) * unitBytes, Len: int64(e-s) * unitBytes})
	}
	return out, nil
}

// gcd is the greatest common divisor of a and b (non-negative).
func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
