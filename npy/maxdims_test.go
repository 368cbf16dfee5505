package npy_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/npy"
)

// rawHeader returns a version 1.0 .npy header for a uint8 array of the
// given number of dimensions (all 1), written by hand so that it can
// break npy's rules, followed by the one data byte.
func rawHeader(ndim int) []byte {
	dict := "{'descr': '|u1', 'fortran_order': False, 'shape': (" + strings.Repeat("1, ", ndim) + "), }"
	pad := 64 - (10+len(dict)+1)%64
	dict += strings.Repeat(" ", pad%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(dict)))
	return append(append(b, dict...), 0)
}

// TestMaxDims: NumPy 1.24 refuses arrays of more than 32 dimensions
// (NPY_MAXDIMS), so npy neither reads nor writes headers with more, and
// says so; 32 works both ways. The NumPy subtest shows the limit is
// NumPy's.
func TestMaxDims(t *testing.T) {
	require.Equal(t, maxDims, npy.MaxDims)
	for _, n := range []int{32, 33, 64, 65} {
		h, err := npy.ReadHeader(bytes.NewReader(rawHeader(n)))
		if n <= maxDims {
			require.NoError(t, err, n)
			assert.Len(t, h.Shape, n)
		} else {
			require.ErrorIs(t, err, npy.ErrBadShape, n)
			assert.Contains(t, err.Error(), "at most 32", n)
		}
		_, err = npy.AppendHeader(nil, &npy.Header{DType: npy.DTypeOf[uint8](), Shape: ones(n)})
		if n <= maxDims {
			require.NoError(t, err, n)
		} else {
			require.ErrorIs(t, err, npy.ErrBadShape, n)
		}
		var buf bytes.Buffer
		err = npy.Write(&buf, []uint8{0}, ones(n)...)
		if n <= maxDims {
			require.NoError(t, err, n)
		} else {
			require.ErrorIs(t, err, npy.ErrBadShape, n)
		}
	}
	t.Run("NumPy", func(t *testing.T) {
		dir := t.TempDir()
		for _, n := range []int{32, 33} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "d"+string(rune('0'+n/10))+string(rune('0'+n%10))+".npy"), rawHeader(n), 0o644))
		}
		out := pytest.Run(t, `
import sys
import numpy as np
for p in sys.argv[1:]:
    try:
        print(np.load(p).ndim)
    except ValueError as e:
        print("ValueError")
`, filepath.Join(dir, "d32.npy"), filepath.Join(dir, "d33.npy"))
		assert.Equal(t, "32\nValueError\n", string(out))
	})
}

// maxDims is npy.MaxDims, spelled out so that the test also builds
// against an npy without the limit.
const maxDims = 32

func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}
