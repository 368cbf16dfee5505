package remote

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/internal/servertest"
)

// isSuffix matches a suffix-range request (bytes=-N).
func isSuffix(r *http.Request) bool { return strings.HasPrefix(r.Header.Get("Range"), "bytes=-") }

// holdHead is a handler in front of next that holds every opening request
// (bytes=0-...) until a suffix request has arrived, or gives up after
// 5 s and notes it: with Open sending the two in parallel it never waits
// long, with Open sending them one after the other it always gives up.
type holdHead struct {
	next     http.Handler
	tail     chan struct{}
	once     sync.Once
	gaveUp   atomic.Bool
	requests atomic.Int64
	mu       sync.Mutex
	log      []string
}

func newHoldHead(next http.Handler) *holdHead {
	return &holdHead{next: next, tail: make(chan struct{})}
}

func (h *holdHead) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	rng := r.Header.Get("Range")
	h.mu.Lock()
	h.log = append(h.log, strings.TrimSpace(r.Method+" "+rng+" "+r.Header.Get("If-Match")))
	h.mu.Unlock()
	if isSuffix(r) {
		h.once.Do(func() { close(h.tail) })
	}
	if r.Method == http.MethodGet && strings.HasPrefix(rng, "bytes=0-") {
		select {
		case <-h.tail:
		case <-time.After(5 * time.Second):
			h.gaveUp.Store(true)
		case <-r.Context().Done():
			return
		}
	}
	h.next.ServeHTTP(w, r)
}

func (h *holdHead) Log() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.log...)
}

// readElement opens u, reads its seek table and element i of an .npy.zst
// of values i*0.5, and returns the requests at each step.
func readElement(t *testing.T, u string, i int64, count func() int64, opts ...Option) (open, table, all int64) {
	t.Helper()
	o, err := Open(ctxT(t), u, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	open = count()
	r, err := npyzst.NewReader(o, o.Size())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	table = count()
	v, err := npyzst.ReadElements[float64](r, i, i+1)
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != float64(i)*0.5 {
		t.Fatalf("element %d: %v, want %v", i, v[0], float64(i)*0.5)
	}
	if o.Requests() != count() {
		t.Fatalf("the object counted %d requests, the server %d", o.Requests(), count())
	}
	return open, table, count()
}

// TestTailWithHead: Open of an .npy.zst sends the suffix GET along with
// the opening one (the server holds the opening reply until the suffix
// request arrives), and its reply serves the seek table: open and one
// element are 3 requests, the seek table costs none after open.
func TestTailWithHead(t *testing.T) {
	z := makeZst(t, 1_000_000, 256<<10)
	f := newFake(t, z)
	h := newHoldHead(http.HandlerFunc(f.serve))
	srv := httptest.NewServer(h)
	defer srv.Close()
	open, table, all := readElement(t, srv.URL+"/a.npy.zst", 777_777, h.requests.Load)
	if h.gaveUp.Load() {
		t.Fatalf("the opening request was sent without the suffix request: %q", h.Log())
	}
	if open != 2 || table != 2 || all != 3 {
		t.Fatalf("requests: %d at open, %d with the seek table, %d in all, want 2, 2, 3: %q", open, table, all, h.Log())
	}

	// Last-Modified stands for a missing ETag.
	f.mu.Lock()
	f.noETag = true
	f.mu.Unlock()
	h2 := newHoldHead(http.HandlerFunc(f.serve))
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	if open, table, all := readElement(t, srv2.URL+"/a.npy.zst", 333_333, h2.requests.Load); open != 2 || table != 2 || all != 3 || h2.gaveUp.Load() {
		t.Fatalf("no ETag: requests %d, %d, %d, want 2, 2, 3 (gave up %v): %q", open, table, all, h2.gaveUp.Load(), h2.Log())
	}
}

// TestTailGuessWhole: a suffix GET larger than the object gets the whole
// object as 206, kept from the end of the head on (every read then needs
// no request); an object that fits the head keeps nothing more.
func TestTailGuessWhole(t *testing.T) {
	z := makeZst(t, 1_000_000, 256<<10)
	f := newFake(t, z)
	o, err := Open(ctxT(t), f.url("a.npy.zst"), WithHeadSize(4<<10), WithTailSize(int64(len(z))+100))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.tailOff != 4<<10 || !bytes.Equal(o.tail, z[4<<10:]) {
		t.Fatalf("tail at %d, %d bytes, want the object from %d", o.tailOff, len(o.tail), 4<<10)
	}
	r, err := npyzst.NewReader(o, o.Size())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, err := npyzst.ReadElements[float64](r, 500_000, 500_001)
	if err != nil || v[0] != 250_000 {
		t.Fatal(v, err)
	}
	if n := f.count(); n != 2 || o.Requests() != 2 {
		t.Fatalf("%d requests, want the 2 of open", n)
	}

	small := makeZst(t, 1000, 4096)
	f2 := newFake(t, small)
	o2, err := Open(ctxT(t), f2.url("s.npy.zst"))
	if err != nil {
		t.Fatal(err)
	}
	defer o2.Close()
	if len(small) > DefaultHeadSize || len(o2.head) != len(small) || o2.tail != nil || f2.count() != 2 {
		t.Fatalf("%d-byte object: head %d bytes, tail %d bytes, %d requests", len(small), len(o2.head), len(o2.tail), f2.count())
	}
}

// TestTailOnlyWhereNamed: an .npy and List do not send the suffix GET.
func TestTailOnlyWhereNamed(t *testing.T) {
	raw, _ := makeNpy(t, 100_000)
	f := newFake(t, raw)
	for _, name := range []string{"a.npy", "a.zst.npy", "zst"} {
		before := f.count()
		o, err := Open(ctxT(t), f.url(name))
		if err != nil {
			t.Fatal(err)
		}
		o.Close()
		if n := f.count() - before; n != 1 || o.Requests() != 1 {
			t.Fatalf("open of %s: %d requests, want 1", name, n)
		}
	}
	before := f.count()
	o, err := Open(ctxT(t), f.url("a.npy.zst"), withoutTailGuess())
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if n := f.count() - before; n != 1 {
		t.Fatalf("open without the tail guess: %d requests, want 1", n)
	}
}

// mangled serves the object of f, but answers the first suffix request
// with mangle (which writes the whole reply) and records every request's
// Range and If-Match.
type mangled struct {
	f      *fake
	mangle func(w http.ResponseWriter, r *http.Request)
	done   atomic.Bool
	mu     sync.Mutex
	log    []string
	n      atomic.Int64
}

func (m *mangled) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.n.Add(1)
	m.mu.Lock()
	m.log = append(m.log, strings.TrimSpace(r.Header.Get("Range")+" "+r.Header.Get("If-Match")))
	m.mu.Unlock()
	if isSuffix(r) && !m.done.Swap(true) {
		m.mangle(w, r)
		return
	}
	m.f.serve(w, r)
}

// TestTailGuessMismatch: a suffix reply that does not agree with the
// opening reply is dropped, and the seek table is fetched as without the
// guess (with If-Match): the data are right and the guess cost one
// request.
func TestTailGuessMismatch(t *testing.T) {
	z := makeZst(t, 1_000_000, 256<<10)
	size := int64(len(z))
	// Another version of the same size: the seek table's bytes differ.
	other := bytes.Clone(z)
	for i := len(other) - 1000; i < len(other); i++ {
		other[i] ^= 0x5a
	}
	tail := func(data []byte, start int64) []byte { return data[start:] }
	cases := []struct {
		name   string
		mangle func(w http.ResponseWriter, r *http.Request)
	}{
		{"other ETag", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"other"`)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", size-DefaultTailSize, size-1, size))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(tail(other, size-DefaultTailSize))
		}},
		{"no ETag", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", size-DefaultTailSize, size-1, size))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(tail(other, size-DefaultTailSize))
		}},
		{"more than asked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", etagOf(z))
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", size-DefaultTailSize-10, size-1, size))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(tail(z, size-DefaultTailSize-10))
		}},
		{"other size", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", etagOf(z))
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", size-DefaultTailSize+1, size, size+1))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(tail(other, size-DefaultTailSize))
		}},
		{"short body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", etagOf(z))
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", size-DefaultTailSize, size-1, size))
			w.Header().Set("Content-Length", fmt.Sprint(DefaultTailSize))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(tail(other, size-100))
			panic(http.ErrAbortHandler)
		}},
		{"200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", etagOf(z))
			w.WriteHeader(http.StatusOK)
			w.Write(other)
		}},
		{"503", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "slow down", http.StatusServiceUnavailable)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, z)
			if etagOf(z) != f.etag {
				t.Fatal("etagOf differs from the fake's")
			}
			m := &mangled{f: f, mangle: c.mangle}
			srv := httptest.NewServer(m)
			defer srv.Close()
			open, table, all := readElement(t, srv.URL+"/a.npy.zst", 654_321, m.n.Load, WithBackoff(time.Millisecond))
			m.mu.Lock()
			log := append([]string(nil), m.log...)
			m.mu.Unlock()
			// Open: the opening and the suffix GET (never retried); the
			// seek table: one suffix GET with If-Match; one frame.
			if open != 2 || table != 3 || all != 4 {
				t.Fatalf("requests %d, %d, %d, want 2, 3, 4: %q", open, table, all, log)
			}
			if l := log[2]; l != fmt.Sprintf("bytes=-%d %s", DefaultTailSize, f.etag) {
				t.Fatalf("seek table fetched with %q, want the suffix GET with If-Match", l)
			}
		})
	}
}

// etagOf is the fake's ETag of data.
func etagOf(data []byte) string {
	f := &fake{}
	f.set(data)
	return f.etag
}

// TestTailGuessNoValidator: a server that sends neither ETag nor
// Last-Modified gets no use of the suffix reply (nothing ties it to the
// opening reply's version).
func TestTailGuessNoValidator(t *testing.T) {
	z := makeZst(t, 1_000_000, 256<<10)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(z))
	}))
	defer srv.Close()
	if open, table, all := readElement(t, srv.URL+"/a.npy.zst", 444_444, n.Load); open != 2 || table != 3 || all != 4 {
		t.Fatalf("requests %d, %d, %d, want 2, 3, 4", open, table, all)
	}
}

// TestTailGuessCancelled: when the opening request fails, Open cancels the
// suffix request (here held by the server until its client hangs up) and
// returns the opening request's error; the server holds the opening
// reply until the suffix request is in.
func TestTailGuessCancelled(t *testing.T) {
	hungUp, arrived := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isSuffix(r) {
			close(arrived)
			select {
			case <-r.Context().Done():
				close(hungUp)
			case <-time.After(30 * time.Second):
			}
			return
		}
		// The opening request fails once the suffix request is in.
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
		}
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	_, err := Open(ctxT(t), srv.URL+"/a.npy.zst", WithRetries(0))
	if !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("%v, want ErrAccessDenied", err)
	}
	select {
	case <-hungUp:
	case <-time.After(10 * time.Second):
		t.Fatal("Open returned with the suffix request still open")
	}
}

// TestTailGuessFaults: faults of the suffix GET sent with the opening one,
// injected by the proxy in front of nginx, never fail Open and are not
// retried; the seek table is then fetched as usual.
func TestTailGuessFaults(t *testing.T) {
	h := servertest.StartHTTP(t)
	p := servertest.NewProxy(t, h.URL)
	z := makeZst(t, 1_000_000, 256<<10)
	if err := os.WriteFile(filepath.Join(h.Root, "a.npy.zst"), z, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, fault := range []servertest.Fault{servertest.WrongRange, servertest.Cut, servertest.Unavailable, servertest.IgnoreRange, servertest.Forbidden} {
		p.Reset()
		p.Inject(isSuffix, fault)
		open, table, all := readElement(t, p.URL+"/a.npy.zst", 555_555, p.Requests, WithBackoff(time.Millisecond))
		if open != 2 || table != 3 || all != 4 {
			t.Fatalf("fault %d: requests %d, %d, %d, want 2, 3, 4: %q", fault, open, table, all, p.Log())
		}
	}
}

// TestS3TailWithHead: against versitygw, open and one element of an
// .npy.zst are 3 requests (counted in versitygw's log too), the opening
// and suffix GETs in flight together.
func TestS3TailWithHead(t *testing.T) {
	s := servertest.StartS3(t)
	target, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// The reverse proxy keeps the Host header, so signatures stay valid.
	h := newHoldHead(httputil.NewSingleHostReverseProxy(target))
	srv := httptest.NewServer(h)
	defer srv.Close()
	s.Env(t, srv.URL)
	s.Bucket(t, "arr")
	upload(t, "a.npy.zst", makeZst(t, 1_000_000, 256<<10))
	h.requests.Store(0)
	logged := s.LoggedRequests(t)
	open, table, all := readElement(t, "s3://arr/a.npy.zst", 654_321, h.requests.Load)
	if h.gaveUp.Load() {
		t.Fatalf("the opening request was sent without the suffix request: %q", h.Log())
	}
	if open != 2 || table != 2 || all != 3 {
		t.Fatalf("requests %d, %d, %d, want 2, 2, 3: %q", open, table, all, h.Log())
	}
	if n := s.LoggedRequests(t) - logged; n != 3 {
		t.Fatalf("versitygw logged %d requests, want 3", n)
	}
}

// TestTailGuessStalled: a suffix GET that stalls while the opening one is
// answered does not hold Open up (with an hour's request timeout Open
// would otherwise wait for it): Open cancels it, and the seek table is
// fetched again when it is read, with correct data.
func TestTailGuessStalled(t *testing.T) {
	z := makeZst(t, 1_000_000, 256<<10)
	f := newFake(t, z)
	var stalled atomic.Bool
	hungUp := make(chan struct{})
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if isSuffix(r) && stalled.CompareAndSwap(false, true) {
			<-r.Context().Done()
			close(hungUp)
			return
		}
		f.serve(w, r)
	}))
	defer srv.Close()
	o, err := Open(ctxT(t), srv.URL+"/a.npy.zst", WithTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	// Open has cancelled the request; the server sees the hang-up soon.
	select {
	case <-hungUp:
	case <-time.After(10 * time.Second):
		t.Fatal("Open returned with the stalled suffix request still open")
	}
	zr, err := npyzst.NewReader(o, o.Size())
	if err != nil {
		t.Fatal(err)
	}
	v, err := npyzst.ReadElements[float64](zr, 777_777, 777_778)
	if err != nil || v[0] != 777_777*0.5 {
		t.Fatalf("element 777777: %v, %v", v, err)
	}
	if n := requests.Load(); n != 4 {
		t.Fatalf("%d requests, want 4 (head, stalled suffix, suffix again, frame)", n)
	}
}
