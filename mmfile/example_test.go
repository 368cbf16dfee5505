package mmfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// A producer creates an array, fills it in place and publishes it; a
// consumer (normally another process, given the file name) maps it and
// reads it in place.
func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "squares.npy") // filepath.Join(mmfile.DefaultDir(), "squares.npy") for the shared folder

	// Producer.
	a, err := mmfile.Create(name, &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{2, 4}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	s, err := mmfile.Slice[float64](a)
	if err != nil {
		log.Fatal(err)
	}
	for i := range s {
		s[i] = float64(i * i)
	}
	if err := a.Publish(); err != nil {
		log.Fatal(err)
	}
	a.Close()

	// Consumer.
	b, err := mmfile.Open(name, mmfile.ReadOnly, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	v, err := mmfile.Slice[float64](b)
	if err != nil {
		log.Fatal(err)
	}
	h := b.Header()
	fmt.Println(h.DType, h.Shape, v[1*h.Shape[1]+2])
	// Output: <f8 [2 4] 36
}

// A mapped 2-D float64 array is the backing slice of a gonum matrix:
// gonum computes on the file's memory directly.
func Example_gonum() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "m.npy")
	if err := mmfile.Write(name, []float64{1, 2, 3, 4, 5, 6}, &npy.Header{Shape: []int{2, 3}}, nil); err != nil {
		log.Fatal(err)
	}

	a, err := mmfile.Open(name, mmfile.ReadWrite, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	data, err := mmfile.Slice[float64](a)
	if err != nil {
		log.Fatal(err)
	}
	shape := a.Header().Shape // C order: row-major, as mat.Dense wants
	m := mat.NewDense(shape[0], shape[1], data)
	m.Scale(10, m) // in place: writes go to the shared file

	var g mat.Dense
	g.Mul(m, m.T())
	fmt.Printf("%v\n%v\n", mat.Formatted(&g), data)
	// Output:
	// ⎡1400  3200⎤
	// ⎣3200  7700⎦
	// [10 20 30 40 50 60]
}

// Do reads a mapping under the fault guard: if another process truncated
// the file, the error says so instead of the program crashing.
func ExampleArray_Do() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "v.npy")
	if err := mmfile.Write(name, []int32{1, 2, 3, 4}, nil, nil); err != nil {
		log.Fatal(err)
	}
	a, err := mmfile.Open(name, mmfile.ReadOnly, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	var sum int64
	err = a.Do(func(data []byte) error {
		v, err := npy.View[int32](data, a.Header().DType)
		if err != nil {
			return err
		}
		for _, x := range v {
			sum += int64(x)
		}
		return nil
	})
	fmt.Println(sum, err, errors.Is(err, mmfile.ErrFault))
	// Output: 10 <nil> false
}

// An Appender streams rows into a published file, which NumPy can load
// after every Append. The file starts as an array with no rows.
func ExampleAppender() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "log.npy")
	if err := mmfile.Write(name, []float32{}, &npy.Header{Shape: []int{0, 3}}, nil); err != nil {
		log.Fatal(err)
	}
	ap, err := mmfile.OpenAppender(name, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ap.Close()
	for i := range 4 {
		row := []float32{float32(i), float32(i) / 2, -1}
		if err := mmfile.Append(ap, row); err != nil {
			log.Fatal(err)
		}
	}
	got, h, err := npy.ReadFile[float32](name)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(h, got[9:])
	// Output: npy 1.0 <f4 (4, 3) C [3 1.5 -1]
}

// List shows the arrays in a folder, including temporary files that a
// crashed producer left behind; RemoveStale removes those.
func ExampleList() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := mmfile.Write(filepath.Join(dir, "a.npy"), []uint8{1, 2, 3}, nil, nil); err != nil {
		log.Fatal(err)
	}
	entries, err := mmfile.List(dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.Name, e.Header.DType, e.Header.Shape, e.Size, e.Temp)
	}
	// Output: a.npy |u1 [3] 131 false
}

// An .npy stream (a pipe, a network connection) is copied straight into
// the mapping of a new array and published only if it arrives whole.
func ExampleCreate_stream() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "copy.npy")
	var stream bytes.Buffer
	npy.Write(&stream, []int16{7, 8, 9})

	r, err := npy.NewReader(&stream)
	if err != nil {
		log.Fatal(err)
	}
	h := *r.Header
	h.Version = npy.Version{} // the version the header needs
	a, err := mmfile.Create(name, &h, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close() // without Publish, removes the temporary file
	err = a.Do(func(data []byte) error {
		_, err := io.ReadFull(r, data)
		return err
	})
	if err == nil {
		err = a.Publish()
	}
	got, _, _ := npy.ReadFile[int16](name)
	fmt.Println(err, got)
	// Output: <nil> [7 8 9]
}
