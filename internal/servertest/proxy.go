package servertest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fault is what the proxy does to one request.
type Fault int

// Faults the proxy injects.
const (
	// Pass forwards the request unchanged.
	Pass Fault = iota
	// Cut forwards the request and sends only the first half of the reply
	// body, then breaks the connection.
	Cut
	// Unavailable answers 503 with S3's SlowDown error, without
	// forwarding.
	Unavailable
	// WrongRange forwards the request and shifts the reply's
	// Content-Range by one byte.
	WrongRange
	// IgnoreRange forwards the request without its Range header, so the
	// server sends the whole object with 200.
	IgnoreRange
	// Slow waits for the client to give up (or 5 s) before forwarding (a
	// request with a body gets 504 then).
	Slow
	// Forbidden answers 403 without forwarding.
	Forbidden
)

// Proxy is a counting, fault-injecting HTTP proxy in front of a server.
// It keeps the Host header, so S3 signatures made for the proxy's address
// stay valid.
type Proxy struct {
	// URL is the proxy's http://127.0.0.1:PORT.
	URL string

	target *url.URL
	srv    *httptest.Server
	client *http.Client

	requests atomic.Int64
	mu       sync.Mutex
	faults   []Fault
	match    func(*http.Request) bool
	always   Fault
	log      []string
}

// NewProxy starts a proxy in front of target (http://HOST:PORT); it is
// stopped when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	p := &Proxy{target: u, client: &http.Client{Transport: tr}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// Requests returns the number of requests the proxy received.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// Log returns "METHOD PATH RANGE" of each request received.
func (p *Proxy) Log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// Reset zeroes the request count and log.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests.Store(0)
	p.log = nil
}

// Inject queues faults for the next requests that match (nil: every
// request), one fault per request, in order.
func (p *Proxy) Inject(match func(*http.Request) bool, faults ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.match = match
	p.faults = append(p.faults, faults...)
}

// Always applies f to every request from now on (Pass to stop).
func (p *Proxy) Always(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.always = f
}

// GETs matches GET requests.
func GETs(r *http.Request) bool { return r.Method == http.MethodGet }

func (p *Proxy) next(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests.Add(1)
	p.log = append(p.log, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+r.Header.Get("Range")))
	if len(p.faults) > 0 && (p.match == nil || p.match(r)) {
		f := p.faults[0]
		p.faults = p.faults[1:]
		return f
	}
	return p.always
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	f := p.next(r)
	if f == Unavailable || f == Forbidden || f == Slow {
		// Read the request body first, as servers do: a reply before it
		// makes the client see a reset connection instead of the status,
		// and an unread body hides a client that hung up.
		io.Copy(io.Discard, r.Body)
	}
	switch f {
	case Unavailable:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		return
	case Forbidden:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	case Slow:
		select {
		case <-r.Context().Done():
			return
		case <-time.After(5 * time.Second):
		}
		if r.ContentLength != 0 {
			// The body is gone: it cannot be forwarded.
			http.Error(w, "slow proxy gave up", http.StatusGatewayTimeout)
			return
		}
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.Host = r.Host
	if f == IgnoreRange {
		out.Header.Del("Range")
		out.Header.Del("If-Range")
	}
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	if f == WrongRange {
		if cr := resp.Header.Get("Content-Range"); cr != "" {
			w.Header().Set("Content-Range", shiftRange(cr))
		}
	}
	if f == Cut {
		body, _ := io.ReadAll(resp.Body)
		w.WriteHeader(resp.StatusCode)
		w.Write(body[:len(body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// shiftRange moves "bytes a-b/n" one byte on.
func shiftRange(cr string) string {
	var a, b, n int64
	if _, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &a, &b, &n); err != nil {
		return cr
	}
	return "bytes " + strconv.FormatInt(a+1, 10) + "-" + strconv.FormatInt(b+1, 10) + "/" + strconv.FormatInt(n, 10)
}

// WAN is a proxy that simulates a wide-area link: each request waits
// Delay before it is forwarded, and each reply body is sent at most Rate
// bytes per second (per connection, as a long-distance TCP stream is
// limited by its window and round-trip time).
type WAN struct {
	// URL is the proxy's http://127.0.0.1:PORT.
	URL string

	requests atomic.Int64
}

// Requests returns the number of requests the WAN proxy received.
func (w *WAN) Requests() int64 { return w.requests.Load() }

// NewWAN starts a WAN proxy in front of target; it is stopped when the
// test or benchmark ends.
func NewWAN(t testing.TB, target string, delay time.Duration, rate int64) *WAN {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 256
	client := &http.Client{Transport: tr}
	wan := &WAN{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wan.requests.Add(1)
		select {
		case <-r.Context().Done():
			return
		case <-time.After(delay):
		}
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.URL.Scheme, out.URL.Host = u.Scheme, u.Host
		out.Host = r.Host
		if r.ContentLength == 0 {
			out.Body = nil
		}
		resp, err := client.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 256<<10)
		start := time.Now()
		var sent int64
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				sent += int64(n)
				if ahead := time.Duration(float64(sent)/float64(rate)*float64(time.Second)) - time.Since(start); ahead > 0 {
					time.Sleep(ahead)
				}
			}
			if err != nil {
				return
			}
		}
	}))
	wan.URL = srv.URL
	t.Cleanup(srv.Close)
	return wan
}
