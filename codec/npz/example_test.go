package npz_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// Write an .npz archive as np.savez does and read one member back by key.
func ExampleWriter() {
	var buf bytes.Buffer
	z, err := npz.NewWriter(&buf)
	if err != nil {
		panic(err)
	}
	w, _ := z.Create("x")
	npy.Write(w, []float64{1, 2, 3})
	w.Close()
	w, _ = z.Create("arr_0") // np.savez's name for its first positional array
	npy.Write(w, []int32{7, 8}, 1, 2)
	w.Close()
	if err := z.Close(); err != nil {
		panic(err)
	}

	r, err := npz.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		panic(err)
	}
	v, h, err := npz.Read[int32](r, "arr_0")
	if err != nil {
		panic(err)
	}
	for _, m := range r.Members() {
		fmt.Print(m.Key, " ")
	}
	fmt.Println(v, h.Shape)
	// Output: x arr_0 [7 8] [1 2]
}

// Memory-map a stored member of an .npz archive in place: DataOffset says
// where its .npy bytes start, and mmfile.OpenSection maps them, reading
// and copying nothing (np.load reads .npz members into memory). Written
// with WithAlignment(64), every member's data is aligned for any element
// type. Because the archive is named twice, check that the name still
// refers to the file the Reader read.
func ExampleReader_DataOffset() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "arrays.npz")

	z, err := npz.Create(name, npz.WithAlignment(64))
	if err != nil {
		panic(err)
	}
	w, _ := z.Create("labels")
	npy.Write(w, []uint8{3, 1, 4})
	w.Close()
	w, _ = z.Create("weights")
	npy.Write(w, []float64{0.5, 1.5, 2.5, 3.5, 4.5, 5.5}, 2, 3)
	w.Close()
	if err := z.Close(); err != nil {
		panic(err)
	}

	f, err := os.Open(name)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		panic(err)
	}
	r, err := npz.NewReader(f, fi.Size())
	if err != nil {
		panic(err)
	}
	off, err := r.DataOffset("weights") // ErrUnsupported for a deflated member
	if err != nil {
		panic(err)
	}
	a, err := mmfile.OpenSection(name, off, mmfile.ReadOnly, nil)
	if err != nil {
		panic(err)
	}
	defer a.Close()
	if af, err := a.File(); err != nil {
		panic(err)
	} else if afi, err := af.Stat(); err != nil || !os.SameFile(fi, afi) {
		panic("the archive was replaced")
	}

	v, err := mmfile.Slice[float64](a)
	if err != nil {
		panic(err)
	}
	shape := a.Header().Shape
	fmt.Println(shape, v[1*shape[1]+2])
	// Output: [2 3] 5.5
}
