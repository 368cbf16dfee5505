package codec_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/arrfile/arrfile/codec"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// A seekable zstd file: frames of 16 bytes, random access to the middle.
func ExampleWriter() {
	var file bytes.Buffer
	w, err := codec.NewWriter(&file, codec.WithFrameSize(16))
	if err != nil {
		panic(err)
	}
	w.Write([]byte(strings.Repeat("0123456789abcdef", 4)))
	if err := w.Close(); err != nil {
		panic(err)
	}

	r, err := codec.NewReader(bytes.NewReader(file.Bytes()), int64(file.Len()))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	p := make([]byte, 6)
	r.ReadAt(p, 29) // decompresses frames 1 and 2 only
	fmt.Println(r.Seekable(), r.NumFrames(), r.Size(), string(p))
	// Output: true 4 64 def012
}

// Write an .npz archive as np.savez does and read one member back by key.
func ExampleNpzWriter() {
	var buf bytes.Buffer
	z, err := codec.NewNpzWriter(&buf)
	if err != nil {
		panic(err)
	}
	codec.WriteNpz(z, "x", []float64{1, 2, 3})
	codec.WriteNpz(z, codec.NpzKey(0), []int32{7, 8}, 1, 2)
	if err := z.Close(); err != nil {
		panic(err)
	}

	r, err := codec.NewNpzReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		panic(err)
	}
	v, h, err := codec.ReadNpz[int32](r, "arr_0")
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Keys(), v, h.Shape)
	// Output: [x arr_0] [7 8] [1 2]
}

// Compress an .npy to .npy.zst and read rows back.
func ExampleCompressNpy() {
	var src, dst bytes.Buffer
	npy.Write(&src, []int16{0, 1, 2, 3, 4, 5, 6, 7}, 4, 2)
	h, err := codec.CompressNpy(&dst, &src, codec.WithFrameSize(4))
	if err != nil {
		panic(err)
	}
	r, err := codec.NewNpyReader(bytes.NewReader(dst.Bytes()), int64(dst.Len()))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	rows, _ := codec.ReadRows[int16](r, 2, 4)
	fmt.Println(h.Shape, r.NumFrames(), rows)
	// Output: [4 2] 5 [4 5 6 7]
}

// Memory-map a member of an .npz archive in place: written with
// WithAlignment(64), every stored member's data is aligned for any element
// type, and mapping it reads and copies nothing.
func ExampleNpzReader_Map() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "arrays.npz")

	w, err := codec.CreateNpz(name, codec.WithAlignment(64))
	if err != nil {
		panic(err)
	}
	codec.WriteNpz(w, "labels", []uint8{3, 1, 4})
	codec.WriteNpz(w, "weights", []float64{0.5, 1.5, 2.5, 3.5, 4.5, 5.5}, 2, 3)
	if err := w.Close(); err != nil {
		panic(err)
	}

	z, err := codec.OpenNpz(name)
	if err != nil {
		panic(err)
	}
	defer z.Close()
	a, err := z.Map("weights", mmfile.ReadOnly, nil)
	if err != nil {
		panic(err)
	}
	defer a.Close()
	v, err := mmfile.Slice[float64](a)
	if err != nil {
		panic(err)
	}
	k, _ := a.Index(1, 2)
	fmt.Println(a.Shape(), v[k])
	// Output: [2 3] 5.5
}
