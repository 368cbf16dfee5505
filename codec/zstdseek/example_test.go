package zstdseek_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/arrfile/arrfile/codec/zstdseek"
)

// A seekable zstd file: frames of 16 bytes, random access to the middle.
func ExampleWriter() {
	var file bytes.Buffer
	w, err := zstdseek.NewWriter(&file, zstdseek.WithFrameSize(16))
	if err != nil {
		panic(err)
	}
	w.Write([]byte(strings.Repeat("0123456789abcdef", 4)))
	if err := w.Close(); err != nil {
		panic(err)
	}

	r, err := zstdseek.NewReader(bytes.NewReader(file.Bytes()), int64(file.Len()))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	p := make([]byte, 6)
	r.ReadAt(p, 29) // decompresses frames 1 and 2 only
	fmt.Println(len(r.SeekTable().Frames), r.Size(), string(p))
	// Output: 4 64 def012
}

// Frames of whole 12-byte records: a 100-byte frame size rounds down to
// 96 bytes, eight records.
func ExampleWithRecordSize() {
	var file bytes.Buffer
	w, err := zstdseek.NewWriter(&file, zstdseek.WithFrameSize(100), zstdseek.WithRecordSize(12))
	if err != nil {
		panic(err)
	}
	w.Write(make([]byte, 12*20))
	if err := w.Close(); err != nil {
		panic(err)
	}
	r, err := zstdseek.NewReader(bytes.NewReader(file.Bytes()), int64(file.Len()))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	for _, f := range r.SeekTable().Frames {
		fmt.Print(f.DecompressedOffset, "+", f.DecompressedSize, " ")
	}
	fmt.Println()
	// Output: 0+96 96+96 192+48
}
