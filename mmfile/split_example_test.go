package mmfile_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// K workers fill one result in place: the parent creates and publishes it,
// each worker opens it by name read-write and writes its own range (here
// goroutines stand in for the worker processes, which would get the name
// and their range on the command line or a socket), and the parent reads
// the result once all K are done.
func ExampleSplit() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "result.npy")

	a, err := mmfile.Create(name, &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{100000, 3}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	if err := a.Publish(); err != nil {
		log.Fatal(err)
	}
	ranges, err := mmfile.Split(a.Header(), 4)
	if err != nil {
		log.Fatal(err)
	}

	var wg sync.WaitGroup
	for _, r := range ranges {
		wg.Add(1)
		go func() { // a worker process
			defer wg.Done()
			w, err := mmfile.Open(name, mmfile.ReadWrite, nil)
			if err != nil {
				log.Fatal(err)
			}
			defer w.Close()
			s, err := mmfile.Slice[float64](w)
			if err != nil {
				log.Fatal(err)
			}
			for i := r.Off / 8; i < (r.Off+r.Len)/8; i++ {
				s[i] = float64(i)
			}
		}()
	}
	wg.Wait() // the parent counts K "done" messages

	s, err := mmfile.Slice[float64](a)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range ranges {
		fmt.Println(r.Start, r.End, s[r.Start*3])
	}
	// Output:
	// 0 24912 0
	// 24912 50000 74736
	// 50000 75088 150000
	// 75088 100000 225264
}
