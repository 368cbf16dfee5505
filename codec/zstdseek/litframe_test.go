package zstdseek

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/huff0"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func normalFloats(n int) []byte {
	rng := rand.New(rand.NewPCG(9, 9))
	b := make([]byte, 8*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(rng.NormFloat64()))
	}
	return b
}

func TestLiteralFrame(t *testing.T) {
	dec, err := zstd.NewReader(nil)
	require.NoError(t, err)
	defer dec.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var s huff0.Scratch
	for name, src := range map[string][]byte{
		"normal floats": normalFloats(70_000), // several blocks, last one partial
		"random":        random,               // raw blocks
		"zeros":         make([]byte, 200_000),
		"small":         normalFloats(20),     // 1-byte content size
		"mid":           normalFloats(10_000), // 2-byte content size
	} {
		for _, crc := range []bool{true, false} {
			f := appendLiteralFrame(nil, src, crc, &s)
			out, err := dec.DecodeAll(f, nil)
			require.NoError(t, err, name)
			assert.True(t, bytes.Equal(src, out), name)
			var h zstd.Header
			require.NoError(t, h.Decode(f))
			assert.Equal(t, uint64(len(src)), h.FrameContentSize)
			assert.Equal(t, crc, h.HasCheckSum)
		}
	}
	// Huffman coding alone saves about 4% on random normal float64.
	src := normalFloats(1 << 17)
	f := appendLiteralFrame(nil, src, true, &s)
	assert.Less(t, float64(len(f)), 0.97*float64(len(src)))

	// The Writer uses such frames when they are smaller.
	file := compress(t, src, WithFrameSize(256<<10))
	assert.Less(t, float64(len(file)), 0.97*float64(len(src)))
	var out bytes.Buffer
	_, err = newReader(t, file).WriteTo(&out)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(src, out.Bytes()))
}

func TestStockZstdReadsLiteralFrames(t *testing.T) {
	zstdBin := zstdCLI(t)
	src := normalFloats(200_000)
	path := filepath.Join(t.TempDir(), "lit.zst")
	require.NoError(t, os.WriteFile(path, compress(t, src, WithFrameSize(300_000)), 0o644))
	out, err := exec.Command(zstdBin, "-q", "-d", "-c", path).Output()
	require.NoError(t, err)
	assert.True(t, bytes.Equal(src, out))
}
