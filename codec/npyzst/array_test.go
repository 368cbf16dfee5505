package npyzst

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decompressToArray decompresses r into a new memory-mapped array file
// name and publishes it, as Example_mappedArray shows: the array is
// created under a temporary name with its space reserved, the frames of a
// seekable file are decompressed in parallel straight into the mapping
// (a plain file front to back), and the array is renamed into place only
// when all of it is in place. On error the temporary file is removed and
// name is untouched.
func decompressToArray(r *Reader, name string) (*mmfile.Array, error) {
	h := *r.Header
	h.Version = npy.Version{} // the header as NumPy would write it
	a, err := mmfile.Create(name, &h, nil)
	if err != nil {
		return nil, err
	}
	data, err := a.Bytes()
	if err == nil {
		if d, derr := r.Data(); derr == nil {
			if n, rerr := d.ReadAt(data, 0); n < len(data) {
				err = rerr
			}
		} else {
			// No seek table: decompress front to back into the mapping
			// (WriteDataTo writes at most the header's data size).
			_, err = r.WriteDataTo(bytes.NewBuffer(data[:0]))
		}
	}
	if err == nil {
		err = a.Publish()
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func arrayTestData() []int32 {
	data := make([]int32, 300*50)
	var x int32
	for i := range data {
		x += int32(i%5) - 2
		data[i] = x
	}
	return data
}

func TestDecompressToArray(t *testing.T) {
	data := arrayTestData()
	var src bytes.Buffer
	require.NoError(t, npy.Write(&src, data, 300, 50))
	dir := t.TempDir()
	for name, file := range map[string][]byte{
		"seekable": compressNpy(t, src.Bytes(), zstdseek.WithFrameSize(4096)),
		"plain":    plainZstd(t, src.Bytes()),
	} {
		t.Run(name, func(t *testing.T) {
			r := openNpyBytes(t, file)
			path := filepath.Join(dir, name+".npy")
			a, err := decompressToArray(r, path)
			require.NoError(t, err)
			assert.FileExists(t, path)
			got, err := mmfile.Slice[int32](a)
			require.NoError(t, err)
			assert.Equal(t, data, got)
			require.NoError(t, a.Close())
			// The published file is the .npy itself.
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(src.Bytes(), b))
		})
	}
}

func TestDecompressToArrayDamaged(t *testing.T) {
	data := arrayTestData()
	var src bytes.Buffer
	require.NoError(t, npy.Write(&src, data, 300, 50))
	file := compressNpy(t, src.Bytes(), zstdseek.WithFrameSize(4096))
	r := openNpyBytes(t, file)
	f := r.Zstd().SeekTable().Frames[5]
	bad := append([]byte(nil), file...)
	bad[f.CompressedOffset+f.CompressedSize/2] ^= 0x40
	dir := t.TempDir()
	path := filepath.Join(dir, "x.npy")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	_, err := decompressToArray(openNpyBytes(t, bad), path)
	require.Error(t, err)
	b, _ := os.ReadFile(path)
	assert.Equal(t, "old", string(b), "destination untouched")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "temporary file removed")
}

// TestDecompressToArrayOtherProcess decompresses once and has another
// process (this test binary, re-executed) and NumPy map the result.
func TestDecompressToArrayOtherProcess(t *testing.T) {
	if p := os.Getenv("NPYZST_TEST_MAP_ARRAY"); p != "" {
		a, err := mmfile.Open(p, mmfile.ReadOnly, nil)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		v, _ := mmfile.Slice[int32](a)
		var s int64
		for _, x := range v {
			s += int64(x)
		}
		fmt.Printf("sum=%d shape=%v\n", s, a.Header().Shape)
		a.Close()
		return
	}
	data := arrayTestData()
	var src bytes.Buffer
	require.NoError(t, npy.Write(&src, data, 300, 50))
	path := filepath.Join(t.TempDir(), "shared.npy")
	a, err := decompressToArray(openNpyBytes(t, compressNpy(t, src.Bytes(), zstdseek.WithFrameSize(8192))), path)
	require.NoError(t, err)
	defer a.Close()
	var want int64
	for _, x := range data {
		want += int64(x)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDecompressToArrayOtherProcess$")
	cmd.Env = append(os.Environ(), "NPYZST_TEST_MAP_ARRAY="+path)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), fmt.Sprintf("sum=%d shape=[300 50]", want))

	if pytest.Python() != "" {
		res := pytest.Run(t, `
import sys, numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
print(int(a.astype(np.int64).sum()), a.shape)
`, path)
		assert.Equal(t, fmt.Sprintf("%d (300, 50)", want), strings.TrimSpace(string(res)))
	}
}
