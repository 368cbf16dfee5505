package codec_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/arrfile/arrfile/codec"
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
