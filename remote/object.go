package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Object is a remote object opened for random access: an io.ReaderAt over
// its Size bytes. Reads are range GETs checked against what was asked and
// against the version seen at open (see the package doc).
//
// The methods of an Object are safe for concurrent use; all requests of
// one Object share its concurrency limit. ReadAt uses the context given to
// Open (io.ReaderAt has none); ReadAtContext takes one.
type Object struct {
	ctx   context.Context
	loc   *location
	label string
	cfg   *config
	be    backend
	s3    *s3.Client // nil for http(s)

	size    int64
	v       validator
	noRange bool   // the server answered the opening range GET with the whole object
	head    []byte // the first bytes, from the opening request

	tailMu  sync.Mutex
	tail    []byte // the last bytes, from the first small read near the end
	tailOff int64

	blockMu sync.Mutex
	blocks  []block // recent read-ahead blocks, most recent first

	sem      chan struct{}
	closed   atomic.Bool
	requests atomic.Int64
}

// Open opens the remote object at rawURL (s3://BUCKET/KEY, http://... or
// https://...) with one request: a range GET of its first bytes
// (WithHeadSize, 64 KiB by default), whose Content-Range gives the size
// and whose bytes are kept, so that reading an .npy header costs nothing
// more. The ETag (or, for HTTP without one, Last-Modified) of that reply is
// the version every later request asks for. When the key or URL path ends
// in .zst or .npz (whose directory is at the end), Open also sends, in
// parallel, a suffix GET of the last WithTailSize bytes and keeps them for
// reads near the end if the reply agrees with the opening one; it is never
// retried and its failure does not fail Open.
//
// ctx bounds Open and, for an Object, every ReadAt: cancelling it cancels
// them. Errors are *fs.PathError values naming the URL (redacted).
func Open(ctx context.Context, rawURL string, opts ...Option) (*Object, error) {
	loc, err := parseURL(rawURL)
	if err != nil {
		var bu *badURL
		errors.As(err, &bu)
		return nil, pathError("open", bu.label, bu.err)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, pathError("open", loc.label, err)
	}
	o := &Object{ctx: ctx, loc: loc, label: loc.label, cfg: cfg, sem: make(chan struct{}, cfg.concurrency)}
	if loc.scheme == "s3" {
		c, err := newS3Client(ctx, cfg)
		if err != nil {
			return nil, pathError("open", loc.label, fmt.Errorf("%w: AWS configuration: %s", ErrAccessDenied, innermost(err)))
		}
		o.s3 = c
		o.be = &s3Backend{client: c, bucket: loc.bucket, key: loc.key}
	} else {
		o.be = &httpBackend{client: cfg.client, url: loc.url.String()}
	}
	var spec *speculation
	if !cfg.noTailGuess && tailAtEnd(loc) {
		spec = o.speculate(ctx)
	}
	t0 := time.Now()
	err = o.open(ctx)
	if spec != nil {
		if err != nil {
			spec.cancel()
		}
		// A tail slower than the head by far is not worth waiting for:
		// tailFor fetches it again when it is needed.
		wait := time.NewTimer(4*time.Since(t0) + 250*time.Millisecond)
		select {
		case <-spec.done:
		case <-wait.C:
			spec.cancel()
		}
		wait.Stop()
		<-spec.done
		spec.cancel()
		if err == nil {
			o.useTail(spec)
		}
	}
	if err != nil {
		return nil, pathError("open", loc.label, err)
	}
	return o, nil
}

// tailAtEnd reports whether the object's name says that its directory is
// at its end (an .npy.zst's seek table, an .npz's central directory), so
// that Open fetches the tail along with the head.
func tailAtEnd(loc *location) bool {
	name := loc.key
	if loc.scheme != "s3" {
		name = loc.url.Path
	}
	return strings.HasSuffix(name, ".zst") || strings.HasSuffix(name, ".npz")
}

// speculation is the suffix GET Open sends in parallel with the opening
// request: one attempt, never retried, whose reply is used only when it
// agrees with the opening reply (see useTail).
type speculation struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the request is over and its body closed

	// Set before done is closed:
	ok           bool // 206 and a body of exactly the Content-Range read
	start, size  int64
	etag, lastMo string
	data         []byte
}

// speculate starts the suffix GET of the last WithTailSize bytes.
func (o *Object) speculate(ctx context.Context) *speculation {
	sctx, cancel := context.WithTimeout(ctx, o.cfg.timeout)
	s := &speculation{cancel: cancel, done: make(chan struct{})}
	o.requests.Add(1)
	go func() {
		defer close(s.done)
		rep, err := o.be.get(sctx, fmt.Sprintf("bytes=-%d", o.cfg.tailSize), validator{})
		if err != nil {
			return
		}
		defer rep.body.Close()
		if rep.status != http.StatusPartialContent {
			// A server that ignores Range: the whole object follows; read
			// none of it.
			return
		}
		start, end, size, ok := parseContentRange(rep.contentRange)
		if !ok || start < 0 || end != size-1 || end-start+1 > o.cfg.tailSize {
			return
		}
		n := end - start + 1
		if rep.contentLength >= 0 && rep.contentLength != n {
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(rep.body, buf); err != nil {
			return
		}
		if rep.contentLength < 0 {
			var one [1]byte
			if m, _ := rep.body.Read(one[:]); m > 0 {
				return
			}
		}
		s.ok, s.start, s.size, s.etag, s.lastMo, s.data = true, start, size, rep.etag, rep.lastModified, buf
	}()
	return s
}

// useTail keeps the speculative suffix read as the cached tail, as
// tailFor would have fetched it, when it is of the version and size seen
// at open (the same strong ETag, or the same Last-Modified where the
// server sends no ETag) and is exactly the last WithTailSize bytes (or the
// whole object). Otherwise it is dropped and tailFor fetches the tail when
// it is read.
func (o *Object) useTail(s *speculation) {
	if !s.ok || o.noRange || s.size != o.size || s.start != max(0, o.size-o.cfg.tailSize) {
		return
	}
	switch {
	case o.v.etag != "":
		if strings.HasPrefix(o.v.etag, "W/") || s.etag != o.v.etag {
			return
		}
	case o.v.lastModified != "":
		if s.etag != "" || s.lastMo != o.v.lastModified {
			return
		}
	default:
		return
	}
	toff := max(int64(len(o.head)), o.size-o.cfg.tailSize)
	if toff >= o.size {
		return
	}
	o.tailMu.Lock()
	o.tail, o.tailOff = s.data[toff-s.start:], toff
	o.tailMu.Unlock()
}

// URL returns the object's URL as errors name it (without user
// information or query string).
func (o *Object) URL() string { return o.label }

// Size returns the object's size in bytes, as seen at open.
func (o *Object) Size() int64 { return o.size }

// ETag returns the ETag seen at open ("" if the server sent none).
func (o *Object) ETag() string { return o.v.etag }

// LastModified returns the Last-Modified header seen at open, or "".
func (o *Object) LastModified() string { return o.v.lastModified }

// RangeIgnored reports whether the server answered the opening range
// request with the whole object (HTTP 200). Such an object is still read
// correctly, but every read streams from the start of the object (and
// drops the bytes before the range), so it is only fit for reading once
// from front to back (as Fetch does).
func (o *Object) RangeIgnored() bool { return o.noRange }

// Requests returns the number of requests sent for the object so far
// (retries included).
func (o *Object) Requests() int64 { return o.requests.Load() }

// Close releases the object. Reads after Close fail with ErrClosed.
func (o *Object) Close() error {
	if o.closed.Swap(true) {
		return pathError("close", o.label, ErrClosed)
	}
	return nil
}

// retry runs one attempt of a request after another until it succeeds,
// fails in a way that retrying cannot mend, or has failed more than the
// retry limit allows without progress. Each attempt has its own timeout.
// fn reports whether it made progress (read body bytes), which resets the
// count: a body cut again and again is resumed as long as bytes come.
func (o *Object) retry(ctx context.Context, fn func(ctx context.Context) (progress bool, err error)) error {
	fails, attempts := 0, 0
	for {
		actx, cancel := context.WithTimeout(ctx, o.cfg.timeout)
		o.requests.Add(1)
		attempts++
		progress, err := fn(actx)
		cancel()
		if err == nil {
			return nil
		}
		if !retryable(ctx, err) {
			return classify(ctx, err, attempts)
		}
		if progress {
			fails = 0
		}
		fails++
		if fails > o.cfg.retries {
			return classify(ctx, err, attempts)
		}
		d := o.cfg.backoff << min(fails-1, 6)
		t := time.NewTimer(time.Duration(rand.Int64N(int64(d))) + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// open sends the opening request.
func (o *Object) open(ctx context.Context) error {
	n := o.cfg.headSize
	return o.retry(ctx, func(actx context.Context) (bool, error) {
		rep, err := o.be.get(actx, fmt.Sprintf("bytes=0-%d", n-1), validator{})
		if err != nil {
			var se *statusError
			if errors.As(err, &se) && se.code == http.StatusRequestedRangeNotSatisfiable {
				// An empty object has no byte 0: S3 and HTTP servers answer
				// 416 with "bytes */0".
				if _, _, size, ok := parseContentRange(se.contentRange); ok && size == 0 {
					o.size, o.head = 0, nil
					return false, nil
				}
			}
			return false, err
		}
		defer rep.body.Close()
		o.v = validator{etag: rep.etag, lastModified: rep.lastModified}
		switch rep.status {
		case http.StatusPartialContent:
			start, end, size, ok := parseContentRange(rep.contentRange)
			if !ok || start != 0 || end > n-1 || end >= size || (end != n-1 && end != size-1) {
				return false, &badResponse{fmt.Sprintf("Content-Range %q for bytes=0-%d", rep.contentRange, n-1)}
			}
			want := end + 1
			if rep.contentLength >= 0 && rep.contentLength != want {
				return false, &badResponse{fmt.Sprintf("Content-Length %d for a %d-byte range", rep.contentLength, want)}
			}
			buf := make([]byte, want)
			if _, err := io.ReadFull(rep.body, buf); err != nil {
				return false, err
			}
			o.size, o.head, o.noRange = size, buf, false
		case http.StatusOK:
			// The server ignores Range: keep the first n bytes of the
			// whole object and drop the connection.
			limit := n
			if rep.contentLength >= 0 {
				limit = min(n, rep.contentLength)
			}
			buf := make([]byte, limit)
			k, err := io.ReadFull(rep.body, buf)
			switch {
			case rep.contentLength >= 0 && err != nil:
				return false, err
			case rep.contentLength < 0 && err == nil:
				return false, &badResponse{"the server ignores Range and sends no Content-Length: the size of an object over the head size is unknown"}
			case rep.contentLength < 0:
				if err != io.ErrUnexpectedEOF && err != io.EOF {
					return false, err
				}
				rep.contentLength = int64(k)
				buf = buf[:k]
			}
			o.size, o.head, o.noRange = rep.contentLength, buf, true
		default:
			return false, &badResponse{fmt.Sprintf("HTTP %d for a range request", rep.status)}
		}
		return false, nil
	})
}

// ReadAt reads len(p) bytes at offset off (fewer, with io.EOF, at the end
// of the object), with the context given to Open. See ReadAtContext.
func (o *Object) ReadAt(p []byte, off int64) (int, error) {
	return o.ReadAtContext(o.ctx, p, off)
}

// ReadAtContext reads len(p) bytes at offset off (fewer, with io.EOF, at
// the end of the object). Bytes from the opening request and from the
// suffix read kept for small reads near the end are served without a
// request; the rest is fetched in parts (WithPartSize), in parallel up to
// the concurrency limit, each written straight into p.
func (o *Object) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if o.closed.Load() {
		return 0, pathError("read", o.label, ErrClosed)
	}
	if off < 0 {
		return 0, pathError("read", o.label, fmt.Errorf("remote: read at negative offset %d", off))
	}
	if off >= o.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := min(int64(len(p)), o.size-off)
	if err := o.fill(ctx, p[:n], off); err != nil {
		return 0, pathError("read", o.label, err)
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// fill reads q at off, which lies within the object.
func (o *Object) fill(ctx context.Context, q []byte, off int64) error {
	if off < int64(len(o.head)) {
		k := copy(q, o.head[off:])
		q, off = q[k:], off+int64(k)
	}
	if len(q) == 0 {
		return nil
	}
	tail, toff, err := o.tailFor(ctx, off, int64(len(q)))
	if err != nil {
		return err
	}
	if tail != nil && off+int64(len(q)) > toff {
		s := max(off, toff)
		copy(q[s-off:], tail[s-toff:])
		q = q[:s-off]
	}
	if len(q) == 0 {
		return nil
	}
	if int64(len(q)) < o.cfg.mergeGap/2 && !o.noRange {
		return o.readAhead(ctx, q, off)
	}
	return o.fetch(ctx, q, off)
}

// block is a read-ahead block: the bytes at off.
type block struct {
	off  int64
	data []byte
}

// maxBlocks is how many read-ahead blocks an Object keeps.
const maxBlocks = 8

// readAhead serves a small read from a recent block or fetches the block
// of the merge-gap size that starts at off: reading that much costs about
// what a request costs (see WithMergeGap), and small reads come in runs
// (zip local headers then .npy headers, a deflated member read through a
// 4 KiB buffer, rows printed by arr show).
func (o *Object) readAhead(ctx context.Context, q []byte, off int64) error {
	end := off + int64(len(q))
	o.blockMu.Lock()
	for i, b := range o.blocks {
		if off >= b.off && end <= b.off+int64(len(b.data)) {
			copy(q, b.data[off-b.off:])
			copy(o.blocks[1:i+1], o.blocks[:i])
			o.blocks[0] = b
			o.blockMu.Unlock()
			return nil
		}
	}
	o.blockMu.Unlock()
	n := min(o.cfg.mergeGap, o.size-off)
	o.tailMu.Lock()
	if o.tail != nil && o.tailOff > off {
		n = min(n, max(o.tailOff-off, int64(len(q))))
	}
	o.tailMu.Unlock()
	buf := make([]byte, n)
	if err := o.getRange(ctx, buf, off); err != nil {
		return err
	}
	copy(q, buf)
	o.blockMu.Lock()
	if len(o.blocks) < maxBlocks {
		o.blocks = append(o.blocks, block{})
	}
	copy(o.blocks[1:], o.blocks[:len(o.blocks)-1])
	o.blocks[0] = block{off: off, data: buf}
	o.blockMu.Unlock()
	return nil
}

// tailFor returns the cached end of the object, fetching it first (one
// suffix GET, or one stream of the object from a server that ignores
// Range) when a small read [off, off+n) falls within the last
// WithTailSize bytes: the seek table of an .npy.zst or the directory of an
// .npz is read as several small reads from the end.
func (o *Object) tailFor(ctx context.Context, off, n int64) ([]byte, int64, error) {
	o.tailMu.Lock()
	defer o.tailMu.Unlock()
	if o.tail != nil {
		return o.tail, o.tailOff, nil
	}
	headEnd := int64(len(o.head))
	toff := max(headEnd, o.size-o.cfg.tailSize)
	if off < toff || n >= o.cfg.tailSize || toff >= o.size {
		return nil, 0, nil
	}
	want := o.size - toff
	buf := make([]byte, want)
	done := int64(0)
	err := o.withSlot(ctx, func() error {
		return o.retry(ctx, func(actx context.Context) (bool, error) {
			// A suffix range first; a resumed read asks for the rest explicitly.
			rng := fmt.Sprintf("bytes=-%d", want)
			if done > 0 {
				rng = fmt.Sprintf("bytes=%d-%d", toff+done, o.size-1)
			}
			k, err := o.getInto(actx, rng, buf[done:], toff+done)
			done += int64(k)
			return k > 0, err
		})
	})
	if err != nil {
		return nil, 0, err
	}
	o.tail, o.tailOff = buf, toff
	return buf, toff, nil
}

// withSlot runs fn holding one of the object's concurrency slots.
func (o *Object) withSlot(ctx context.Context, fn func() error) error {
	select {
	case o.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-o.sem }()
	return fn()
}

// fetch reads q at off from the server, in parts fetched in parallel.
func (o *Object) fetch(ctx context.Context, q []byte, off int64) error {
	ps := o.cfg.partSize
	if o.noRange || int64(len(q)) <= ps {
		return o.getRange(ctx, q, off)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for s := int64(0); s < int64(len(q)); s += ps {
		e := min(s+ps, int64(len(q)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.getRange(ctx, q[s:e], off+s); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}

// getRange fetches q at off with one GET (resumed after a cut body),
// holding a concurrency slot.
func (o *Object) getRange(ctx context.Context, q []byte, off int64) error {
	return o.withSlot(ctx, func() error {
		done := 0
		return o.retry(ctx, func(actx context.Context) (bool, error) {
			start := off + int64(done)
			rng := fmt.Sprintf("bytes=%d-%d", start, off+int64(len(q))-1)
			k, err := o.getInto(actx, rng, q[done:], start)
			done += k
			return k > 0, err
		})
	})
}

// getInto sends one GET for rng, which asks for len(q) bytes at off,
// checks the reply and reads its body into q. It returns how many bytes
// of q it filled (a cut body fills part of it).
func (o *Object) getInto(ctx context.Context, rng string, q []byte, off int64) (int, error) {
	if o.noRange {
		rng = ""
	}
	rep, err := o.be.get(ctx, rng, o.v)
	if err != nil {
		return 0, err
	}
	defer rep.body.Close()
	if err := o.check(rep, off, int64(len(q))); err != nil {
		return 0, err
	}
	if o.noRange {
		if _, err := io.CopyN(io.Discard, rep.body, off); err != nil {
			return 0, err
		}
	}
	k, err := io.ReadFull(rep.body, q)
	if o.cfg.progress != nil && k > 0 {
		o.cfg.progress(int64(k))
	}
	if err != nil {
		return k, err
	}
	if !o.noRange && rep.contentLength < 0 {
		var one [1]byte
		if m, _ := rep.body.Read(one[:]); m > 0 {
			return k, &badResponse{fmt.Sprintf("body longer than the %d bytes of %s", len(q), rng)}
		}
	}
	return k, nil
}

// check verifies a reply to a request for n bytes at off: the version,
// the status, the Content-Range and the length.
func (o *Object) check(rep *reply, off, n int64) error {
	if o.v.etag != "" && rep.etag != "" && rep.etag != o.v.etag {
		return &changed{fmt.Sprintf("ETag %s, was %s at open", rep.etag, o.v.etag)}
	}
	if o.v.etag == "" && o.v.lastModified != "" && rep.lastModified != "" && rep.lastModified != o.v.lastModified {
		return &changed{fmt.Sprintf("Last-Modified %s, was %s at open", rep.lastModified, o.v.lastModified)}
	}
	if o.noRange {
		if rep.status != http.StatusOK {
			return &badResponse{fmt.Sprintf("HTTP %d for a GET of the whole object", rep.status)}
		}
		if rep.contentLength >= 0 && rep.contentLength != o.size {
			return &changed{fmt.Sprintf("size %d, was %d at open", rep.contentLength, o.size)}
		}
		return nil
	}
	if rep.status != http.StatusPartialContent {
		if rep.status == http.StatusOK && o.v.etag == "" && o.v.lastModified != "" {
			// If-Range with Last-Modified: a whole object means a new one.
			return &changed{"the server sent the whole object for If-Range: it was modified"}
		}
		return &badResponse{fmt.Sprintf("HTTP %d for a range request", rep.status)}
	}
	start, end, size, ok := parseContentRange(rep.contentRange)
	if ok && size != o.size {
		return &changed{fmt.Sprintf("size %d, was %d at open", size, o.size)}
	}
	if !ok || start != off || end != off+n-1 {
		return &badResponse{fmt.Sprintf("Content-Range %q for bytes %d-%d", rep.contentRange, off, off+n-1)}
	}
	if rep.contentLength >= 0 && rep.contentLength != n {
		return &badResponse{fmt.Sprintf("Content-Length %d for a %d-byte range", rep.contentLength, n)}
	}
	return nil
}

// parseContentRange parses "bytes START-END/SIZE" and "bytes */SIZE"
// (start and end -1); ok is false for anything else, including an unknown
// size ("/*").
func parseContentRange(s string) (start, end, size int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	r, sz, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	size, err := strconv.ParseInt(sz, 10, 64)
	if err != nil || size < 0 {
		return 0, 0, 0, false
	}
	if r == "*" {
		return -1, -1, size, true
	}
	a, b, found := strings.Cut(r, "-")
	if !found {
		return 0, 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start || end >= size {
		return 0, 0, 0, false
	}
	return start, end, size, true
}

// Range is one range of ReadRanges: len(P) bytes at offset Off.
type Range struct {
	Off int64
	P   []byte
}

// ReadRanges reads several ranges, in parallel, merging ranges whose gap
// is at most WithMergeGap into one request (the gap's bytes are read and
// dropped) as long as the merged request stays within the part size.
// Each request is one single range: object stores answer a multi-range
// request with the whole object. Every range must lie within the object.
func (o *Object) ReadRanges(ctx context.Context, rs []Range) error {
	if o.closed.Load() {
		return pathError("read", o.label, ErrClosed)
	}
	idx := make([]int, 0, len(rs))
	for i, r := range rs {
		if r.Off < 0 || r.Off+int64(len(r.P)) > o.size {
			return pathError("read", o.label, fmt.Errorf("remote: range %d-%d outside the %d-byte object", r.Off, r.Off+int64(len(r.P)), o.size))
		}
		if len(r.P) > 0 {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool { return rs[idx[a]].Off < rs[idx[b]].Off })
	type group struct {
		start, end int64
		members    []int
	}
	var groups []group
	for _, i := range idx {
		r := rs[i]
		e := r.Off + int64(len(r.P))
		if k := len(groups) - 1; k >= 0 && r.Off-groups[k].end <= o.cfg.mergeGap && max(e, groups[k].end)-groups[k].start <= o.cfg.partSize {
			groups[k].end = max(groups[k].end, e)
			groups[k].members = append(groups[k].members, i)
			continue
		}
		groups = append(groups, group{start: r.Off, end: e, members: []int{i}})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if len(g.members) == 1 {
				r := rs[g.members[0]]
				err = o.fill(ctx, r.P, r.Off)
			} else {
				buf := make([]byte, g.end-g.start)
				if err = o.fill(ctx, buf, g.start); err == nil {
					for _, i := range g.members {
						copy(rs[i].P, buf[rs[i].Off-g.start:])
					}
				}
			}
			if err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return pathError("read", o.label, first)
}
