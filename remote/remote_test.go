package remote

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
)

func TestOpenOneRequest(t *testing.T) {
	raw, _ := makeNpy(t, 1000)
	f := newFake(t, raw)
	o, err := Open(ctxT(t), f.url("a.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	h, err := npy.ReadHeader(io.NewSectionReader(o, 0, o.Size()))
	if err != nil {
		t.Fatal(err)
	}
	if o.Size() != int64(len(raw)) || h.Shape[0] != 1000 {
		t.Fatalf("size %d shape %v", o.Size(), h.Shape)
	}
	if n := f.count(); n != 1 {
		t.Fatalf("open + header: %d requests, want 1", n)
	}
	if o.ETag() == "" {
		t.Fatal("no ETag")
	}
}

func TestReadAtParts(t *testing.T) {
	raw, _ := makeNpy(t, 300_000) // 2.4 MB
	f := newFake(t, raw)
	o, err := Open(ctxT(t), f.url("a.npy"), WithPartSize(256<<10), WithConcurrency(3))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	got := make([]byte, len(raw))
	if n, err := o.ReadAt(got, 0); err != nil || n != len(raw) {
		t.Fatal(n, err)
	}
	if !bytes.Equal(got, raw) {
		t.Fatal("bytes differ")
	}
	// The head is served from the opening request, the rest in 256 KiB parts.
	want := 1 + (int64(len(raw))-DefaultHeadSize+256<<10-1)/(256<<10)
	if n := f.count(); n != want {
		t.Fatalf("%d requests, want %d", n, want)
	}
	// Past the end: short read with io.EOF.
	p := make([]byte, 100)
	if n, err := o.ReadAt(p, int64(len(raw))-10); n != 10 || err != io.EOF || !bytes.Equal(p[:10], raw[len(raw)-10:]) {
		t.Fatal(n, err)
	}
	if _, err := o.ReadAt(p, int64(len(raw))); err != io.EOF {
		t.Fatal(err)
	}
}

// The head boundary: a header that ends exactly at, one past and one
// before the head's last byte (huggingface_hub#4602's off-by-one).
func TestHeadBoundary(t *testing.T) {
	for _, size := range []int{1023, 1024, 1025, 4096} {
		data := bytes.Repeat([]byte{7}, size)
		f := newFake(t, data)
		o, err := Open(ctxT(t), f.url("x"), WithHeadSize(1024))
		if err != nil {
			t.Fatal(size, err)
		}
		got := make([]byte, size)
		if _, err := o.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
			t.Fatal(size, err)
		}
		if want := min(int64(len(o.head)), 1024); int64(len(o.head)) != want || want != min(int64(size), 1024) {
			t.Fatalf("size %d: head %d", size, len(o.head))
		}
	}
}

func TestEmptyObject(t *testing.T) {
	f := newFake(t, nil)
	o, err := Open(ctxT(t), f.url("e"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Size() != 0 {
		t.Fatal(o.Size())
	}
	if _, err := o.ReadAt(make([]byte, 1), 0); err != io.EOF {
		t.Fatal(err)
	}
}

func TestNpyZstRequests(t *testing.T) {
	z := makeZst(t, 1_000_000, 256<<10) // 8 MB of data in 32 frames
	f := newFake(t, z)
	o, err := Open(ctxT(t), f.url("a.npy.zst"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	r, err := npyzst.NewReader(o, o.Size())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := f.count(); n != 2 {
		t.Fatalf("open of .npy.zst: %d requests, want 2", n)
	}
	v, err := npyzst.ReadElements[float64](r, 777_777, 777_778)
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != 777_777*0.5 {
		t.Fatal(v)
	}
	if n := f.count(); n != 3 {
		t.Fatalf("one element of .npy.zst: %d requests in all, want 3 (%q)", n, f.ranges)
	}
}

func TestReadRangesMerge(t *testing.T) {
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	f := newFake(t, data)
	o, err := Open(ctxT(t), f.url("x"), WithMergeGap(1000))
	if err != nil {
		t.Fatal(err)
	}
	base := f.count()
	rs := []Range{
		{Off: 1 << 20, P: make([]byte, 100)},
		{Off: 1<<20 + 600, P: make([]byte, 100)},  // gap 500: merged
		{Off: 1<<20 + 5000, P: make([]byte, 100)}, // gap 4300: own request
		{Off: 3 << 20, P: make([]byte, 10)},
	}
	if err := o.ReadRanges(ctxT(t), rs); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if !bytes.Equal(r.P, data[r.Off:r.Off+int64(len(r.P))]) {
			t.Fatal("bytes differ at", r.Off)
		}
	}
	if n := f.count() - base; n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestChanged(t *testing.T) {
	raw, _ := makeNpy(t, 100_000)
	for _, noETag := range []bool{false, true} {
		f := newFake(t, raw)
		f.noETag = noETag
		o, err := Open(ctxT(t), f.url("a.npy"))
		if err != nil {
			t.Fatal(err)
		}
		other := bytes.Clone(raw)
		other[len(other)-1] ^= 1
		f.set(other)
		_, err = o.ReadAt(make([]byte, 1000), int64(len(raw))-300_000)
		if !errors.Is(err, ErrChanged) {
			t.Fatalf("noETag=%v: %v, want ErrChanged", noETag, err)
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Path != f.url("a.npy") {
			t.Fatalf("%#v", err)
		}
	}
}

// statusServer answers every request with code, counting them.
func statusServer(t *testing.T, code int) (*httptest.Server, *atomic.Int64) {
	n := new(atomic.Int64)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s, n
}

func TestStatusErrors(t *testing.T) {
	for _, c := range []struct {
		code  int
		want  error
		tries int
	}{
		{404, ErrNotFound, 1},
		{403, ErrAccessDenied, 1},
		{401, ErrAccessDenied, 1},
		{416, ErrRange, 1},
		{500, ErrServer, 3},
		{429, ErrServer, 3},
		{503, ErrServer, 3},
	} {
		s, n := statusServer(t, c.code)
		_, err := Open(ctxT(t), s.URL+"/x.npy?X-Amz-Signature=SECRETSIG", WithRetries(2), WithBackoff(time.Millisecond))
		if !errors.Is(err, c.want) || n.Load() != int64(c.tries) {
			t.Fatalf("%d: %v after %d requests, want %v after %d", c.code, err, n.Load(), c.want, c.tries)
		}
		noSecret(t, err.Error(), "SECRETSIG")
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("more than one line: %q", err)
		}
	}
}

// flaky fails the first n requests with fault, then serves the object.
type flaky struct {
	mu    sync.Mutex
	f     *fake
	n     int
	total atomic.Int64 // requests received
	fault func(w http.ResponseWriter, r *http.Request)
}

func (x *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x.total.Add(1)
	x.mu.Lock()
	fail := x.n > 0 && r.Header.Get("Range") != "bytes=0-65535"
	if fail {
		x.n--
	}
	x.mu.Unlock()
	if fail {
		x.fault(w, r)
		return
	}
	x.f.serve(w, r)
}

func TestRetries(t *testing.T) {
	raw, _ := makeNpy(t, 200_000)
	cases := map[string]func(f *fake) func(w http.ResponseWriter, r *http.Request){
		"503 SlowDown": func(*fake) func(w http.ResponseWriter, r *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }
		},
		"cut body": func(f *fake) func(w http.ResponseWriter, r *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				f.serve(rec, r)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			}
		},
		"reset": func(*fake) func(w http.ResponseWriter, r *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			f := &fake{}
			f.set(raw)
			fl := &flaky{f: f, n: 3}
			fl.fault = mk(f)
			s := httptest.NewServer(fl)
			defer s.Close()
			o, err := Open(ctxT(t), s.URL+"/a.npy", WithBackoff(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(raw))
			if _, err := o.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, raw) {
				t.Fatal("bytes differ")
			}
			// net/http itself repeats a GET whose reused connection broke
			// before any reply: the server may see one request more than
			// the Object sent.
			if n := fl.total.Load(); n != 5 {
				t.Fatalf("server received %d requests, want 5 (open, 3 failures, 1 success)", n)
			}
		})
	}
}

func TestBadResponses(t *testing.T) {
	raw, _ := makeNpy(t, 200_000)
	f := &fake{}
	f.set(raw)
	var modeV atomic.Value
	modeV.Store("")
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode := modeV.Load().(string)
		if r.Header.Get("Range") == "bytes=0-65535" || mode == "" {
			f.serve(w, r)
			return
		}
		rec := httptest.NewRecorder()
		f.serve(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := rec.Body.Bytes()
		switch mode {
		case "shifted":
			var a, b, n int64
			fmtSscanf(rec.Header().Get("Content-Range"), &a, &b, &n)
			w.Header().Set("Content-Range", "bytes "+itoa(a+1)+"-"+itoa(b+1)+"/"+itoa(n))
		case "other size":
			var a, b, n int64
			fmtSscanf(rec.Header().Get("Content-Range"), &a, &b, &n)
			w.Header().Set("Content-Range", "bytes "+itoa(a)+"-"+itoa(b)+"/"+itoa(n+1))
		case "whole":
			w.Header().Del("Content-Range")
			w.Header().Set("Content-Length", itoa(int64(len(raw))))
			w.WriteHeader(200)
			w.Write(raw)
			return
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	defer s.Close()
	for m, want := range map[string]error{"shifted": ErrBadResponse, "other size": ErrChanged, "whole": ErrBadResponse} {
		modeV.Store("")
		o, err := Open(ctxT(t), s.URL+"/a.npy", WithBackoff(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		modeV.Store(m)
		got := make([]byte, 1000)
		if _, err := o.ReadAt(got, 100_000); !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", m, err, want)
		}
	}
}

func TestIgnoresRange(t *testing.T) {
	raw, _ := makeNpy(t, 200_000)
	var requests atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Length", itoa(int64(len(raw))))
		w.Write(raw)
	}))
	defer s.Close()
	o, err := Open(ctxT(t), s.URL+"/a.npy")
	if err != nil {
		t.Fatal(err)
	}
	if !o.RangeIgnored() || o.Size() != int64(len(raw)) {
		t.Fatal(o.RangeIgnored(), o.Size())
	}
	got := make([]byte, 1000)
	if _, err := o.ReadAt(got, 150_000); err != nil || !bytes.Equal(got, raw[150_000:151_000]) {
		t.Fatal(err)
	}
	all := make([]byte, len(raw)-70_000)
	if _, err := o.ReadAt(all, 70_000); err != nil || !bytes.Equal(all, raw[70_000:]) {
		t.Fatal(err)
	}
	if requests.Load() != 3 {
		t.Fatal(requests.Load())
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	raw, _ := makeNpy(t, 100_000)
	f := &fake{}
	f.set(raw)
	var slow atomic.Bool
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		f.serve(w, r)
	}))
	defer s.Close()
	o, err := Open(ctxT(t), s.URL+"/a.npy", WithTimeout(50*time.Millisecond), WithRetries(1), WithBackoff(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	slow.Store(true)
	if _, err := o.ReadAt(make([]byte, 10), 90_000); !errors.Is(err, ErrTimeout) || o.Requests() != 3 {
		t.Fatalf("%v after %d requests", err, o.Requests())
	}
	ctx, cancel := context.WithCancel(context.Background())
	slow.Store(false)
	o3, err := Open(ctx, s.URL+"/a.npy")
	if err != nil {
		t.Fatal(err)
	}
	slow.Store(true)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := o3.ReadAt(make([]byte, 10), 90_000); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
}

func TestDNSAndTLS(t *testing.T) {
	_, err := Open(ctxT(t), "http://no-such-host.invalid/x.npy", WithRetries(0))
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("%v, want ErrUnreachable", err)
	}
	raw, _ := makeNpy(t, 10)
	f := &fake{}
	f.set(raw)
	s := httptest.NewTLSServer(http.HandlerFunc(f.serve))
	defer s.Close()
	_, err = Open(ctxT(t), s.URL+"/x.npy", WithRetries(0))
	if !errors.Is(err, ErrTLS) {
		t.Fatalf("%v, want ErrTLS", err)
	}
	// The server's certificate as a CA bundle.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	os.WriteFile(ca, b.Bytes(), 0o644)
	o, err := Open(ctxT(t), s.URL+"/x.npy", WithCABundle(ca))
	if err != nil {
		t.Fatal(err)
	}
	if o.Size() != int64(len(raw)) {
		t.Fatal(o.Size())
	}
	t.Setenv(EnvCABundle, ca)
	if _, err := Open(ctxT(t), s.URL+"/x.npy"); err != nil {
		t.Fatal(err)
	}
}

func TestURLs(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@host/a/b.npy?X-Amz-Signature=abc": "https://host/a/b.npy",
		"s3://bucket/dir/x.npy":                            "s3://bucket/dir/x.npy",
		"http://host/x#frag":                               "http://host/x",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if Base("s3://b/dir/x%20y.npy?sig") != "x y.npy" || Base("s3://b") != "" {
		t.Error(Base("s3://b/dir/x%20y.npy?sig"))
	}
	for _, bad := range []string{"ftp://h/x", "s3:///key", "http:///x"} {
		if _, err := Open(ctxT(t), bad); !errors.Is(err, ErrUnsupportedURL) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestFetchHTTP(t *testing.T) {
	raw, v := makeNpy(t, 500_000)
	f := newFake(t, raw)
	dir := t.TempDir()
	dest := filepath.Join(dir, "a.npy")
	res, err := Fetch(ctxT(t), f.url("a.npy"), dest, WithPartSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if res.Cached || res.Format != "npy" {
		t.Fatal(res)
	}
	got, _, err := npy.ReadFile[float64](dest)
	if err != nil || len(got) != len(v) || got[123_456] != v[123_456] {
		t.Fatal(err)
	}
	before := f.count()
	res, err = Fetch(ctxT(t), f.url("a.npy"), dest)
	if err != nil {
		t.Fatal(err)
	}
	if getSource(dest) != "" {
		if !res.Cached || f.count()-before != 1 {
			t.Fatalf("second fetch: cached %v, %d requests", res.Cached, f.count()-before)
		}
	} else {
		t.Log("no user extended attributes here: the cache is not tested")
	}
	// A changed object is fetched again.
	raw2, _ := makeNpy(t, 1000)
	f.set(raw2)
	if res, err = Fetch(ctxT(t), f.url("a.npy"), dest); err != nil || res.Cached {
		t.Fatal(res, err)
	}
	got, _, _ = npy.ReadFile[float64](dest)
	if len(got) != 1000 {
		t.Fatal(len(got))
	}
}

func TestFetchZst(t *testing.T) {
	z := makeZst(t, 600_000, 256<<10)
	f := newFake(t, z)
	dest := filepath.Join(t.TempDir(), "a.npy")
	res, err := Fetch(ctxT(t), f.url("a.npy.zst"), dest)
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != "npy.zst" {
		t.Fatal(res.Format)
	}
	got, _, err := npy.ReadFile[float64](dest)
	if err != nil || len(got) != 600_000 || got[599_999] != 599_999*0.5 {
		t.Fatal(err)
	}
	_ = zstdseek.DefaultFrameSize
}

func TestPutHTTP(t *testing.T) {
	var got []byte
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			w.WriteHeader(405)
			return
		}
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(201)
	}))
	defer s.Close()
	raw, _ := makeNpy(t, 1000)
	file := filepath.Join(t.TempDir(), "a.npy")
	os.WriteFile(file, raw, 0o644)
	if err := Put(ctxT(t), file, s.URL+"/a.npy"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, raw) {
		t.Fatal("uploaded bytes differ")
	}
}
