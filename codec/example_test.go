package codec_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/arrfile/arrfile/codec"
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
