package zstdseek

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// zstdMagic is the zstd frame magic number.
const zstdMagic uint32 = 0xFD2FB528

// minWindowLimit is the smallest window limit given to the decoder for a
// seekable file. Frames decoded with DecodeAll write into a buffer sized from
// the seek table, so a declared window larger than the frame costs no
// memory; accepting windows up to 8 MiB (what zstd levels up to 19 declare
// when the frame size is not known in advance) lets us read seekable files
// from other writers with small frames.
const minWindowLimit = 8 << 20

// frameHeaderMaxSize is the largest zstd frame header (magic 4, descriptor
// 1, window 1, dictionary ID 4, content size 8) plus a block header (3).
// zstd.HeaderMaxSize leaves out the magic number.
const frameHeaderMaxSize = 4 + 14 + 3

// Reader reads a zstd file: a seekable one (with a seek table) with random
// access, or a plain one sequentially.
//
// For a seekable file, ReadAt decompresses only the frames that hold the
// requested bytes (keeping a few recently used frames), WriteTo decompresses
// everything in parallel with bounded memory, and every frame's checksums
// (the seek table's and zstd's own) are verified whenever the frame is
// decompressed. A plain zstd file (no seek table, one or many frames) can
// only be read through WriteTo, Verify and Stream; ReadAt returns
// ErrNotSeekable, Size returns -1 and SeekTable nil.
//
// All methods are safe for concurrent use. Close releases the decoder (and
// the file, for a Reader from Open); later calls return ErrClosed.
type Reader struct {
	ra       io.ReaderAt
	size     int64 // compressed size
	dataSize int64 // decompressed size, -1 without seek table
	cfg      readerConfig
	closer   io.Closer

	table *SeekTable
	dec   *zstd.Decoder
	limit uint64 // decoder memory and window limit

	cacheMu  sync.Mutex
	cache    []cachedFrame // most recently used first
	cacheCap int

	closed atomic.Bool
}

type cachedFrame struct {
	index int
	data  []byte
}

// Open opens the named zstd file for reading; see NewReader. Errors name
// the file (WithName is set to name).
func Open(name string, opts ...ReaderOption) (*Reader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := NewReader(f, st.Size(), append([]ReaderOption{WithName(name)}, opts...)...)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader returns a Reader over the size bytes of ra. It reads and
// validates the seek table if the file ends with one: the table must fit
// the file, its compressed sizes must add up to the bytes before it, and no
// frame may exceed the limits (see ParseSeekTable, WithMaxFrames,
// WithMaxFrameSize). Otherwise it follows the frame headers from the start
// of the file and requires that whole zstd and skippable frames fill it
// exactly, so a file that ends inside a frame (a seekable file that lost
// the end of its seek table, a cut last frame) is ErrTruncated at once.
func NewReader(ra io.ReaderAt, size int64, opts ...ReaderOption) (*Reader, error) {
	cfg, err := newReaderConfig(opts)
	if err != nil {
		return nil, err
	}
	r := &Reader{ra: ra, size: size, dataSize: -1, cfg: cfg, cacheCap: max(2, cfg.concurrency)}
	if size < 0 {
		return nil, r.wrap("open", errorf(ErrNotZstd, "negative size %d", size))
	}
	t, err := readSeekTable(ra, size, cfg.maxFrames)
	switch {
	case errors.Is(err, ErrNotSeekable):
		if err := r.checkPlain(); err != nil {
			return nil, r.wrap("open", err)
		}
		return r, nil
	case err != nil:
		return nil, r.wrap("open", err)
	}
	if err := r.index(t); err != nil {
		return nil, r.wrap("open", err)
	}
	return r, nil
}

// checkPlain verifies that a file without seek table starts with a zstd or
// skippable frame magic and that its frames tile the file exactly (see
// walkFrames): a seekable file that lost the end of its seek table ends
// inside a skippable frame and is ErrTruncated, not a plain file.
func (r *Reader) checkPlain() error {
	if r.size < 4 {
		return errorf(ErrNotZstd, "%d-byte file is too short for a zstd frame", r.size)
	}
	var b [4]byte
	if err := readFullAt(r.ra, b[:], 0); err != nil {
		return readErr(err, "reading the zstd magic")
	}
	m := binary.LittleEndian.Uint32(b[:])
	if m != zstdMagic && m&0xFFFFFFF0 != 0x184D2A50 {
		return errorf(ErrNotZstd, "starts with 0x%08X, neither a zstd frame (0x%08X) nor a skippable frame", m, zstdMagic)
	}
	if _, err := walkFrames(r.ra, r.size); err != nil {
		return fmt.Errorf("%w (no seek table at the end of the file, so its frames were followed from the start)", err)
	}
	return nil
}

// index checks the frames of t against the limits and builds the frame
// decoder.
func (r *Reader) index(t *SeekTable) error {
	n := len(t.Frames)
	var maxD int64
	for i, f := range t.Frames {
		if f.DecompressedSize > r.cfg.maxFrameSize {
			return errorf(ErrFrameTooLarge, "frame %d of %d decompresses to %d bytes, limit %d (see WithMaxFrameSize)", i, n, f.DecompressedSize, r.cfg.maxFrameSize)
		}
		maxD = max(maxD, f.DecompressedSize)
	}
	lim := max(uint64(minWindowLimit), uint64(1)<<bits.Len64(uint64(maxD)))
	r.limit = min(lim, uint64(r.cfg.maxFrameSize))
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(r.cfg.concurrency),
		zstd.WithDecoderMaxMemory(r.limit),
		zstd.WithDecoderMaxWindow(max(r.limit, zstd.MinWindowSize)),
		zstd.WithDecodeAllCapLimit(true),
	)
	if err != nil {
		return fmt.Errorf("zstdseek: creating zstd decoder: %w", err)
	}
	r.table, r.dec = t, dec
	r.dataSize = 0
	if n > 0 {
		r.dataSize = t.Frames[n-1].DecompressedOffset + t.Frames[n-1].DecompressedSize
	}
	return nil
}

// wrap names the file in err (see pathError).
func (r *Reader) wrap(op string, err error) error {
	return pathError(op, r.cfg.name, err)
}

// Close releases the decoder and closes the file opened by Open.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return ErrClosed
	}
	if r.dec != nil {
		r.dec.Close()
	}
	r.cacheMu.Lock()
	r.cache = nil
	r.cacheMu.Unlock()
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Name returns the file name given by Open or WithName.
func (r *Reader) Name() string { return r.cfg.name }

// Size returns the decompressed size, or -1 for a file without seek table.
func (r *Reader) Size() int64 { return r.dataSize }

// SeekTable returns the file's seek table, with every frame's offsets, or
// nil for a file without one (which is read sequentially only). The table
// is the Reader's own: do not modify it.
func (r *Reader) SeekTable() *SeekTable { return r.table }

// frameAt returns the index of the frame holding decompressed offset off,
// or -1 if off is outside [0, Size).
func (r *Reader) frameAt(off int64) int {
	if r.table == nil || off < 0 || off >= r.dataSize {
		return -1
	}
	fr := r.table.Frames
	return sort.Search(len(fr), func(i int) bool { return fr[i].DecompressedOffset+fr[i].DecompressedSize > off })
}

// maxCompressed bounds the compressed size of a non-skippable frame of d
// decompressed bytes: zstd stores incompressible data in raw blocks (3
// header bytes per block of up to 128 KiB) after a header of at most 18
// bytes and a 4-byte checksum. The bound is generous (1/64 overhead plus
// 64 KiB) so that other encoders' choices pass; it exists to cap the read
// buffer.
func maxCompressed(d int64) int64 { return d + d/64 + 64<<10 }

// decodeFrame decompresses frame i into dst, which must have length and
// capacity equal to the frame's decompressed size, verifying the frame
// header against the seek table and every checksum.
func (r *Reader) decodeFrame(i int, dst []byte) error {
	f := r.table.Frames[i]
	cs, ds, off := f.CompressedSize, f.DecompressedSize, f.CompressedOffset
	ferr := func(sentinel error, format string, args ...any) error {
		return errorf(sentinel, "frame %d of %d (compressed bytes %d-%d): "+format, append([]any{i, len(r.table.Frames), off, off + cs}, args...)...)
	}
	// The frame is read with one ReadAt (one request on a remote file) and
	// its header checked in the buffer. A frame larger than any zstd frame
	// of its decompressed size can only be skippable: of it, only the
	// header is read.
	n := cs
	if cs > maxCompressed(ds) {
		n = min(int64(frameHeaderMaxSize), cs)
	}
	comp := getBuf(int(n))
	defer putBuf(comp)
	if err := readFullAt(r.ra, comp, off); err != nil {
		return readErr(err, fmt.Sprintf("reading frame %d", i))
	}
	h := comp[:min(int64(frameHeaderMaxSize), n)]
	var hdr zstd.Header
	if err := hdr.Decode(h); err != nil && !hdr.Skippable {
		return ferr(ErrCorrupt, "bad frame header: %v", err)
	}
	if hdr.Skippable {
		if ds != 0 {
			return ferr(ErrCorrupt, "skippable frame listed with %d decompressed bytes", ds)
		}
		if int64(hdr.SkippableSize)+skippableHeaderSize != cs {
			return ferr(ErrCorrupt, "skippable frame of %d bytes listed as %d bytes", int64(hdr.SkippableSize)+skippableHeaderSize, cs)
		}
		return nil
	}
	if hdr.HasFCS && hdr.FrameContentSize != uint64(ds) {
		return ferr(ErrCorrupt, "frame header says %d decompressed bytes, seek table says %d", hdr.FrameContentSize, ds)
	}
	if !hdr.SingleSegment && hdr.WindowSize > r.limit {
		return ferr(ErrFrameTooLarge, "%w: window of %d bytes exceeds the limit of %d", zstd.ErrWindowSizeExceeded, hdr.WindowSize, r.limit)
	}
	if cs > maxCompressed(ds) {
		return ferr(ErrCorrupt, "%d compressed bytes for %d decompressed bytes, more than any zstd frame needs", cs, ds)
	}
	out, err := r.dec.DecodeAll(comp, dst[:0:len(dst)])
	if err != nil {
		return ferr(decodeSentinel(err), "%w", err)
	}
	if int64(len(out)) != ds {
		return ferr(ErrCorrupt, "decompressed to %d bytes, seek table says %d", len(out), ds)
	}
	if ds > 0 && &out[0] != &dst[0] {
		return ferr(ErrCorrupt, "decompressed beyond the size in the seek table")
	}
	if r.table.Checksums {
		if hdr.HasCheckSum && ds > 0 {
			// The decoder has verified the data against the frame's
			// content checksum (the low 32 bits of XXH64, the same
			// function as the seek table's): comparing the two values
			// verifies the seek table's checksum without hashing again.
			if got := binary.LittleEndian.Uint32(comp[len(comp)-4:]); got != f.Checksum {
				return ferr(ErrChecksum, "frame checksum 0x%08X, seek table says 0x%08X", got, f.Checksum)
			}
		} else if got := uint32(xxhash.Sum64(out)); got != f.Checksum {
			return ferr(ErrChecksum, "XXH64 low bits 0x%08X, seek table says 0x%08X", got, f.Checksum)
		}
	}
	return nil
}

// decodeSentinel maps a klauspost decoder error to our sentinel.
func decodeSentinel(err error) error {
	switch {
	case errors.Is(err, zstd.ErrCRCMismatch):
		return ErrChecksum
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		return ErrFrameTooLarge
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ErrTruncated
	}
	return ErrCorrupt
}

// bufPool recycles compressed-frame buffers.
var bufPool sync.Pool

func getBuf(n int) []byte {
	if p, ok := bufPool.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]byte, n)
}

func putBuf(b []byte) {
	bufPool.Put(&b)
}

// cachedDecode returns frame i's decompressed bytes, from the cache or by
// decompressing it. The returned slice must not be modified.
func (r *Reader) cachedDecode(i int) ([]byte, error) {
	r.cacheMu.Lock()
	for k, c := range r.cache {
		if c.index == i {
			copy(r.cache[1:k+1], r.cache[:k])
			r.cache[0] = c
			r.cacheMu.Unlock()
			return c.data, nil
		}
	}
	r.cacheMu.Unlock()
	data := make([]byte, r.table.Frames[i].DecompressedSize)
	if err := r.decodeFrame(i, data); err != nil {
		return nil, err
	}
	r.cacheMu.Lock()
	if len(r.cache) < r.cacheCap {
		r.cache = append(r.cache, cachedFrame{})
	}
	copy(r.cache[1:], r.cache[:len(r.cache)-1])
	r.cache[0] = cachedFrame{index: i, data: data}
	r.cacheMu.Unlock()
	return data, nil
}

// ReadAt reads decompressed bytes at offset off, decompressing only the
// frames that hold them: frames entirely inside p are decompressed straight
// into p, in parallel (WithConcurrency), so that p may be the caller's final
// destination, such as a memory-mapped file; partly needed frames go
// through a small cache. It implements io.ReaderAt. On a checksum or
// decoding error, n counts the bytes before the first bad frame; other
// ranges remain readable.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	if r.table == nil {
		return 0, r.wrap("read", errorf(ErrNotSeekable, "random access needs a seek table; decompress the file sequentially"))
	}
	if off < 0 {
		return 0, fmt.Errorf("zstdseek: ReadAt at negative offset %d", off)
	}
	size := r.dataSize
	if off >= size {
		if len(p) == 0 && off == size {
			return 0, nil
		}
		return 0, io.EOF
	}
	if len(p) == 0 {
		// No frame to find: at a boundary with empty or skippable frames
		// between the frame ending at off and the one starting there,
		// frameAt(off) would come after frameAt(off-1).
		return 0, nil
	}
	end := min(size, off+int64(len(p)))
	first, last := r.frameAt(off), r.frameAt(end-1)
	errs := make([]error, last-first+1)
	work := func(i int) {
		f := r.table.Frames[i]
		a, b := f.DecompressedOffset, f.DecompressedOffset+f.DecompressedSize
		if a == b {
			return
		}
		if a >= off && b <= end {
			errs[i-first] = r.decodeFrame(i, p[a-off:b-off:b-off])
			return
		}
		data, err := r.cachedDecode(i)
		if err != nil {
			errs[i-first] = err
			return
		}
		lo, hi := max(a, off), min(b, end)
		copy(p[lo-off:hi-off], data[lo-a:hi-a])
	}
	if workers := min(r.cfg.concurrency, last-first+1); workers <= 1 {
		for i := first; i <= last; i++ {
			work(i)
			if errs[i-first] != nil {
				break
			}
		}
	} else {
		var next atomic.Int64
		next.Store(int64(first))
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i > last {
						return
					}
					work(i)
				}
			}()
		}
		wg.Wait()
	}
	for k, err := range errs {
		if err != nil {
			return int(max(0, r.table.Frames[first+k].DecompressedOffset-off)), r.wrap("read", err)
		}
	}
	n := int(end - off)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteTo decompresses the whole file to w and returns the number of bytes
// written. For a seekable file, frames are decompressed in parallel
// (WithConcurrency) and written in order, with at most about
// 2*concurrency+2 frames in memory; every checksum is verified. A plain zstd
// file is decompressed with klauspost's streaming decoder, under the same
// window limit. It implements io.WriterTo.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	var n int64
	var err error
	if r.table == nil {
		n, err = r.writePlain(w)
	} else {
		n, err = r.writeFrames(w)
	}
	return n, r.wrap("read", err)
}

// Verify decompresses everything, checking the structure and every
// checksum, and discards the output: WriteTo(io.Discard).
func (r *Reader) Verify() error {
	_, err := r.WriteTo(io.Discard)
	return err
}

type decJob struct {
	index int
	data  []byte
	err   error
	done  chan struct{}
}

// writeFrames decompresses all frames in parallel and writes them to w in
// order.
func (r *Reader) writeFrames(w io.Writer) (int64, error) {
	conc := r.cfg.concurrency
	order := make(chan *decJob, 2*conc)
	jobs := make(chan *decJob, 2*conc+1)
	free := make(chan []byte, 2*conc+2)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for k := 0; k < conc; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				select {
				case <-stop:
					close(j.done)
					continue
				default:
				}
				ds := int(r.table.Frames[j.index].DecompressedSize)
				var b []byte
				select {
				case b = <-free:
				default:
				}
				if cap(b) < ds {
					b = make([]byte, ds)
				}
				j.data = b[:ds:ds]
				j.err = r.decodeFrame(j.index, j.data)
				close(j.done)
			}
		}()
	}
	go func() {
		defer close(jobs)
		defer close(order)
		for i := range r.table.Frames {
			j := &decJob{index: i, done: make(chan struct{})}
			select {
			case order <- j:
			case <-stop:
				return
			}
			jobs <- j
		}
	}()
	var written int64
	var err error
	for j := range order {
		<-j.done
		if err == nil {
			if j.err != nil {
				err = j.err
				close(stop)
			} else if len(j.data) > 0 {
				m, werr := w.Write(j.data)
				written += int64(m)
				if werr != nil {
					err = fmt.Errorf("zstdseek: writing decompressed frame %d: %w", j.index, werr)
					close(stop)
				}
			}
		}
		if j.data != nil {
			select {
			case free <- j.data[:0:cap(j.data)]:
			default:
			}
		}
	}
	wg.Wait()
	return written, err
}

// plainDecoder returns a streaming decoder over a file without seek table.
func (r *Reader) plainDecoder() (*zstd.Decoder, error) {
	lim := uint64(r.cfg.maxFrameSize)
	dec, err := zstd.NewReader(io.NewSectionReader(r.ra, 0, r.size),
		zstd.WithDecoderConcurrency(r.cfg.concurrency),
		zstd.WithDecoderMaxMemory(lim),
		zstd.WithDecoderMaxWindow(lim),
	)
	if err != nil {
		return nil, fmt.Errorf("zstdseek: creating zstd decoder: %w", err)
	}
	return dec, nil
}

func (r *Reader) writePlain(w io.Writer) (int64, error) {
	dec, err := r.plainDecoder()
	if err != nil {
		return 0, err
	}
	defer dec.Close()
	n, err := dec.WriteTo(&plainWriter{w: w})
	if err != nil {
		var pe *plainWriteError
		if errors.As(err, &pe) {
			return n, fmt.Errorf("zstdseek: writing decompressed data: %w", pe.err)
		}
		return n, errorf(decodeSentinel(err), "at decompressed byte %d: %w", n, err)
	}
	return n, nil
}

// plainWriter marks errors of the destination so they are not reported as
// corrupt input.
type plainWriter struct{ w io.Writer }

type plainWriteError struct{ err error }

func (e *plainWriteError) Error() string { return e.err.Error() }

func (p *plainWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err != nil {
		err = &plainWriteError{err}
	}
	return n, err
}

// Stream returns a sequential reader over the decompressed bytes, for both
// seekable and plain files. Errors are reported as by ReadAt and WriteTo.
// Close the stream when done; it does not close the Reader.
func (r *Reader) Stream() (io.ReadCloser, error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	if r.table != nil {
		return io.NopCloser(io.NewSectionReader(r, 0, r.dataSize)), nil
	}
	dec, err := r.plainDecoder()
	if err != nil {
		return nil, r.wrap("read", err)
	}
	return &plainStream{r: r, dec: dec}, nil
}

type plainStream struct {
	r   *Reader
	dec *zstd.Decoder
	n   int64
}

func (s *plainStream) Read(p []byte) (int, error) {
	n, err := s.dec.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF {
		err = s.r.wrap("read", errorf(decodeSentinel(err), "at decompressed byte %d: %w", s.n, err))
	}
	return n, err
}

func (s *plainStream) Close() error {
	s.dec.Close()
	return nil
}
