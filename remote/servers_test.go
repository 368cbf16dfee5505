package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/internal/servertest"
	"github.com/arrfile/arrfile/npy"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Setup starts versitygw with a proxy in front of it, points the AWS
// configuration at the proxy and makes bucket "arr".
func s3Setup(t *testing.T) (*servertest.S3, *servertest.Proxy) {
	t.Helper()
	s := servertest.StartS3(t)
	p := servertest.NewProxy(t, s.Endpoint)
	s.Env(t, p.URL)
	s.Bucket(t, "arr")
	return s, p
}

// upload puts data at s3://arr/key through Put.
func upload(t *testing.T, key string, data []byte, opts ...Option) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "up")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Put(ctxT(t), file, "s3://arr/"+key, opts...); err != nil {
		t.Fatal(err)
	}
}

func TestS3RequestCounts(t *testing.T) {
	s, p := s3Setup(t)
	raw, _ := makeNpy(t, 100_000)
	upload(t, "a.npy", raw)
	z := makeZst(t, 1_000_000, 256<<10)
	upload(t, "a.npy.zst", z)

	p.Reset()
	logged := s.LoggedRequests(t)
	o, err := Open(ctxT(t), "s3://arr/a.npy")
	if err != nil {
		t.Fatal(err)
	}
	h, err := npy.ReadHeader(io.NewSectionReader(o, 0, o.Size()))
	if err != nil || h.Shape[0] != 100_000 {
		t.Fatal(h, err)
	}
	if n := p.Requests(); n != 1 {
		t.Fatalf("open of .npy: %d requests, want 1: %q", n, p.Log())
	}
	if n := s.LoggedRequests(t) - logged; n != 1 {
		t.Fatalf("open of .npy: versitygw logged %d requests, want 1", n)
	}

	p.Reset()
	oz, err := Open(ctxT(t), "s3://arr/a.npy.zst")
	if err != nil {
		t.Fatal(err)
	}
	r, err := npyzst.NewReader(oz, oz.Size())
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Requests(); n != 2 {
		t.Fatalf("open of .npy.zst: %d requests, want 2 (the opening and suffix GETs): %q", n, p.Log())
	}
	v, err := npyzst.ReadElements[float64](r, 654_321, 654_322)
	if err != nil || v[0] != 654_321*0.5 {
		t.Fatal(v, err)
	}
	if n := p.Requests(); n != 3 {
		t.Fatalf("one element of .npy.zst: %d requests, want 3: %q", n, p.Log())
	}
	t.Logf("requests: %q", p.Log())
}

func TestS3Faults(t *testing.T) {
	s, p := s3Setup(t)
	raw, _ := makeNpy(t, 300_000)
	upload(t, "a.npy", raw)
	read := func(opts ...Option) ([]byte, *Object, error) {
		o, err := Open(ctxT(t), "s3://arr/a.npy", append([]Option{WithBackoff(time.Millisecond), WithPartSize(1 << 20)}, opts...)...)
		if err != nil {
			return nil, nil, err
		}
		got := make([]byte, len(raw))
		_, err = o.ReadAt(got, 0)
		return got, o, err
	}
	t.Run("cut bodies resumed", func(t *testing.T) {
		p.Inject(servertest.GETs, servertest.Pass, servertest.Cut, servertest.Cut)
		got, _, err := read()
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatal(err)
		}
	})
	t.Run("503 SlowDown burst", func(t *testing.T) {
		p.Inject(servertest.GETs, servertest.Pass, servertest.Unavailable, servertest.Unavailable, servertest.Unavailable)
		got, _, err := read()
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatal(err)
		}
	})
	t.Run("wrong Content-Range", func(t *testing.T) {
		p.Inject(servertest.GETs, servertest.Pass, servertest.WrongRange)
		if _, _, err := read(); !errors.Is(err, ErrBadResponse) {
			t.Fatalf("%v, want ErrBadResponse", err)
		}
	})
	t.Run("slow server", func(t *testing.T) {
		o, err := Open(ctxT(t), "s3://arr/a.npy", WithTimeout(200*time.Millisecond), WithRetries(1), WithBackoff(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		p.Inject(servertest.GETs, servertest.Slow, servertest.Slow)
		if _, err := o.ReadAt(make([]byte, 100), 200_000); !errors.Is(err, ErrTimeout) {
			t.Fatalf("%v, want ErrTimeout", err)
		}
	})
	t.Run("replaced between reads", func(t *testing.T) {
		o, err := Open(ctxT(t), "s3://arr/a.npy")
		if err != nil {
			t.Fatal(err)
		}
		other := bytes.Clone(raw)
		other[len(other)-1] ^= 1
		upload(t, "a.npy", other)
		defer upload(t, "a.npy", raw)
		_, err = o.ReadAt(make([]byte, 100), 200_000)
		if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "s3://arr/a.npy") {
			t.Fatalf("%v, want ErrChanged naming the URL", err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		_, err := Open(ctxT(t), "s3://arr/none.npy")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("%v, want ErrNotFound", err)
		}
	})
	t.Run("wrong credentials", func(t *testing.T) {
		servertest.Env(t, p.URL, s.Access, "wrong-secret-0123456789")
		_, err := Open(ctxT(t), "s3://arr/a.npy")
		if !errors.Is(err, ErrAccessDenied) {
			t.Fatalf("%v, want ErrAccessDenied", err)
		}
		noSecret(t, err.Error(), "wrong-secret-0123456789")
		noSecret(t, err.Error(), s.Secret)
		t.Log(err)
	})
}

func TestS3Multipart(t *testing.T) {
	s, p := s3Setup(t)
	big := make([]byte, 12<<20+12345)
	for i := range big {
		big[i] = byte(i * 31 >> 3)
	}
	upload(t, "big.bin", big, WithPartSize(5<<20))
	o, err := Open(ctxT(t), "s3://arr/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(big))
	if _, err := o.ReadAt(got, 0); err != nil || !bytes.Equal(got, big) {
		t.Fatal(err)
	}

	// A part refused: the upload is aborted, no parts remain, no object.
	p.Inject(func(r *http.Request) bool {
		return r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2"
	}, servertest.Forbidden)
	file := filepath.Join(t.TempDir(), "big")
	os.WriteFile(file, big, 0o644)
	err = Put(ctxT(t), file, "s3://arr/failed.bin", WithPartSize(5<<20))
	if !errors.Is(err, ErrUpload) || !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("%v, want ErrUpload and ErrAccessDenied: %q", err, p.Log())
	}
	s.Env(t, s.Endpoint)
	cfg, _ := newConfig(nil)
	c, err := newS3Client(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	bucket := "arr"
	out, err := c.ListMultipartUploads(ctxT(t), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Fatalf("%d multipart uploads remain", len(out.Uploads))
	}
	if _, err := Open(ctxT(t), "s3://arr/failed.bin"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("%v, want ErrNotFound", err)
	}

	// Cancelled while a part hangs: aborted as well.
	s.Env(t, p.URL)
	p.Inject(func(r *http.Request) bool {
		return r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2"
	}, servertest.Slow)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	if err := Put(ctx, file, "s3://arr/cancelled.bin", WithPartSize(5<<20)); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	out, err = c.ListMultipartUploads(ctxT(t), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Fatalf("%d multipart uploads remain after cancellation", len(out.Uploads))
	}
}

func TestS3ListAndFetch(t *testing.T) {
	_, p := s3Setup(t)
	raw, v := makeNpy(t, 200_000)
	upload(t, "d/a.npy", raw)
	upload(t, "d/b.npy", raw)
	upload(t, "d/c.npy.zst", makeZst(t, 1000, 4096))
	upload(t, "d/readme.txt", []byte("hi"))
	p.Reset()
	es, err := List(ctxT(t), "s3://arr/d/")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 {
		t.Fatal(es)
	}
	for _, e := range es {
		if e.Err != nil || e.Header == nil {
			t.Fatal(e.URL, e.Err)
		}
	}
	if es[2].Format != "npy.zst" || es[2].Header.Shape[0] != 1000 || es[0].Header.Shape[0] != 200_000 {
		t.Fatal(es)
	}
	// 1 list + 1 per array (see TestS3ListRequests).
	if n := p.Requests(); n != 4 {
		t.Fatalf("%d requests, want 4: %q", n, p.Log())
	}

	dest := filepath.Join(t.TempDir(), "a.npy")
	if _, err := Fetch(ctxT(t), "s3://arr/d/a.npy", dest, WithPartSize(256<<10)); err != nil {
		t.Fatal(err)
	}
	got, _, err := npy.ReadFile[float64](dest)
	if err != nil || got[199_999] != v[199_999] {
		t.Fatal(err)
	}
	dz := filepath.Join(t.TempDir(), "c.npy")
	if _, err := Fetch(ctxT(t), "s3://arr/d/c.npy.zst", dz); err != nil {
		t.Fatal(err)
	}
	gz, _, err := npy.ReadFile[float64](dz)
	if err != nil || len(gz) != 1000 || gz[999] != 999*0.5 {
		t.Fatal(err)
	}
}

// manifestEntry is one file of testdata/npy/manifest.json (written by
// NumPy, with the SHA-256 of its canonical bytes).
type manifestEntry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Legacy bool   `json:"legacy"`
}

func TestNumPyFilesOverHTTP(t *testing.T) {
	h := servertest.StartHTTP(t)
	p := servertest.NewProxy(t, h.URL)
	b, err := os.ReadFile("../testdata/npy/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Files []manifestEntry `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, e := range m.Files {
		data, err := os.ReadFile(filepath.Join("../testdata/npy", e.Name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(h.Root, e.Name), data, 0o644)
	}
	for _, e := range m.Files {
		p.Reset()
		o, err := Open(ctxT(t), p.URL+"/"+e.Name)
		if err != nil {
			t.Fatal(err)
		}
		hd, err := npy.ReadHeader(io.NewSectionReader(o, 0, o.Size()))
		if err != nil {
			t.Fatal(e.Name, err)
		}
		data := make([]byte, hd.DataSize())
		if _, err := o.ReadAt(data, hd.DataOffset); err != nil && !(err == io.EOF && len(data) == 0) {
			t.Fatal(e.Name, err)
		}
		var c bytes.Buffer
		if err := npy.WriteCanonical(&c, hd, data); err != nil {
			t.Fatal(e.Name, err)
		}
		sum := sha256.Sum256(c.Bytes())
		if hex.EncodeToString(sum[:]) != e.SHA256 {
			t.Errorf("%s: canonical SHA-256 differs from NumPy's", e.Name)
		}
		// The header is in the opening 64 KiB; so is all of a small file.
		want := int64(1)
		if hd.DataOffset+hd.DataSize() > DefaultHeadSize {
			want = 2
		}
		if n := p.Requests(); n != want {
			t.Errorf("%s: %d requests, want %d", e.Name, n, want)
		}
	}
	// An .npz written by NumPy: the directory and members through ranges.
	for _, name := range []string{"savez.npz", "savez_compressed.npz"} {
		data, err := os.ReadFile(filepath.Join("../testdata/npz", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(h.Root, name), data, 0o644)
		lz, err := npz.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		o, err := Open(ctxT(t), h.URL+"/"+name)
		if err != nil {
			t.Fatal(err)
		}
		z, err := npz.NewReader(o, o.Size())
		if err != nil {
			t.Fatal(name, err)
		}
		if err := z.Verify(); err != nil {
			t.Fatal(name, err)
		}
		if len(z.Members()) != len(lz.Members()) {
			t.Fatal(name, len(z.Members()))
		}
	}
	t.Logf("nginx access log: %d lines", h.LoggedRequests(t))
}

func TestFetchLargeOverHTTP(t *testing.T) {
	h := servertest.StartHTTP(t)
	raw, v := makeNpy(t, 3_000_000)
	os.WriteFile(filepath.Join(h.Root, "big.npy"), raw, 0o644)
	dest := filepath.Join(t.TempDir(), "big.npy")
	res, err := Fetch(ctxT(t), h.URL+"/big.npy", dest, WithPartSize(4<<20))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := npy.ReadFile[float64](dest)
	if err != nil || got[2_999_999] != v[2_999_999] {
		t.Fatal(err)
	}
	// 1 opening GET, then 24 MB - 64 KiB in 4 MiB parts.
	if res.Requests != 7 {
		t.Fatalf("%d requests, want 7", res.Requests)
	}
}

// TestHTTPFaults runs the faults that need an unsigned server (a proxy
// that strips Range would break an S3 signature) against nginx.
func TestHTTPFaults(t *testing.T) {
	h := servertest.StartHTTP(t)
	p := servertest.NewProxy(t, h.URL)
	raw, _ := makeNpy(t, 300_000)
	name := filepath.Join(h.Root, "a.npy")
	os.WriteFile(name, raw, 0o644)
	u := p.URL + "/a.npy"
	read := func() ([]byte, *Object, error) {
		o, err := Open(ctxT(t), u, WithBackoff(time.Millisecond), WithPartSize(1<<20))
		if err != nil {
			return nil, nil, err
		}
		got := make([]byte, len(raw))
		_, err = o.ReadAt(got, 0)
		return got, o, err
	}
	t.Run("ignores Range", func(t *testing.T) {
		p.Always(servertest.IgnoreRange)
		defer p.Always(servertest.Pass)
		p.Reset()
		got, o, err := read()
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatal(err)
		}
		if !o.RangeIgnored() || p.Requests() != 2 {
			t.Fatalf("RangeIgnored %v, %d requests", o.RangeIgnored(), p.Requests())
		}
	})
	t.Run("cut bodies resumed", func(t *testing.T) {
		p.Inject(servertest.GETs, servertest.Pass, servertest.Cut, servertest.Cut, servertest.Cut)
		got, _, err := read()
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatal(err)
		}
	})
	t.Run("replaced between reads", func(t *testing.T) {
		o, err := Open(ctxT(t), u)
		if err != nil {
			t.Fatal(err)
		}
		other := bytes.Clone(raw)
		other[len(other)-1] ^= 1
		tmp := name + ".new"
		os.WriteFile(tmp, other, 0o644)
		later := time.Now().Add(time.Hour)
		os.Chtimes(tmp, later, later) // nginx's ETag is mtime-size
		os.Rename(tmp, name)
		_, err = o.ReadAt(make([]byte, 100), 200_000)
		if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), u) {
			t.Fatalf("%v, want ErrChanged naming the URL", err)
		}
	})
}
