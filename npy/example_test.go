package npy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/arrfile/arrfile/npy"
)

// Write a 2x3 float64 array to an .npy stream and read it back.
func Example() {
	var buf bytes.Buffer
	if err := npy.Write(&buf, []float64{1, 2, 3, 4, 5, 6}, 2, 3); err != nil {
		fmt.Println(err)
		return
	}
	data, h, err := npy.Read[float64](&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.DType, h.Shape, h.DataOffset, data)
	// Output: <f8 [2 3] 128 [1 2 3 4 5 6]
}

// The header NumPy would write for the same array, byte for byte.
func ExampleAppendHeader() {
	h := &npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{2, 3}}
	b, err := npy.AppendHeader(nil, h)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d bytes, version %d.%d\n%q\n", len(b), b[6], b[7], b[10:])
	// Output:
	// 128 bytes, version 1.0
	// "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }                                                          \n"
}

// Parse dtypes the way NumPy spells them.
func ExampleParseDType() {
	for _, s := range []string{"float64", ">i2", "U3", "datetime64[ms]", "[('x', '<f8'), ('n', '<i4', (2,))]"} {
		d, err := npy.ParseDType(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-36s kind %c, %2d bytes, %s\n", s, d.Kind, d.Size, d)
	}
	_, err := npy.ParseDType("O")
	fmt.Println(err)
	// Output:
	// float64                              kind f,  8 bytes, <f8
	// >i2                                  kind i,  2 bytes, >i2
	// U3                                   kind U, 12 bytes, <U3
	// datetime64[ms]                       kind M,  8 bytes, <M8[ms]
	// [('x', '<f8'), ('n', '<i4', (2,))]   kind V, 16 bytes, [('x', '<f8'), ('n', '<i4', (2,))]
	// npy: object arrays (pickled data) are not supported: "O"
}

// View raw bytes (for example a memory-mapped data section) as []float64
// without copying, and what happens when the bytes are big-endian.
func ExampleView() {
	raw := make([]byte, 16)
	f, err := npy.View[float64](raw, npy.DTypeOf[float64]())
	if err != nil {
		fmt.Println(err)
		return
	}
	f[0], f[1] = 1.5, -2
	fmt.Println(f, raw[:8])

	big := npy.DTypeOf[float64]().WithOrder('>')
	_, err = npy.View[float64](raw, big)
	fmt.Println(err != nil)
	// Output:
	// [1.5 -2] [0 0 0 0 0 0 248 63]
	// true
}

// Write an .npy file and read it back; errors name the file. (To replace
// a file atomically, write it with mmfile.Write.)
func ExampleReadFile() {
	f, err := os.CreateTemp("", "counts-*.npy")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(f.Name())
	if err := npy.Write(f, []int64{10, 20, 30}); err != nil {
		fmt.Println(err)
		return
	}
	if err := f.Close(); err != nil {
		fmt.Println(err)
		return
	}
	got, h, err := npy.ReadFile[int64](f.Name())
	fmt.Println(got, h.Shape, err)

	_, _, err = npy.ReadFile[float32](f.Name())
	var pe *fs.PathError
	fmt.Println(errors.Is(err, npy.ErrTypeMismatch), errors.As(err, &pe) && pe.Path == f.Name())
	// Output:
	// [10 20 30] [3] <nil>
	// true true
}
