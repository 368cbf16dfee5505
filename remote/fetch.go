package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// FetchResult describes what Fetch did.
type FetchResult struct {
	// Header is the array's header.
	Header *npy.Header
	// Format is "npy" or "npy.zst", the remote object's format.
	Format string
	// Cached reports that dest already held this version of the object
	// (same URL and ETag), so nothing was downloaded.
	Cached bool
	// Requests is the number of requests sent (retries included).
	Requests int64
}

// Fetch downloads the remote .npy or .npy.zst at rawURL into dest as a
// published mmfile array (mmfile.Create, then Publish): readers of dest
// never see a partial array, and every local process can then map it.
//
// An .npy's data is fetched in parallel parts written straight into the
// new file's mapping. An .npy.zst's frames are fetched in groups of whole
// frames of about the part size, one GET per group, in parallel, and each
// group is decompressed straight into the mapping as it arrives, while
// the others download; at most one group per request in flight is held
// in memory. dest gets the array's dtype, order and shape;
// its header is written as NumPy writes it.
//
// Where the filesystem keeps extended attributes, dest records the URL and
// ETag it came from (attribute user.arrfile.source): a later Fetch of the
// same URL whose object has the same ETag returns at once with Cached set,
// after its one opening request. A dest replaced by another file loses the
// attribute with its old inode.
func Fetch(ctx context.Context, rawURL, dest string, opts ...Option) (*FetchResult, error) {
	o, err := Open(ctx, rawURL, opts...)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	key := ""
	if o.ETag() != "" {
		key = o.URL() + "\n" + o.ETag()
	}
	res, err := o.fetchInto(ctx, dest, key)
	if err != nil {
		return nil, pathError("fetch", o.label, err)
	}
	res.Requests = o.Requests()
	return res, nil
}

func (o *Object) fetchInto(ctx context.Context, dest, key string) (*FetchResult, error) {
	head := o.head
	switch {
	case bytes.HasPrefix(head, []byte(npy.Magic)):
		h, err := npy.ReadHeader(io.NewSectionReader(o, 0, o.size))
		if err != nil {
			return nil, err
		}
		res := &FetchResult{Header: h, Format: "npy"}
		if need := h.DataOffset + h.DataSize(); need > o.size {
			return nil, fmt.Errorf("%w: the header (%s) needs %d bytes, the object has %d", npy.ErrTruncated, h, need, o.size)
		}
		if cachedCopy(dest, key, h) {
			res.Cached = true
			return res, nil
		}
		return res, create(dest, h, key, func(data []byte) error {
			_, err := o.ReadAtContext(ctx, data, h.DataOffset)
			return err
		})
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}) || (len(head) >= 4 && head[0]&0xf0 == 0x50 && head[1] == 0x2a && head[2] == 0x4d && head[3] == 0x18):
		// The frames are read through parts: during the fetch it serves
		// each frame from the group of frames fetched with it.
		parts := &partSource{o: o}
		r, err := npyzst.NewReader(parts, o.size, zstdseek.WithName(o.label), zstdseek.WithConcurrency(min(o.cfg.concurrency, runtime.GOMAXPROCS(0))))
		if err != nil {
			return nil, err
		}
		defer r.Close()
		h := r.Header
		res := &FetchResult{Header: h, Format: "npy.zst"}
		if cachedCopy(dest, key, h) {
			res.Cached = true
			return res, nil
		}
		return res, create(dest, h, key, func(data []byte) error {
			if r.Zstd().SeekTable() == nil {
				// Made by plain zstd: decompress front to back.
				_, err := r.WriteDataTo(&sliceWriter{b: data})
				return err
			}
			return o.fetchFrames(ctx, r, parts, data)
		})
	}
	return nil, fmt.Errorf("%w: neither an .npy nor an .npy.zst file", npy.ErrBadMagic)
}

// create makes dest with header h, fills its data with fill, records key
// and publishes it; on error nothing is published.
func create(dest string, h *npy.Header, key string, fill func(data []byte) error) error {
	a, err := mmfile.Create(dest, h, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	data, err := a.Bytes()
	if err != nil {
		return err
	}
	if err := fill(data); err != nil {
		return err
	}
	if key != "" {
		if f, err := a.File(); err == nil {
			setSource(f, key)
		}
	}
	if err := a.Publish(); err != nil {
		return err
	}
	return a.Close()
}

// cachedCopy reports whether dest is a copy of the object version key with
// header h.
func cachedCopy(dest, key string, h *npy.Header) bool {
	if key == "" || getSource(dest) != key {
		return false
	}
	a, err := mmfile.Open(dest, mmfile.ReadOnly, nil)
	if err != nil {
		return false
	}
	defer a.Close()
	got := a.Header()
	return got.DType.String() == h.DType.String() && got.FortranOrder == h.FortranOrder && fmt.Sprint(got.Shape) == fmt.Sprint(h.Shape)
}

// sliceWriter writes into a fixed slice.
type sliceWriter struct {
	b []byte
	n int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	if len(p) > len(w.b)-w.n {
		return 0, fmt.Errorf("%w: more data than the header says", npy.ErrSize)
	}
	w.n += copy(w.b[w.n:], p)
	return len(p), nil
}

// frameGroup is a run of whole consecutive frames fetched with one read:
// compressed bytes [off, end) and decompressed bytes [dOff, dEnd).
type frameGroup struct {
	off, end   int64
	dOff, dEnd int64
}

// groupPart is the part size for the groups of frames of a fetch of n
// compressed bytes: the part size, or less for an object smaller than
// two parts per request in flight (down to 1 MiB), so that a smaller
// fetch still has groups for every request in flight and decompresses
// the first groups while the others download.
func (o *Object) groupPart(n int64) int64 {
	ps := o.cfg.partSize
	return max(min(ps, 1<<20), min(ps, n/int64(2*o.cfg.concurrency)))
}

// groupSize is the most compressed bytes of a group of frames for part
// size ps: a little more than a part, so that four 2 MiB frames stored
// raw (a few bytes over 2 MiB each) still make one 8 MiB group.
func groupSize(ps int64) int64 { return ps + ps/64 }

// readGroup reads the compressed bytes of a group of frames at off: the
// bytes of the opening request from memory, the rest with one GET (a
// group of one frame larger than that in parallel parts).
func (o *Object) readGroup(ctx context.Context, b []byte, off int64) error {
	if o.closed.Load() {
		return ErrClosed
	}
	if off < int64(len(o.head)) {
		k := copy(b, o.head[off:])
		b, off = b[k:], off+int64(k)
	}
	if len(b) == 0 {
		return nil
	}
	if int64(len(b)) > groupSize(o.cfg.partSize) {
		return o.fill(ctx, b, off)
	}
	return o.getRange(ctx, b, off)
}

// frameGroups groups the frames of t that hold decompressed bytes [lo, hi)
// into runs of whole frames of at most size compressed bytes each (a
// larger frame is a group by itself). A frame listed with more compressed
// bytes than any zstd frame of its decompressed size can take is an error
// before anything is allocated for it: the table is untrusted.
func frameGroups(t *zstdseek.SeekTable, lo, hi, size int64) ([]frameGroup, error) {
	var gs []frameGroup
	for i, f := range t.Frames {
		a, b := f.DecompressedOffset, f.DecompressedOffset+f.DecompressedSize
		if a == b || b <= lo || a >= hi {
			// Skippable and empty frames hold no data: not fetched.
			continue
		}
		if f.CompressedSize > maxFrameCompressed(f.DecompressedSize) {
			return nil, fmt.Errorf("%w: frame %d of %d lists %d compressed bytes for %d decompressed bytes, more than a zstd frame of that size takes", zstdseek.ErrCorrupt, i, len(t.Frames), f.CompressedSize, f.DecompressedSize)
		}
		end := f.CompressedOffset + f.CompressedSize
		if k := len(gs) - 1; k >= 0 && gs[k].end == f.CompressedOffset && end-gs[k].off <= size {
			gs[k].end, gs[k].dEnd = end, b
			continue
		}
		gs = append(gs, frameGroup{off: f.CompressedOffset, end: end, dOff: a, dEnd: b})
	}
	return gs, nil
}

// maxFrameCompressed is the most compressed bytes a zstd frame of d
// decompressed bytes takes (raw blocks, their headers and a frame header,
// with room to spare); codec/zstdseek's reader applies the same bound.
func maxFrameCompressed(d int64) int64 { return d + d/64 + 64<<10 }

// fetchFrames fills data, the data section of the seekable .npy.zst r,
// which reads the object through parts. The frames are fetched in groups
// of whole frames of about the part size, each group with one read (one
// GET, resumed and checked as every read is), up to the concurrency limit
// in parallel; as each group arrives its frames are decompressed from its
// buffer straight into data, while the other groups download. At most
// one group per worker is in memory: concurrency times the part size.
func (o *Object) fetchFrames(ctx context.Context, r *npyzst.Reader, parts *partSource, data []byte) error {
	h := r.Header
	lo, hi := h.DataOffset, h.DataOffset+h.DataSize()
	z := r.Zstd()
	groups, err := frameGroups(z.SeekTable(), lo, hi, groupSize(o.groupPart(o.size)))
	if err != nil {
		return err
	}
	var largest int64
	for _, g := range groups {
		largest = max(largest, g.end-g.off)
	}
	workers := min(int64(o.cfg.concurrency), int64(len(groups)))
	if largest > 0 {
		// Frames larger than a part: fewer workers, the same memory.
		workers = max(1, min(workers, int64(o.cfg.concurrency)*o.cfg.partSize/largest))
	}
	decode := func(g frameGroup, b []byte) error {
		parts.add(g.off, b)
		defer parts.remove(g.off)
		a, e := max(g.dOff, lo), min(g.dEnd, hi)
		_, err := z.ReadAt(data[a-lo:e-lo], a)
		return err
	}
	if o.noRange {
		return o.streamGroups(ctx, groups, decode)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(groups) {
					return
				}
				g := groups[i]
				if n := int(g.end - g.off); cap(buf) < n {
					buf = make([]byte, n)
				}
				b := buf[:g.end-g.off]
				err := o.readGroup(ctx, b, g.off)
				if err == nil {
					err = decode(g, b)
				}
				if err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// streamGroups reads the groups of frames, in order, from one GET of the
// whole object, for a server that ignores Range (where each range read
// would stream the object from its start again), handing each group to
// decode as it arrives. A cut body is fetched again and the groups
// already decoded are skipped.
func (o *Object) streamGroups(ctx context.Context, groups []frameGroup, decode func(frameGroup, []byte) error) error {
	next := 0
	var buf []byte
	var derr error // decode errors are not retried
	err := o.withSlot(ctx, func() error {
		return o.retry(ctx, func(actx context.Context) (bool, error) {
			rep, err := o.be.get(actx, "", o.v)
			if err != nil {
				return false, err
			}
			defer rep.body.Close()
			if err := o.check(rep, 0, o.size); err != nil {
				return false, err
			}
			var pos int64
			progress := false
			for ; next < len(groups); next++ {
				g := groups[next]
				if _, err := io.CopyN(io.Discard, rep.body, g.off-pos); err != nil {
					return progress, err
				}
				if n := int(g.end - g.off); cap(buf) < n {
					buf = make([]byte, n)
				}
				b := buf[:g.end-g.off]
				if k, err := io.ReadFull(rep.body, b); err != nil {
					return progress || k > 0, err
				}
				if o.cfg.progress != nil {
					o.cfg.progress(int64(len(b)))
				}
				pos = g.end
				if derr = decode(g, b); derr != nil {
					return false, nil
				}
				progress = true
			}
			return false, nil
		})
	})
	if derr != nil {
		return derr
	}
	return err
}

// partSource is the io.ReaderAt a fetch reads an .npy.zst through: reads
// that lie within a group of frames being decompressed are served from
// the group's buffer, the others (opening, seek table) from the object.
type partSource struct {
	o    *Object
	mu   sync.RWMutex
	bufs []block
}

func (p *partSource) add(off int64, b []byte) {
	p.mu.Lock()
	p.bufs = append(p.bufs, block{off: off, data: b})
	p.mu.Unlock()
}

func (p *partSource) remove(off int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, b := range p.bufs {
		if b.off == off {
			p.bufs = append(p.bufs[:i], p.bufs[i+1:]...)
			return
		}
	}
}

// ReadAt implements io.ReaderAt.
func (p *partSource) ReadAt(q []byte, off int64) (int, error) {
	p.mu.RLock()
	for _, b := range p.bufs {
		if off >= b.off && off+int64(len(q)) <= b.off+int64(len(b.data)) {
			n := copy(q, b.data[off-b.off:])
			p.mu.RUnlock()
			return n, nil
		}
	}
	p.mu.RUnlock()
	return p.o.ReadAt(q, off)
}
