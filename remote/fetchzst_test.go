package remote

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/internal/servertest"
	"github.com/arrfile/arrfile/npy"
	"github.com/klauspost/compress/zstd"
)

// makeRandomZst returns the .npy and .npy.zst (64 KiB frames) of n uniform
// random float64 values, which compress by a few percent only.
func makeRandomZst(t testing.TB, n int) (raw, z []byte) {
	t.Helper()
	v := make([]float64, n)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range v {
		v[i] = r.Float64()
	}
	var b, zb bytes.Buffer
	if err := npy.Write(&b, v); err != nil {
		t.Fatal(err)
	}
	if _, err := npyzst.Compress(&zb, bytes.NewReader(b.Bytes()), zstdseek.WithFrameSize(64<<10)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), zb.Bytes()
}

// wantGroups counts the GETs of a fetch of the frames of z in groups of
// whole frames of at most part (+1/64) compressed bytes, written out
// plainly.
func wantGroups(t *testing.T, z []byte, part int64) (groups, frames int) {
	t.Helper()
	zr, err := zstdseek.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	var cur int64 = -1
	for _, f := range zr.SeekTable().Frames {
		if f.DecompressedSize == 0 {
			continue
		}
		frames++
		if cur >= 0 && cur+f.CompressedSize <= part+part/64 {
			cur += f.CompressedSize
			continue
		}
		groups++
		cur = f.CompressedSize
	}
	return groups, frames
}

// checkFetched fails unless dest holds the array of raw.
func checkFetched(t *testing.T, dest string, raw []byte) {
	t.Helper()
	want, _, err := npy.Read[float64](bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := npy.ReadFile[float64](dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d elements, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("element %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// TestFetchZstGroups: a fetch of an .npy.zst costs the opening GET, the
// seek table's suffix GET and one GET per group of whole frames of about
// the part size, not one per frame.
func TestFetchZstGroups(t *testing.T) {
	raw, z := makeRandomZst(t, 600_000) // 4.8 MB in 74 frames of 64 KiB
	f := newFake(t, z)
	const part = 512 << 10
	groups, frames := wantGroups(t, z, part)
	if groups*4 > frames {
		t.Fatalf("test data: %d groups of %d frames", groups, frames)
	}
	dest := filepath.Join(t.TempDir(), "a.npy")
	res, err := Fetch(ctxT(t), f.url("a.npy.zst"), dest, WithPartSize(part), WithConcurrency(3))
	if err != nil {
		t.Fatal(err)
	}
	checkFetched(t, dest, raw)
	if want := int64(2 + groups); res.Requests != want || f.count() != want {
		t.Fatalf("%d requests (%d at the server), want 2 + %d groups of frames (%d frames): %q", res.Requests, f.count(), groups, frames, f.ranges)
	}
	for _, r := range f.ranges[2:] {
		var a, b int64
		if _, err := fmt.Sscanf(r, "bytes=%d-%d", &a, &b); err != nil || b-a+1 > part {
			t.Fatalf("range %q: more than a part (%v)", r, err)
		}
	}
}

// TestFetchZstFaults: a body cut inside a grouped part of an .npy.zst
// fetch is resumed, and an object replaced during the fetch is ErrChanged,
// never a mix.
func TestFetchZstFaults(t *testing.T) {
	raw, z := makeRandomZst(t, 600_000)
	const part = 512 << 10
	groups, _ := wantGroups(t, z, part)
	t.Run("cut inside a group", func(t *testing.T) {
		f := newFake(t, z)
		p := servertest.NewProxy(t, f.srv.URL)
		// Open, seek table, then groups: the second group's body is cut
		// half-way.
		p.Inject(servertest.GETs, servertest.Pass, servertest.Pass, servertest.Pass, servertest.Cut)
		dest := filepath.Join(t.TempDir(), "a.npy")
		res, err := Fetch(ctxT(t), p.URL+"/a.npy.zst", dest, WithPartSize(part), WithConcurrency(1), WithBackoff(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		checkFetched(t, dest, raw)
		if want := int64(2 + groups + 1); res.Requests != want {
			t.Fatalf("%d requests, want %d (one resumed): %q", res.Requests, want, p.Log())
		}
		log := p.Log()
		cut, resumed := log[3], log[4]
		if cut[strings.LastIndexByte(cut, '-'):] != resumed[strings.LastIndexByte(resumed, '-'):] || cut == resumed {
			t.Fatalf("cut %q resumed as %q, want the rest of the same range", cut, resumed)
		}
	})
	t.Run("replaced during the fetch", func(t *testing.T) {
		f := newFake(t, z)
		other := bytes.Clone(z)
		other[len(other)/2] ^= 1
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 4 {
				f.set(other)
			}
			f.serve(w, r)
		}))
		defer srv.Close()
		dest := filepath.Join(t.TempDir(), "a.npy")
		_, err := Fetch(ctxT(t), srv.URL+"/a.npy.zst", dest, WithPartSize(part), WithConcurrency(2), WithBackoff(time.Millisecond))
		if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), srv.URL) {
			t.Fatalf("%v, want ErrChanged naming the URL", err)
		}
		if _, _, err := npy.ReadFile[float64](dest); err == nil {
			t.Fatal("a failed fetch published dest")
		}
	})
}

// TestS3FetchZstCut: against versitygw, a body cut inside a grouped part
// of an .npy.zst fetch is resumed from where it stopped, with the ETag of
// the opening as If-Match.
func TestS3FetchZstCut(t *testing.T) {
	_, p := s3Setup(t)
	raw, z := makeRandomZst(t, 600_000)
	upload(t, "r.npy.zst", z)
	const part = 512 << 10
	groups, _ := wantGroups(t, z, part)
	p.Reset()
	p.Inject(servertest.GETs, servertest.Pass, servertest.Pass, servertest.Cut, servertest.Pass, servertest.Cut)
	dest := filepath.Join(t.TempDir(), "r.npy")
	res, err := Fetch(ctxT(t), "s3://arr/r.npy.zst", dest, WithPartSize(part), WithBackoff(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	checkFetched(t, dest, raw)
	if want := int64(2 + groups + 2); res.Requests != want || p.Requests() != want {
		t.Fatalf("%d requests (%d at the proxy), want %d (two resumed): %q", res.Requests, p.Requests(), want, p.Log())
	}
}

// TestFetchZstIgnoresRange: from a server that ignores Range (nginx behind
// a proxy that strips it), an .npy.zst is fetched from one stream of the
// object after the opening and the seek table's stream, not one stream per
// group; a body cut in the middle is streamed again, skipping the groups
// already decompressed.
func TestFetchZstIgnoresRange(t *testing.T) {
	h := servertest.StartHTTP(t)
	p := servertest.NewProxy(t, h.URL)
	raw, z := makeRandomZst(t, 600_000)
	if err := os.WriteFile(filepath.Join(h.Root, "a.npy.zst"), z, 0o644); err != nil {
		t.Fatal(err)
	}
	p.Always(servertest.IgnoreRange)
	defer p.Always(servertest.Pass)
	const part = 512 << 10
	groups, _ := wantGroups(t, z, part)
	var streams int64
	for _, cut := range []bool{false, true} {
		p.Reset()
		if cut {
			// The opening and the suffix GET, the seek table's reads,
			// then the stream: cut.
			fs := make([]servertest.Fault, streams)
			for i := range fs {
				fs[i] = servertest.IgnoreRange
			}
			fs[streams-1] = servertest.Cut // no Range to strip
			p.Inject(servertest.GETs, fs...)
		}
		dest := filepath.Join(t.TempDir(), "a.npy")
		res, err := Fetch(ctxT(t), p.URL+"/a.npy.zst", dest, WithPartSize(part), WithBackoff(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		checkFetched(t, dest, raw)
		if !cut {
			streams = res.Requests
			t.Logf("%d requests: %q", streams, p.Log())
			// The opening and the suffix GET sent with it (whose whole
			// object is dropped unread), one stream for the seek table at
			// the end (kept as the tail), one stream for the frames.
			if streams != 4 {
				t.Fatalf("%d requests for %d groups, want 4: %q", streams, groups, p.Log())
			}
		} else if res.Requests != streams+1 {
			t.Fatalf("cut stream: %d requests, want %d: %q", res.Requests, streams+1, p.Log())
		}
	}
}

// TestFetchZstLayouts: frames that hold the header and the first data
// together and do not end on element boundaries, an empty array, and a
// plain zstd file (no seek table) all fetch to the same array.
func TestFetchZstLayouts(t *testing.T) {
	raw, _ := makeRandomZst(t, 100_000)
	empty, _ := makeNpy(t, 0)
	seekable := func(b []byte, frame int) []byte {
		var out bytes.Buffer
		w, err := zstdseek.NewWriter(&out, zstdseek.WithFrameSize(frame))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	plain := func(b []byte) []byte {
		e, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		return e.EncodeAll(b, nil)
	}
	for _, c := range []struct {
		name string
		raw  []byte
		z    []byte
	}{
		{"frames across the header", raw, seekable(raw, 100_003)},
		{"empty array", empty, seekable(empty, 1<<20)},
		{"plain zstd", raw, plain(raw)},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, c.z)
			dest := filepath.Join(t.TempDir(), "a.npy")
			if _, err := Fetch(ctxT(t), f.url("a.npy.zst"), dest, WithPartSize(256<<10)); err != nil {
				t.Fatal(err)
			}
			checkFetched(t, dest, c.raw)
		})
	}
}

// TestFetchZstCorrupt: a damaged frame fails the fetch with the decoder's
// error naming the URL, and nothing is published.
func TestFetchZstCorrupt(t *testing.T) {
	_, z := makeRandomZst(t, 300_000)
	zr, err := zstdseek.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	fr := zr.SeekTable().Frames[len(zr.SeekTable().Frames)/2]
	bad := bytes.Clone(z)
	bad[fr.CompressedOffset+fr.CompressedSize/2] ^= 0x40
	f := newFake(t, bad)
	dest := filepath.Join(t.TempDir(), "a.npy")
	_, err = Fetch(ctxT(t), f.url("a.npy.zst"), dest, WithPartSize(256<<10))
	if !errors.Is(err, zstdseek.ErrCorrupt) && !errors.Is(err, zstdseek.ErrChecksum) || !strings.Contains(err.Error(), f.url("a.npy.zst")) {
		t.Fatalf("%v, want a zstdseek error naming the URL", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dest after a failed fetch: %v", err)
	}
}

// TestFetchZstSkippable: a skippable frame between data frames (user
// metadata, say) is not downloaded by a fetch.
func TestFetchZstSkippable(t *testing.T) {
	raw, _ := makeRandomZst(t, 100_000)
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	h, err := npy.ReadHeader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	// The header in a frame of its own (as npyzst writes it), then the
	// data in two frames around a 1 MiB skippable frame.
	ho, half := int(h.DataOffset), len(raw)/2
	hf := enc.EncodeAll(raw[:ho], nil)
	a, b := enc.EncodeAll(raw[ho:half], nil), enc.EncodeAll(raw[half:], nil)
	skip := make([]byte, 8+1<<20)
	copy(skip, []byte{0x50, 0x2a, 0x4d, 0x18})
	skip[4], skip[5], skip[6] = 0, 0, 0x10 // 1 MiB of content
	var z []byte
	z = append(append(append(append(z, hf...), a...), skip...), b...)
	st := &zstdseek.SeekTable{Frames: []zstdseek.Frame{
		{CompressedSize: int64(len(hf)), DecompressedSize: int64(ho)},
		{CompressedSize: int64(len(a)), DecompressedSize: int64(half - ho)},
		{CompressedSize: int64(len(skip))},
		{CompressedSize: int64(len(b)), DecompressedSize: int64(len(raw) - half)},
	}}
	if z, err = st.AppendBinary(z); err != nil {
		t.Fatal(err)
	}
	f := newFake(t, z)
	dest := filepath.Join(t.TempDir(), "a.npy")
	if _, err := Fetch(ctxT(t), f.url("a.npy.zst"), dest, WithPartSize(256<<10)); err != nil {
		t.Fatal(err)
	}
	checkFetched(t, dest, raw)
	var fetched int64
	for _, r := range f.ranges {
		var s, e int64
		if _, err := fmt.Sscanf(r, "bytes=%d-%d", &s, &e); err == nil {
			fetched += e - s + 1
		} else if _, err := fmt.Sscanf(r, "bytes=-%d", &s); err == nil {
			fetched += s
		}
	}
	if want := int64(len(a)+len(b)) + 2*DefaultHeadSize; fetched > want {
		t.Fatalf("%d bytes fetched, want at most %d without the skippable frame: %q", fetched, want, f.ranges)
	}
}

// TestFrameGroupsHostileTable: a seek table listing a frame of 1 KiB of
// data as 4 GiB of compressed bytes is refused before any buffer is made
// for it (a fetch would otherwise allocate and download the 4 GiB); frames
// within the bound group as usual.
func TestFrameGroupsHostileTable(t *testing.T) {
	tab := &zstdseek.SeekTable{Frames: []zstdseek.Frame{
		{CompressedOffset: 0, CompressedSize: 100, DecompressedOffset: 0, DecompressedSize: 128},
		{CompressedOffset: 100, CompressedSize: 1<<32 - 1, DecompressedOffset: 128, DecompressedSize: 1024},
	}}
	if _, err := frameGroups(tab, 0, 1152, 8<<20); !errors.Is(err, zstdseek.ErrCorrupt) {
		t.Fatalf("hostile table: %v, want ErrCorrupt", err)
	}
	tab.Frames[1].CompressedSize = 1100 // raw blocks: a little over the data
	gs, err := frameGroups(tab, 0, 1152, 8<<20)
	if err != nil || len(gs) != 1 || gs[0].off != 0 || gs[0].end != 1200 {
		t.Fatalf("groups %+v, %v: want one group of bytes 0-1200", gs, err)
	}
}
