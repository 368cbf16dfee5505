package npyzst_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// Compress an .npy to .npy.zst and read rows back: the header frame and
// four frames of one 2-element row each.
func ExampleCompress() {
	var src, dst bytes.Buffer
	npy.Write(&src, []int16{0, 1, 2, 3, 4, 5, 6, 7}, 4, 2)
	h, err := npyzst.Compress(&dst, &src, zstdseek.WithFrameSize(4))
	if err != nil {
		panic(err)
	}
	r, err := npyzst.NewReader(bytes.NewReader(dst.Bytes()), int64(dst.Len()))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	rows, _ := npyzst.ReadRows[int16](r, 2, 4)
	fmt.Println(h.Shape, len(r.Zstd().SeekTable().Frames), rows)
	// Output: [4 2] 5 [4 5 6 7]
}

// Decompress a .npy.zst straight into a new memory-mapped array, so that
// one process pays for the decompression and every other process (or
// NumPy, with mmap_mode="r") maps the raw result. mmfile.Create makes the
// array under a temporary name with its space reserved; Data's ReadAt
// decompresses the frames in parallel directly into the mapping, with no
// intermediate copy and every checksum verified; Publish renames the array
// into place only when all of it is there (Close without Publish removes
// it).
func Example_mappedArray() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	var src bytes.Buffer
	npy.Write(&src, []float64{0.5, 1.5, 2.5, 3.5, 4.5, 5.5}, 2, 3)
	f, err := os.Create(filepath.Join(dir, "x.npy.zst"))
	if err != nil {
		panic(err)
	}
	_, err = npyzst.Compress(f, &src, zstdseek.WithFrameSize(16))
	f.Close()
	if err != nil {
		panic(err)
	}

	r, err := npyzst.Open(filepath.Join(dir, "x.npy.zst"))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	h := *r.Header
	h.Version = npy.Version{} // write the header as NumPy would
	a, err := mmfile.Create(filepath.Join(dir, "x.npy"), &h, nil)
	if err != nil {
		panic(err)
	}
	defer a.Close()
	data, err := a.Bytes()
	if err != nil {
		panic(err)
	}
	d, err := r.Data() // an error for a file without seek table: use WriteDataTo
	if err != nil {
		panic(err)
	}
	if n, err := d.ReadAt(data, 0); n < len(data) {
		panic(err)
	}
	if err := a.Publish(); err != nil {
		panic(err)
	}

	// What another process does.
	b, err := mmfile.Open(filepath.Join(dir, "x.npy"), mmfile.ReadOnly, nil)
	if err != nil {
		panic(err)
	}
	defer b.Close()
	v, _ := mmfile.Slice[float64](b)
	fmt.Println(b.Header().Shape, v)
	// Output: [2 3] [0.5 1.5 2.5 3.5 4.5 5.5]
}
