package zstdseek

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testData returns n bytes of moderately compressible data: a rounded
// smooth float64 signal mixed with noise.
func testData(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := math.Round(math.Sin(float64(i)/5000)*1000) / 1000
		if rng.IntN(4) == 0 {
			v = rng.NormFloat64()
		}
		binary.LittleEndian.PutUint64(b[i:], math.Float64bits(v))
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// compress compresses data with a Writer built from opts.
func compress(t testing.TB, data []byte, opts ...WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts...)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func newReader(t testing.TB, file []byte, opts ...ReaderOption) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(file), int64(len(file)), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		frame int
		conc  int
		sums  bool
	}{
		{"empty", 0, 1024, 2, true},
		{"one byte", 1, 1024, 2, true},
		{"exact frames", 4096, 1024, 2, true},
		{"partial last", 5000, 1024, 4, true},
		{"serial", 100_000, 4096, 1, true},
		{"no checksums", 100_000, 4096, 3, false},
		{"default frame", 3<<20 + 5, DefaultFrameSize, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := testData(tc.n, 1)
			file := compress(t, data, WithFrameSize(tc.frame), WithConcurrency(tc.conc), WithChecksum(tc.sums))
			r := newReader(t, file, WithConcurrency(tc.conc))
			require.NotNil(t, r.SeekTable())
			assert.Equal(t, int64(tc.n), r.Size())
			tab := r.SeekTable()
			last := tab.Frames[len(tab.Frames)-1]
			assert.Equal(t, int64(len(file)), last.CompressedOffset+last.CompressedSize+tab.encodedSize())
			assert.Equal(t, tc.sums, r.SeekTable().Checksums)
			wantFrames := max(1, (tc.n+tc.frame-1)/tc.frame)
			assert.Equal(t, wantFrames, len(r.SeekTable().Frames))
			for i := 0; i < len(r.SeekTable().Frames); i++ {
				f := r.SeekTable().Frames[i]
				assert.Equal(t, int64(i*tc.frame), f.DecompressedOffset)
				if tc.sums {
					end := min(tc.n, (i+1)*tc.frame)
					assert.Equal(t, uint32(xxhash.Sum64(data[i*tc.frame:end])), f.Checksum)
				}
			}

			var out bytes.Buffer
			n, err := r.WriteTo(&out)
			require.NoError(t, err)
			assert.Equal(t, int64(tc.n), n)
			assert.True(t, bytes.Equal(data, out.Bytes()))
			require.NoError(t, r.Verify())

			all := make([]byte, tc.n)
			m, err := r.ReadAt(all, 0)
			require.NoError(t, err)
			assert.Equal(t, tc.n, m)
			assert.True(t, bytes.Equal(data, all))

			s, err := r.Stream()
			require.NoError(t, err)
			got, err := io.ReadAll(s)
			require.NoError(t, err)
			require.NoError(t, s.Close())
			assert.True(t, bytes.Equal(data, got))

			// The plain klauspost decoder reads it too (skipping the table).
			dec, err := zstd.NewReader(nil)
			require.NoError(t, err)
			defer dec.Close()
			plain, err := dec.DecodeAll(file, nil)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, plain))
		})
	}
}

func TestReadAtRanges(t *testing.T) {
	data := testData(50_000, 2)
	file := compress(t, data, WithFrameSize(1000))
	for _, conc := range []int{1, 3} {
		r := newReader(t, file, WithConcurrency(conc))
		rng := rand.New(rand.NewPCG(3, 4))
		for k := 0; k < 300; k++ {
			off := rng.IntN(len(data) + 10)
			n := rng.IntN(5000)
			p := make([]byte, n)
			m, err := r.ReadAt(p, int64(off))
			end := min(len(data), off+n)
			if off > len(data) || (off == len(data) && n > 0) {
				assert.Equal(t, io.EOF, err)
				assert.Zero(t, m)
				continue
			}
			assert.Equal(t, end-off, m)
			if end-off < n {
				assert.Equal(t, io.EOF, err)
			} else {
				assert.NoError(t, err)
			}
			assert.True(t, bytes.Equal(data[off:end], p[:m]), "off %d n %d", off, n)
		}
		_, err := r.ReadAt(make([]byte, 1), -1)
		assert.Error(t, err)
		m, err := r.ReadAt(nil, int64(len(data)))
		assert.NoError(t, err)
		assert.Zero(t, m)
		assert.Equal(t, -1, r.frameAt(-1))
		assert.Equal(t, -1, r.frameAt(int64(len(data))))
		assert.Equal(t, 49, r.frameAt(int64(len(data)-1)))
		assert.Equal(t, 1, r.frameAt(1000))
	}
}

func TestEndFrame(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, WithFrameSize(100))
	require.NoError(t, err)
	_, err = w.Write([]byte("header"))
	require.NoError(t, err)
	require.NoError(t, w.WriteFrame(nil))
	require.NoError(t, w.WriteFrame(nil)) // empty: no frame
	data := testData(250, 5)
	_, err = w.ReadFrom(bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.ErrorIs(t, w.Close(), ErrClosed)
	_, err = w.Write([]byte{1})
	assert.ErrorIs(t, err, ErrClosed)
	r := newReader(t, buf.Bytes())
	var sizes []int64
	for _, e := range r.SeekTable().Frames {
		sizes = append(sizes, e.DecompressedSize)
	}
	assert.Equal(t, []int64{6, 100, 100, 50}, sizes)
	assert.Equal(t, int64(256), r.Size())

	var out bytes.Buffer
	_, err = r.WriteTo(&out)
	require.NoError(t, err)
	assert.Equal(t, append([]byte("header"), data...), out.Bytes())
}

func TestWriterOptions(t *testing.T) {
	for _, o := range []WriterOption{WithLevel(0), WithLevel(5), WithFrameSize(0), WithFrameSize(MaxFrameSize + 1), WithConcurrency(-1), WithRecordSize(8, 0)} {
		_, err := NewWriter(io.Discard, o)
		assert.Error(t, err)
	}
	file := compress(t, nil)
	for _, o := range []ReaderOption{WithConcurrency(-1), WithMaxFrameSize(10), WithMaxFrameSize(1<<32 + 1), WithMaxFrames(0), WithMaxFrames(maxSeekTableFrames + 1)} {
		_, err := NewReader(bytes.NewReader(file), int64(len(file)), o)
		assert.Error(t, err)
	}
	for _, l := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression, zstd.SpeedBestCompression} {
		data := testData(20_000, 6)
		file := compress(t, data, WithLevel(l), WithFrameSize(8192))
		var out bytes.Buffer
		_, err := newReader(t, file).WriteTo(&out)
		require.NoError(t, err)
		assert.Equal(t, data, out.Bytes(), l.String())
	}
}

func TestParseLevel(t *testing.T) {
	for s, want := range map[string]zstd.EncoderLevel{"1": zstd.SpeedFastest, "3": zstd.SpeedDefault, "7": zstd.SpeedBetterCompression, "19": zstd.SpeedBestCompression, "best": zstd.SpeedBestCompression, " Fastest ": zstd.SpeedFastest, "default": zstd.SpeedDefault, "better": zstd.SpeedBetterCompression} {
		got, err := ParseLevel(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"0", "23", "", "fast"} {
		_, err := ParseLevel(s)
		assert.Error(t, err, s)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriterDestinationError(t *testing.T) {
	w, err := NewWriter(&failWriter{after: 2}, WithFrameSize(1000), WithName("out.zst"))
	require.NoError(t, err)
	data := testData(100_000, 7)
	_, err = w.Write(data)
	if err == nil {
		err = w.Close()
	} else {
		w.Close()
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "out.zst", pe.Path)
}

func TestReaderDestinationError(t *testing.T) {
	file := compress(t, testData(10_000, 8), WithFrameSize(1000))
	r := newReader(t, file, WithName("in.zst"))
	_, err := r.WriteTo(&failWriter{after: 3})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
	assert.NotErrorIs(t, err, ErrCorrupt)
}

func TestOpenAndClose(t *testing.T) {
	data := testData(10_000, 9)
	path := filepath.Join(t.TempDir(), "x.zst")
	require.NoError(t, os.WriteFile(path, compress(t, data, WithFrameSize(4096)), 0o644))
	r, err := Open(path)
	require.NoError(t, err)
	assert.Equal(t, path, r.Name())
	p := make([]byte, 10)
	_, err = r.ReadAt(p, 5000)
	require.NoError(t, err)
	assert.Equal(t, data[5000:5010], p)
	require.NoError(t, r.Close())
	assert.ErrorIs(t, r.Close(), ErrClosed)
	_, err = r.ReadAt(p, 0)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = r.WriteTo(io.Discard)
	assert.ErrorIs(t, err, ErrClosed)

	_, err = Open(filepath.Join(t.TempDir(), "missing.zst"))
	assert.ErrorIs(t, err, os.ErrNotExist)
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

func TestPlainZstd(t *testing.T) {
	data := testData(300_000, 10)
	single := plainZstd(t, data)
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	// Two frames plus a skippable frame in between.
	multi := append(append(plainZstd(t, data[:1000]), 0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3), plainZstd(t, data[1000:])...)
	for name, file := range map[string][]byte{"single": single, "multi": multi} {
		t.Run(name, func(t *testing.T) {
			r := newReader(t, file)
			assert.Equal(t, int64(-1), r.Size())
			assert.Nil(t, r.SeekTable())
			assert.Equal(t, -1, r.frameAt(0))
			_, err := r.ReadAt(make([]byte, 4), 0)
			assert.ErrorIs(t, err, ErrNotSeekable)
			var out bytes.Buffer
			n, err := r.WriteTo(&out)
			require.NoError(t, err)
			assert.Equal(t, int64(len(data)), n)
			assert.True(t, bytes.Equal(data, out.Bytes()))
			s, err := r.Stream()
			require.NoError(t, err)
			got, err := io.ReadAll(s)
			require.NoError(t, err)
			s.Close()
			assert.True(t, bytes.Equal(data, got))
			assert.NoError(t, r.Verify())
		})
	}
}

func TestNotZstd(t *testing.T) {
	for name, b := range map[string][]byte{"empty": nil, "short": {0x28, 0xB5}, "text": []byte("hello world")} {
		_, err := NewReader(bytes.NewReader(b), int64(len(b)), WithName("f.zst"))
		assert.ErrorIs(t, err, ErrNotZstd, name)
		var pe *fs.PathError
		if assert.ErrorAs(t, err, &pe, name) {
			assert.Equal(t, "f.zst", pe.Path, name)
			assert.Equal(t, "open", pe.Op, name)
		}
		// Without a name the error is the bare sentinel-wrapping one.
		_, err = NewReader(bytes.NewReader(b), int64(len(b)))
		assert.ErrorIs(t, err, ErrNotZstd, name)
		assert.False(t, errors.As(err, &pe), name)
	}
}

func TestRecordFrameSize(t *testing.T) {
	for _, tc := range []struct {
		frame   int
		records []int
		want    int
	}{
		{100, nil, 100},
		{100, []int{12}, 96},
		{100, []int{120, 8}, 96},
		{100, []int{120, 200}, 200},
		{100, []int{MaxFrameSize + 1}, 100},
		{5, []int{12, 4}, 4},
		{12, []int{12, 4}, 12},
	} {
		assert.Equal(t, tc.want, recordFrameSize(tc.frame, tc.records), "%d %v", tc.frame, tc.records)
	}
}
