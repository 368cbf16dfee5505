package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrfile/arrfile/internal/servertest"
)

// relay is a TCP relay in front of a server that forwards the first
// limit bytes a client sends on a connection and then, on the first cut
// connections, stops: it holds the connection until released (hold) or
// closes it at once.
type relay struct {
	addr   string
	target string
	limit  int64
	cut    int64 // connections to stop, the first ones
	hold   bool

	conns   atomic.Int64
	held    chan struct{} // closed when a connection is held
	release chan struct{}
	once    sync.Once

	mu   sync.Mutex
	open []net.Conn // closed at the test's end (the client keeps them alive)
}

func newRelay(t *testing.T, target string, limit, cut int64, hold bool) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{addr: ln.Addr().String(), target: strings.TrimPrefix(target, "http://"), limit: limit, cut: cut, hold: hold,
		held: make(chan struct{}), release: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		r.Release()
		r.mu.Lock()
		for _, c := range r.open {
			c.Close()
		}
		r.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); r.serve(c) }()
		}
	}()
	return r
}

// Release lets held connections go (they are closed).
func (r *relay) Release() { r.once.Do(func() { close(r.release) }) }

func (r *relay) serve(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	defer s.Close()
	r.mu.Lock()
	r.open = append(r.open, c, s)
	r.mu.Unlock()
	go func() { io.Copy(c, s); c.Close() }()
	if r.conns.Add(1) > r.cut {
		io.Copy(s, c)
		return
	}
	io.CopyN(s, c, r.limit)
	if r.hold {
		select {
		case <-r.held:
		default:
			close(r.held)
		}
		<-r.release
	}
}

// waitFor polls cond for up to 20 s (a condition, not a timing).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: not %s", what)
		}
	}
}

// tempBytes returns the number of files in dir and their total size.
func tempBytes(dir string) (files int, size int64) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				files++
				size += fi.Size()
			}
		}
		return nil
	})
	return files, size
}

// status returns the HTTP status of a GET of u.
func status(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPutNginx puts files to a real nginx (DAV PUT): the object appears
// whole and reads back with the same checksum; a PUT cut or cancelled
// midway leaves nothing at the URL and no temporary file behind.
func TestPutNginx(t *testing.T) {
	h := servertest.StartHTTP(t)
	data := make([]byte, 6<<20+321)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	file := filepath.Join(t.TempDir(), "up.bin")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	readBack := func(u string) []byte {
		t.Helper()
		o, err := Open(ctxT(t), u)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, o.Size())
		if _, err := o.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("whole", func(t *testing.T) {
		u := h.PutURL + "/d/e/whole.bin" // create_full_put_path makes d/e
		if err := Put(ctxT(t), file, u); err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(readBack(u)) != sha256.Sum256(data) {
			t.Fatal("read back differs")
		}
		// Replaced (204) by another file, whole.
		other := bytes.Repeat([]byte("x"), 1000)
		f2 := filepath.Join(t.TempDir(), "other")
		os.WriteFile(f2, other, 0o644)
		if err := Put(ctxT(t), f2, u); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readBack(u), other) {
			t.Fatal("replacement differs")
		}
	})

	t.Run("cancelled midway", func(t *testing.T) {
		r := newRelay(t, h.URL, 2<<20, 1, true)
		u := "http://" + r.addr + "/put/cancelled.bin"
		ctx, cancel := context.WithCancel(ctxT(t))
		done := make(chan error, 1)
		go func() { done <- Put(ctx, file, u, WithBackoff(time.Millisecond)) }()
		<-r.held
		// nginx holds part of the body in its temporary file, and nothing
		// at the name.
		waitFor(t, "part of the body in nginx's temporary file", func() bool { _, n := tempBytes(h.BodyTemp); return n > 0 })
		_, n := tempBytes(h.BodyTemp)
		if st := status(t, h.PutURL+"/cancelled.bin"); st != http.StatusNotFound || n >= int64(len(data)) {
			t.Fatalf("mid-upload: GET %d, %d bytes in the temporary file", st, n)
		}
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), u) {
			t.Fatalf("%v, want context.Canceled naming the URL", err)
		}
		r.Release()
		waitFor(t, "nginx's temporary file removed", func() bool { f, _ := tempBytes(h.BodyTemp); return f == 0 })
		if st := status(t, h.PutURL+"/cancelled.bin"); st != http.StatusNotFound {
			t.Fatalf("after the cancelled PUT: GET %d, want 404", st)
		}
		t.Log(err)
	})

	t.Run("connection cut", func(t *testing.T) {
		// Every connection cut after 1 MiB: retried, then a clear error.
		r := newRelay(t, h.URL, 1<<20, 1<<30, false)
		u := "http://" + r.addr + "/put/cut.bin"
		err := Put(ctxT(t), file, u, WithRetries(2), WithBackoff(time.Millisecond))
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), u) {
			t.Fatalf("%v, want ErrUnreachable naming the URL", err)
		}
		if n := r.conns.Load(); n != 3 {
			t.Fatalf("%d connections, want 3 (2 retries)", n)
		}
		waitFor(t, "nginx's temporary files removed", func() bool { f, _ := tempBytes(h.BodyTemp); return f == 0 })
		if st := status(t, h.PutURL+"/cut.bin"); st != http.StatusNotFound {
			t.Fatalf("after the cut PUTs: GET %d, want 404", st)
		}
		t.Log(err)

		// Only the first connection cut: the retry sends it whole.
		r = newRelay(t, h.URL, 1<<20, 1, false)
		u = "http://" + r.addr + "/put/retried.bin"
		if err := Put(ctxT(t), file, u, WithBackoff(time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if r.conns.Load() != 2 || sha256.Sum256(readBack(h.PutURL+"/retried.bin")) != sha256.Sum256(data) {
			t.Fatalf("%d connections; read back differs or is missing", r.conns.Load())
		}
	})

	t.Run("refused", func(t *testing.T) {
		// Outside the PUT location nginx refuses PUT (405).
		small := filepath.Join(t.TempDir(), "small")
		os.WriteFile(small, data[:1000], 0o644)
		err := Put(ctxT(t), small, h.URL+"/nope.bin")
		if err == nil || !strings.Contains(err.Error(), "405") {
			t.Fatalf("%v, want HTTP 405", err)
		}
		t.Log(err)
	})
}
