package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/arrfile/arrfile/internal/numprint"
	"github.com/arrfile/arrfile/npy"
)

// wholeArray is the whole array of h whose data section r holds, for
// numprint.
func wholeArray(h *npy.Header, r io.ReaderAt) numprint.Array {
	a := numprint.Array{DType: h.DType, Shape: h.Shape, Data: r}
	for _, s := range h.Strides() {
		a.Strides = append(a.Strides, int64(s))
	}
	return a
}

// errIndex marks a bad --index; the command reports it as a usage error.
var errIndex = errors.New("bad index")

// errOutOfRange is num's report of an integer beyond int64, clamped.
var errOutOfRange = errors.New("integer out of range")

// index applies a Python-style index or slice along the first axis:
// "5", "-1", "10:20", ":3", "::2". An integer removes the axis (a[5]);
// a slice keeps it (a[10:20]).
func index(v numprint.Array, spec string) (numprint.Array, error) {
	if len(v.Shape) == 0 {
		return numprint.Array{}, fmt.Errorf("%w: a 0-d array cannot be indexed", errIndex)
	}
	n := int64(v.Shape[0])
	parts := strings.Split(spec, ":")
	if len(parts) > 3 {
		return numprint.Array{}, fmt.Errorf("%w %q: want I, START:STOP or START:STOP:STEP", errIndex, spec)
	}
	num := func(s string) (int64, bool, error) {
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, false, nil
		}
		x, err := strconv.ParseInt(s, 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			// Python clamps slice bounds to the index range (a sys.maxsize
			// step is as good as a larger one); an integer index that large
			// is out of bounds anyway.
			return x, true, errOutOfRange
		}
		if err != nil {
			return 0, false, fmt.Errorf("%w %q: %q is not an integer", errIndex, spec, s)
		}
		return x, true, nil
	}
	if len(parts) == 1 {
		i, ok, err := num(parts[0])
		if err == errOutOfRange {
			return numprint.Array{}, fmt.Errorf("%w: index %s is out of bounds for axis 0 with size %d", errIndex, strings.TrimSpace(parts[0]), n)
		}
		if err != nil {
			return numprint.Array{}, err
		}
		if !ok {
			return numprint.Array{}, fmt.Errorf("%w: empty index", errIndex)
		}
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return numprint.Array{}, fmt.Errorf("%w: index %s is out of bounds for axis 0 with size %d", errIndex, parts[0], n)
		}
		return numprint.Array{DType: v.DType, Shape: v.Shape[1:], Strides: v.Strides[1:], Offset: v.Offset + i*v.Strides[0], Data: v.Data}, nil
	}
	step := int64(1)
	if len(parts) == 3 {
		s, ok, err := num(parts[2])
		if err != nil && err != errOutOfRange {
			return numprint.Array{}, err
		}
		if ok {
			step = s
		}
		if step == 0 {
			return numprint.Array{}, fmt.Errorf("%w %q: slice step cannot be zero", errIndex, spec)
		}
		if step < -math.MaxInt64 {
			step = -math.MaxInt64 // as PySlice_Unpack, so that -step fits
		}
	}
	start, hasStart, err := num(parts[0])
	if err != nil && err != errOutOfRange {
		return numprint.Array{}, err
	}
	stop, hasStop, err := num(parts[1])
	if err != nil && err != errOutOfRange {
		return numprint.Array{}, err
	}
	// CPython's PySlice_AdjustIndices, which NumPy uses: written so that
	// no step, however large, overflows.
	clamp := func(x int64, lo, hi int64) int64 {
		if x < 0 {
			x += n
			if x < lo {
				x = lo
			}
		} else if x > hi {
			x = hi
		}
		return x
	}
	var lo, hi int64 = 0, n
	if step < 0 {
		lo, hi = -1, n-1
	}
	if hasStart {
		start = clamp(start, lo, hi)
	} else if step < 0 {
		start = n - 1
	} else {
		start = 0
	}
	if hasStop {
		stop = clamp(stop, lo, hi)
	} else if step < 0 {
		stop = -1
	} else {
		stop = n
	}
	var count int64
	if step > 0 && stop > start {
		count = (stop-start-1)/step + 1
	} else if step < 0 && stop < start {
		count = (start-stop-1)/-step + 1
	}
	stride := v.Strides[0]
	if count > 1 { // then |step| < n, and the product fits
		stride *= step
	}
	shape := append([]int{int(count)}, v.Shape[1:]...)
	strides := append([]int64{stride}, v.Strides[1:]...)
	off := v.Offset
	if count > 0 {
		off += start * v.Strides[0]
	}
	return numprint.Array{DType: v.DType, Shape: shape, Strides: strides, Offset: off, Data: v.Data}, nil
}
