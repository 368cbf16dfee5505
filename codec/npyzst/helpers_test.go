package npyzst

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// seekable reports whether r's file has a seek table.
func seekable(r *Reader) bool { return r.Zstd().SeekTable() != nil }

// rowElements returns the number of elements in one row (the product of
// the shape after the first axis; 1 for 1-d and 0-d arrays).
func rowElements(h *npy.Header) int64 {
	n := int64(1)
	for _, d := range h.Shape[min(1, len(h.Shape)):] {
		n *= int64(d)
	}
	return n
}

// dataFrameSize is the data frame size rule the Writer had before it was
// expressed as zstdseek.WithRecordSize, kept as the tests' reference: a
// whole number of rows (the first axis of a C-order array) when a row fits
// in a frame, otherwise a whole number of elements; at least one element
// (or the requested size when one element exceeds MaxFrameSize).
func dataFrameSize(h *npy.Header, frameSize int) int {
	item := int64(h.DType.Size)
	if item <= 0 {
		return frameSize
	}
	if !h.FortranOrder && len(h.Shape) > 1 {
		row := item
		for _, d := range h.Shape[1:] {
			if d == 0 || row > int64(frameSize)/int64(d) {
				row = 0
				break
			}
			row *= int64(d)
		}
		if row > 0 && row <= int64(frameSize) {
			return int(int64(frameSize) / row * row)
		}
	}
	if item <= int64(frameSize) {
		return int(int64(frameSize) / item * item)
	}
	if item <= zstdseek.MaxFrameSize {
		return int(item)
	}
	return frameSize
}

// compress compresses data as a seekable zstd file.
func compress(t testing.TB, data []byte, opts ...zstdseek.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zstdseek.NewWriter(&buf, opts...)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// plainZstd compresses data as an ordinary (non-seekable) zstd stream.
func plainZstd(t testing.TB, data []byte, opts ...zstd.EOption) []byte {
	var buf bytes.Buffer
	enc, err := zstd.NewWriter(&buf, opts...)
	require.NoError(t, err)
	_, err = enc.Write(data)
	require.NoError(t, err)
	require.NoError(t, enc.Close())
	return buf.Bytes()
}

// zstdCLI returns the path of the zstd command-line tool, skipping the
// test if it is not installed (CI installs it).
func zstdCLI(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/zstd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("zstd")
	if err != nil {
		t.Skip("zstd command-line tool not installed (apt-get install zstd); skipping interop test")
	}
	return p
}

// writeNpyFile writes data as an .npy file (npy.Write into the file).
func writeNpyFile[T npy.Elem](name string, data []T, shape ...int) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := npy.Write(f, data, shape...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
