package remote

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
	"github.com/klauspost/compress/zstd"
)

// noisyNpy returns an .npy of n float64 values that compress poorly.
func noisyNpy(t testing.TB, n int) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float64, n)
	for i := range v {
		v[i] = r.Float64()
	}
	var b bytes.Buffer
	if err := npy.Write(&b, v, 4, n/4); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// plainZst compresses raw as stock zstd does: one frame, no seek table.
func plainZst(t testing.TB, raw []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(raw, nil)
}

func headDecoder(t testing.TB) *zstd.Decoder {
	t.Helper()
	dec, err := newHeadDecoder(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.Close)
	return dec
}

func TestHeaderFromHead(t *testing.T) {
	dec := headDecoder(t)
	raw := noisyNpy(t, 40_000)
	want, err := npy.ReadHeader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	if _, err := npyzst.Compress(&zb, bytes.NewReader(raw), zstdseek.WithFrameSize(64<<10)); err != nil {
		t.Fatal(err)
	}
	z := zb.Bytes()
	head := z[:min(len(z), DefaultHeadSize)]

	h, end, ok := headerFromHead(dec, head)
	if !ok {
		t.Fatal("the header frame of npyzst's Writer is not read from the head")
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("header %+v, want %+v", h, want)
	}
	// end is the first frame's compressed size: the seek table says so.
	r, err := npyzst.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if f := r.Zstd().SeekTable().Frames[0]; end != f.CompressedSize || f.DecompressedSize != h.DataOffset {
		t.Fatalf("end %d, first frame %+v", end, f)
	}
	if err := checkZstSize(h, end, int64(len(z))); err != nil {
		t.Fatal(err)
	}

	// Where the header is not alone in a first frame that lies wholly in
	// the head, the caller falls back to the seek table.
	bad := bytes.Clone(head)
	bad[end-1] ^= 0xff // the frame checksum
	mixed := plainZst(t, raw[:1000])
	for name, b := range map[string][]byte{
		"frame cut by the head": head[:end-1],
		"checksum":              bad,
		"stock zstd":            plainZst(t, raw)[:DefaultHeadSize],
		"header and data":       mixed,
		"npy":                   raw[:100],
		"empty":                 nil,
	} {
		if _, _, ok := headerFromHead(dec, b); ok {
			t.Errorf("%s: header read from the head", name)
		}
	}
}

func TestCheckZstSize(t *testing.T) {
	h := &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{1 << 28}, DataOffset: 128}
	// 2 GiB of data: at least 6 + 4*16384 bytes after a 40-byte frame.
	if err := checkZstSize(h, 40, 40+6+4*16384); err != nil {
		t.Fatal(err)
	}
	err := checkZstSize(h, 40, 40+6+4*16384-1)
	if !errors.Is(err, npy.ErrTruncated) || !errors.Is(err, zstdseek.ErrTruncated) {
		t.Fatalf("%v, want ErrTruncated", err)
	}
	empty := &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{0}, DataOffset: 128}
	if err := checkZstSize(empty, 40, 40); err != nil {
		t.Fatal(err)
	}
}

// TestS3ListRequests counts the requests of List at the server: one
// ListObjectsV2 and one GET per array, whatever the array's size and
// format, when every .npy.zst comes from npyzst's Writer; and what the
// fallback costs for stock zstd files.
func TestS3ListRequests(t *testing.T) {
	s, p := s3Setup(t)
	raw, _ := makeNpy(t, 300_000) // 2.4 MB
	big := makeZst(t, 1_000_000, 256<<10)
	if len(big) <= DefaultHeadSize {
		t.Fatalf("%d-byte .npy.zst, want one over the head size", len(big))
	}
	noisy := noisyNpy(t, 40_000)
	var nz bytes.Buffer
	if _, err := npyzst.Compress(&nz, bytes.NewReader(noisy)); err != nil {
		t.Fatal(err)
	}
	upload(t, "l/a.npy", raw)
	upload(t, "l/b.npy.zst", big)
	upload(t, "l/c.npy.zst", makeZst(t, 1000, 4096))
	upload(t, "l/d.npy.zst", nz.Bytes())
	upload(t, "l/notes.txt", []byte("not an array"))

	p.Reset()
	logged := s.LoggedRequests(t)
	es, err := List(ctxT(t), "s3://arr/l/")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Fatalf("%d entries: %+v", len(es), es)
	}
	for _, e := range es {
		if e.Err != nil || e.Header == nil {
			t.Fatal(e.URL, e.Err)
		}
	}
	if es[0].Format != "npy" || es[0].Header.Shape[0] != 300_000 || es[1].Format != "npy.zst" || es[1].Header.Shape[0] != 1_000_000 ||
		!reflect.DeepEqual(es[3].Header.Shape, []int{4, 10_000}) {
		t.Fatalf("%+v", es)
	}
	// N arrays: 1 LIST page + N GETs, at the proxy and in versitygw's log.
	if n := p.Requests(); n != 1+4 {
		t.Fatalf("List of 4 arrays: %d requests, want 5: %q", n, p.Log())
	}
	if n := s.LoggedRequests(t) - logged; n != 1+4 {
		t.Fatalf("List of 4 arrays: versitygw logged %d requests, want 5", n)
	}
	for _, l := range p.Log()[1:] {
		if !strings.Contains(l, "bytes=0-65535") {
			t.Fatalf("not an opening GET: %q", l)
		}
	}

	// Stock zstd (one frame, no seek table) over the head size: the
	// header is not read from the head; npyzst.NewReader reads the tail
	// (no seek table there) and walks the frame's block headers.
	plain := plainZst(t, noisy)
	if len(plain) <= DefaultHeadSize {
		t.Fatalf("%d-byte stock zstd file", len(plain))
	}
	upload(t, "p/e.npy.zst", plain)
	p.Reset()
	es, err = List(ctxT(t), "s3://arr/p/")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Err != nil || !reflect.DeepEqual(es[0].Header.Shape, []int{4, 10_000}) {
		t.Fatalf("%+v", es)
	}
	if n := p.Requests(); n <= 2 {
		t.Fatalf("stock zstd: %d requests, want the fallback's more than 2: %q", n, p.Log())
	}
	t.Logf("stock zstd file of %d bytes: %d requests: %q", len(plain), p.Requests(), p.Log())

	// Objects shorter than their headers say.
	small := makeZst(t, 1000, 4096)
	h0, end, ok := headerFromHead(headDecoder(t), small)
	if !ok {
		t.Fatal("no header frame")
	}
	upload(t, "t/cut.npy.zst", small[:end+5])
	upload(t, "t/cut.npy", raw[:len(raw)-8])
	es, err = List(ctxT(t), "s3://arr/t/")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Fatalf("%+v", es)
	}
	for _, e := range es {
		if !errors.Is(e.Err, npy.ErrTruncated) || !strings.Contains(e.Err.Error(), e.URL) {
			t.Errorf("%s: %v, want npy.ErrTruncated naming the URL", e.URL, e.Err)
		}
	}
	t.Logf("%v; %v (header %v)", es[0].Err, es[1].Err, h0.Shape)
}

// headSeeds are the seeds of FuzzHeaderFromHead: heads of npyzst's
// Writer (whole, cut, empty array), stock zstd, an .npy, a bare magic.
func headSeeds(t testing.TB) [][]byte {
	raw := noisyNpy(t, 4000)
	var zb bytes.Buffer
	if _, err := npyzst.Compress(&zb, bytes.NewReader(raw), zstdseek.WithFrameSize(4096)); err != nil {
		t.Fatal(err)
	}
	z := zb.Bytes()
	return [][]byte{z, z[:60], makeZst(t, 0, 4096), makeZst(t, 10, 4096)[:40], plainZst(t, raw)[:500], raw[:200], {0x28, 0xb5, 0x2f, 0xfd}}
}

// FuzzHeaderFromHead feeds hostile first bytes to the header-frame
// decoder of List: no panic, and what it accepts is a frame within the
// bytes that stock zstd decodes to exactly the header it returned.
func FuzzHeaderFromHead(f *testing.F) {
	for _, s := range headSeeds(f) {
		f.Add(s)
	}
	dec := headDecoder(f)
	plain, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(plain.Close)
	f.Fuzz(func(t *testing.T, head []byte) {
		h, end, ok := headerFromHead(dec, head)
		if !ok {
			return
		}
		if end <= 0 || end > int64(len(head)) {
			t.Fatalf("frame end %d of %d bytes", end, len(head))
		}
		out, err := plain.DecodeAll(head[:end], nil)
		if err != nil {
			t.Fatal(err)
		}
		if h.DataOffset != int64(len(out)) || h.DataOffset > maxHeaderFrame {
			t.Fatalf("header of %d bytes from a %d-byte frame", h.DataOffset, len(out))
		}
		h2, err := npy.ReadHeader(bytes.NewReader(out))
		if err != nil || !reflect.DeepEqual(h, h2) {
			t.Fatal(h2, err)
		}
		checkZstSize(h, end, int64(len(head)))
	})
}
