package store_test

import (
	"fmt"
	"log"
	"os"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
	"github.com/arrfile/arrfile/store"
)

func Example() {
	dir, err := os.MkdirTemp("", "store") // usually "": the shared folder
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := store.Open(dir, &store.Options{Capacity: 64 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// Producer: create, fill in place, publish (sealed from then on).
	w, err := s.Create("frame-1", &npy.Header{DType: npy.DTypeOf[float32](), Shape: []int{2, 3}})
	if err != nil {
		log.Fatal(err)
	}
	v, _ := mmfile.Slice[float32](w.Array())
	for i := range v {
		v[i] = float32(i)
	}
	if err := w.Publish(); err != nil {
		log.Fatal(err)
	}

	// Consumer (any process): a reference that dies with the process.
	r, err := s.Get("frame-1")
	if err != nil {
		log.Fatal(err)
	}
	got, _ := mmfile.Slice[float32](r.Array())
	fmt.Println(got, r.Array().Header().Shape)
	r.Release()

	// Output:
	// [0 1 2 3 4 5] [2 3]
}
