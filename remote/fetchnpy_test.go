package remote

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrfile/arrfile/internal/servertest"
)

// TestFetchNpyHTTPFaults fetches an .npy from nginx through faults: cut
// bodies are resumed, and a server that ignores Range is streamed once.
func TestFetchNpyHTTPFaults(t *testing.T) {
	h := servertest.StartHTTP(t)
	p := servertest.NewProxy(t, h.URL)
	raw, _ := makeNpy(t, 300_000)
	os.WriteFile(filepath.Join(h.Root, "a.npy"), raw, 0o644)
	u := p.URL + "/a.npy"
	dest := filepath.Join(t.TempDir(), "a.npy")
	fetched := func(t *testing.T) {
		t.Helper()
		got, err := os.ReadFile(dest)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("fetched file differs from the object (%v)", err)
		}
		os.Remove(dest)
	}
	t.Run("fetch, cut bodies resumed", func(t *testing.T) {
		p.Reset()
		p.Inject(servertest.GETs, servertest.Pass, servertest.Cut, servertest.Pass, servertest.Cut)
		res, err := Fetch(ctxT(t), u, dest, WithBackoff(time.Millisecond), WithPartSize(256<<10), WithConcurrency(3))
		if err != nil {
			t.Fatal(err)
		}
		fetched(t)
		// 1 opening GET, 9 parts, 2 resumed.
		if res.Requests != 12 || p.Requests() != 12 {
			t.Fatalf("%d requests (%d at the proxy), want 12", res.Requests, p.Requests())
		}
	})
	t.Run("fetch, ignores Range", func(t *testing.T) {
		p.Always(servertest.IgnoreRange)
		defer p.Always(servertest.Pass)
		p.Reset()
		res, err := Fetch(ctxT(t), u, dest, WithPartSize(256<<10))
		if err != nil {
			t.Fatal(err)
		}
		fetched(t)
		// The opening GET, then the whole object streamed once.
		if res.Requests != 2 || p.Requests() != 2 {
			t.Fatalf("%d requests (%d at the proxy), want 2", res.Requests, p.Requests())
		}
	})
}

// TestS3FetchFaults fetches an .npy into a tmpfs folder (where Fetch maps
// each part's pages before reading its body into them) through faults:
// cut bodies are resumed into the mapping, a wrong Content-Range and an
// object replaced mid-fetch are errors and publish nothing.
func TestS3FetchFaults(t *testing.T) {
	_, p := s3Setup(t)
	raw, _ := makeNpy(t, 300_000)
	upload(t, "a.npy", raw)
	dir := t.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "fetchfaults"); err == nil {
			dir = d
			defer os.RemoveAll(d)
		}
	}
	dest := filepath.Join(dir, "a.npy")
	opts := []Option{WithBackoff(time.Millisecond), WithPartSize(256 << 10), WithConcurrency(4)}
	t.Run("cut bodies resumed", func(t *testing.T) {
		os.Remove(dest)
		p.Reset()
		p.Inject(servertest.GETs, servertest.Pass, servertest.Cut, servertest.Pass, servertest.Cut, servertest.Cut)
		res, err := Fetch(ctxT(t), "s3://arr/a.npy", dest, opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dest)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("fetched file differs from the object (%v)", err)
		}
		// 1 opening GET, 2.4 MB - 64 KiB in 256 KiB parts (9), 3 resumed.
		if res.Requests != 13 {
			t.Fatalf("%d requests, want 13", res.Requests)
		}
	})
	t.Run("wrong Content-Range", func(t *testing.T) {
		os.Remove(dest)
		p.Inject(servertest.GETs, servertest.Pass, servertest.Pass, servertest.WrongRange)
		if _, err := Fetch(ctxT(t), "s3://arr/a.npy", dest, opts...); !errors.Is(err, ErrBadResponse) {
			t.Fatalf("%v, want ErrBadResponse", err)
		}
		if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a failed fetch published %s (%v)", dest, err)
		}
	})
	t.Run("replaced mid-fetch", func(t *testing.T) {
		os.Remove(dest)
		other := bytes.Clone(raw)
		other[len(other)-1] ^= 1
		var once sync.Once
		replace := WithProgress(func(int64) { once.Do(func() { upload(t, "a.npy", other) }) })
		defer upload(t, "a.npy", raw)
		_, err := Fetch(ctxT(t), "s3://arr/a.npy", dest, append(opts, WithConcurrency(1), replace)...)
		if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "s3://arr/a.npy") {
			t.Fatalf("%v, want ErrChanged naming the URL", err)
		}
		if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a failed fetch published %s (%v)", dest, err)
		}
	})
}
