package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
)

// fake is an in-process HTTP server of one object, served with
// http.ServeContent (single and suffix ranges, If-Match, If-Range), whose
// content can be replaced and whose requests are counted.
type fake struct {
	srv      *httptest.Server
	mu       sync.Mutex
	data     []byte
	etag     string
	modtime  time.Time
	noETag   bool
	requests atomic.Int64
	ranges   []string
}

func newFake(t *testing.T, data []byte) *fake {
	t.Helper()
	f := &fake{}
	f.set(data)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) url(name string) string { return f.srv.URL + "/" + name }

// set replaces the object (a new ETag and modification time).
func (f *fake) set(data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data = data
	sum := sha256.Sum256(data)
	f.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	f.modtime = time.Unix(1_700_000_000, 0).Add(time.Duration(len(f.ranges)+1) * time.Hour)
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	data, etag, mt := f.data, f.etag, f.modtime
	f.ranges = append(f.ranges, r.Header.Get("Range"))
	noETag := f.noETag
	f.mu.Unlock()
	if !noETag {
		w.Header().Set("ETag", etag)
	}
	http.ServeContent(w, r, "", mt, bytes.NewReader(data))
}

func (f *fake) count() int64 { return f.requests.Load() }

// makeNpy returns an .npy file of n float64 values i*0.5.
func makeNpy(t testing.TB, n int) ([]byte, []float64) {
	t.Helper()
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i) * 0.5
	}
	var b bytes.Buffer
	if err := npy.Write(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), v
}

// makeZst returns the .npy.zst of n float64 values i*0.5 in frames of
// frameSize bytes.
func makeZst(t testing.TB, n, frameSize int) []byte {
	t.Helper()
	raw, _ := makeNpy(t, n)
	var b bytes.Buffer
	if _, err := npyzst.Compress(&b, bytes.NewReader(raw), zstdseek.WithFrameSize(frameSize)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// noSecret fails if s holds the secret.
func noSecret(t testing.TB, s, secret string) {
	t.Helper()
	if secret != "" && strings.Contains(s, secret) {
		t.Fatalf("message holds the secret: %s", s)
	}
}
