package zstdseek

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// fuzzMaxFrame is the reader's frame and window limit in the fuzz targets:
// it bounds the decoder's memory to 16 MiB per frame.
const fuzzMaxFrame = 16 << 20

func FuzzParseSeekTable(f *testing.F) {
	for _, tab := range []*SeekTable{
		{},
		{Checksums: true},
		{Frames: []Frame{{CompressedSize: 9, DecompressedSize: 0}}},
		{Checksums: true, Frames: []Frame{{CompressedSize: 100, DecompressedSize: 1000, Checksum: 7}, {CompressedSize: 8}}},
	} {
		b, err := tab.AppendBinary(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x5E, 0x2A, 0x4D, 0x18, 9, 0, 0, 0, 0, 0, 0, 0, 0x7C, 0xB1, 0xEA, 0x92, 0x8F})
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := ParseSeekTable(b)
		if err != nil {
			if !errors.Is(err, ErrBadSeekTable) {
				t.Fatalf("error %v does not wrap ErrBadSeekTable", err)
			}
			return
		}
		// Round trip: re-encoding gives the input with the unused
		// descriptor bits cleared.
		out, err := tab.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte(nil), b...)
		want[len(want)-5] &^= 0x03
		if !bytes.Equal(out, want) {
			t.Fatalf("round trip differs:\n in %x\nout %x", want, out)
		}
		// The table read from a file of exactly the right size agrees.
		var total int64
		for _, f := range tab.Frames {
			total += f.CompressedSize
		}
		if total > 1<<20 {
			return
		}
		file := append(make([]byte, total), b...)
		if _, err := readSeekTable(bytes.NewReader(file), int64(len(file)), 0); err != nil {
			t.Fatalf("readSeekTable rejects a table ParseSeekTable accepts: %v", err)
		}
	})
}

// fuzzSeeds returns small valid and near-valid zstd files.
func fuzzSeeds(tb testing.TB) [][]byte {
	data := testData(3000, 40)
	var seeds [][]byte
	var buf bytes.Buffer
	for _, opts := range [][]WriterOption{
		{WithFrameSize(1000)},
		{WithFrameSize(700), WithChecksum(false)},
		{WithFrameSize(2000), WithFrameCRC(false)},
	} {
		buf.Reset()
		w, err := NewWriter(&buf, opts...)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(data)
		w.Close()
		seeds = append(seeds, append([]byte(nil), buf.Bytes()...))
	}
	buf.Reset()
	if w, err := NewWriter(&buf, WithFrameSize(4800)); err == nil {
		w.Write(normalFloats(600)) // literal-only frame
		w.Close()
		seeds = append(seeds, append([]byte(nil), buf.Bytes()...))
	}
	enc, _ := zstd.NewWriter(nil)
	seeds = append(seeds, enc.EncodeAll(data, nil))
	enc.Close()
	empty := &bytes.Buffer{}
	w, _ := NewWriter(empty)
	w.Close()
	seeds = append(seeds, empty.Bytes())
	raw := rawFrame([]byte("hello"), 0)
	tab, _ := (&SeekTable{Checksums: true, Frames: []Frame{{CompressedSize: int64(len(raw)), DecompressedSize: 5, Checksum: uint32(xxhash.Sum64String("hello"))}}}).AppendBinary(nil)
	seeds = append(seeds, append(raw, tab...))
	return seeds
}

// hashWriter hashes what it is given without keeping it.
type hashWriter struct {
	h *xxhash.Digest
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return w.h.Write(p)
}

func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		r, err := NewReader(bytes.NewReader(file), int64(len(file)), WithMaxFrameSize(fuzzMaxFrame), WithConcurrency(2))
		if err != nil {
			return
		}
		defer r.Close()
		whole := &hashWriter{h: xxhash.New()}
		n, werr := r.WriteTo(whole)
		if r.SeekTable() == nil {
			if _, err := r.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrNotSeekable) {
				t.Fatalf("ReadAt on a plain file: %v", err)
			}
			return
		}
		if werr == nil && n != r.Size() {
			t.Fatalf("WriteTo wrote %d bytes, Size is %d", n, r.Size())
		}
		// An empty read at any frame boundary reads nothing.
		for _, f := range r.SeekTable().Frames {
			if m, err := r.ReadAt(nil, f.DecompressedOffset); m != 0 || err != nil {
				t.Fatalf("empty ReadAt at %d: %d, %v", f.DecompressedOffset, m, err)
			}
		}
		// Differential: ReadAt in chunks must agree with WriteTo.
		chunks := &hashWriter{h: xxhash.New()}
		p := make([]byte, 1<<16)
		var rerr error
		for off := int64(0); off < r.Size(); off += int64(len(p)) {
			m, err := r.ReadAt(p, off)
			chunks.Write(p[:m])
			if err != nil && err != io.EOF {
				rerr = err
				break
			}
		}
		// ReadAt never needs frames of decompressed size 0, so it may
		// succeed where WriteTo (which checks every frame) fails; the
		// converse is a bug.
		if werr == nil && rerr != nil {
			t.Fatalf("WriteTo succeeded but ReadAt failed: %v", rerr)
		}
		if werr == nil && whole.h.Sum64() != chunks.h.Sum64() {
			t.Fatal("ReadAt and WriteTo disagree")
		}
	})
}
