package codec

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

// FrameInfo describes one frame of a seekable file.
type FrameInfo struct {
	Index              int    // position in the seek table
	CompressedOffset   int64  // offset of the frame in the file
	CompressedSize     int64  // size of the frame in the file
	DecompressedOffset int64  // offset of the frame's data in the decompressed bytes
	DecompressedSize   int64  // size of the frame's data (0 for skippable frames)
	Checksum           uint32 // seek table checksum (valid if the table has checksums)
}

// Reader reads a zstd file: a seekable one (with a seek table) with random
// access, or a plain one sequentially.
//
// For a seekable file, ReadAt decompresses only the frames that hold the
// requested bytes (keeping a few recently used frames), WriteTo decompresses
// everything in parallel with bounded memory, and every frame's checksums
// (the seek table's and zstd's own) are verified whenever the frame is
// decompressed. A plain zstd file (no seek table, one or many frames) can
// only be read through WriteTo, Verify and Stream; ReadAt returns
// ErrNotSeekable and Size returns -1.
//
// All methods are safe for concurrent use. Close releases the decoder (and
// the file, for a Reader from Open); later calls return ErrClosed.
type Reader struct {
	ra     io.ReaderAt
	size   int64
	cfg    config
	closer io.Closer

	table *SeekTable
	cOff  []int64 // compressed offsets, len(entries)+1
	dOff  []int64 // decompressed offsets, len(entries)+1
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

// Open opens the named zstd file for reading; see NewReader. The file name
// is used in error messages.
func Open(name string, opts ...Option) (*Reader, error) {
	r, f, err := openNamed(name, opts, NewReader)
	if err != nil {
		return nil, err
	}
	r.closer = f
	return r, nil
}

// openNamed opens the file name and builds a reader over it with newFn,
// passing its size and WithName(name) before opts. On error the file is
// closed; on success the caller owns it.
func openNamed[T any](name string, opts []Option, newFn func(io.ReaderAt, int64, ...Option) (T, error)) (T, *os.File, error) {
	var zero T
	f, err := os.Open(name)
	if err != nil {
		return zero, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return zero, nil, err
	}
	r, err := newFn(f, st.Size(), append([]Option{WithName(name)}, opts...)...)
	if err != nil {
		f.Close()
		return zero, nil, err
	}
	return r, f, nil
}

// NewReader returns a Reader over the size bytes of ra. It reads and
// validates the seek table if the file ends with one (see ReadSeekTable);
// otherwise it follows the frame headers from the start of the file and
// requires that whole zstd and skippable frames fill it exactly, so a file
// that ends inside a frame (a seekable file that lost the end of its seek
// table, a cut last frame) is ErrTruncated at once. Options:
// WithMaxFrameSize, WithMaxFrames, WithConcurrency, WithName.
func NewReader(ra io.ReaderAt, size int64, opts ...Option) (*Reader, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	r := &Reader{ra: ra, size: size, cfg: cfg, cacheCap: max(2, cfg.concurrency)}
	if size < 0 {
		return nil, r.errorf(ErrNotZstd, "negative size %d", size)
	}
	t, err := ReadSeekTable(ra, size, cfg.maxFrames)
	switch {
	case errors.Is(err, ErrNotSeekable):
		if err := r.checkPlain(); err != nil {
			return nil, err
		}
		return r, nil
	case err != nil:
		return nil, r.wrap(err)
	}
	if err := r.index(t); err != nil {
		return nil, err
	}
	return r, nil
}

// checkPlain verifies that a file without seek table starts with a zstd or
// skippable frame magic and that its frames tile the file exactly (see
// walkFrames): a seekable file that lost the end of its seek table ends
// inside a skippable frame and is ErrTruncated, not a plain file.
func (r *Reader) checkPlain() error {
	if r.size < 4 {
		return r.errorf(ErrNotZstd, "%d-byte file is too short for a zstd frame", r.size)
	}
	var b [4]byte
	if err := readFullAt(r.ra, b[:], 0); err != nil {
		return r.wrap(readErr(err, "reading the zstd magic"))
	}
	m := binary.LittleEndian.Uint32(b[:])
	if m != zstdMagic && m&0xFFFFFFF0 != 0x184D2A50 {
		return r.errorf(ErrNotZstd, "starts with 0x%08X, neither a zstd frame (0x%08X) nor a skippable frame", m, zstdMagic)
	}
	if _, err := walkFrames(r.ra, r.size); err != nil {
		return r.wrap(fmt.Errorf("%w (no seek table at the end of the file, so its frames were followed from the start)", err))
	}
	return nil
}

// index builds the offset tables and the frame decoder for t.
func (r *Reader) index(t *SeekTable) error {
	n := len(t.Entries)
	r.table = t
	r.cOff = make([]int64, n+1)
	r.dOff = make([]int64, n+1)
	var maxD uint32
	for i, e := range t.Entries {
		r.cOff[i+1] = r.cOff[i] + int64(e.CompressedSize)
		r.dOff[i+1] = r.dOff[i] + int64(e.DecompressedSize)
		if int64(e.DecompressedSize) > r.cfg.maxFrameSize {
			return r.errorf(ErrFrameTooLarge, "frame %d of %d decompresses to %d bytes, limit %d (see WithMaxFrameSize)", i, n, e.DecompressedSize, r.cfg.maxFrameSize)
		}
		maxD = max(maxD, e.DecompressedSize)
	}
	lim := max(uint64(minWindowLimit), uint64(1)<<bits.Len32(maxD))
	r.limit = min(lim, uint64(r.cfg.maxFrameSize))
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(r.cfg.concurrency),
		zstd.WithDecoderMaxMemory(r.limit),
		zstd.WithDecoderMaxWindow(max(r.limit, zstd.MinWindowSize)),
		zstd.WithDecodeAllCapLimit(true),
	)
	if err != nil {
		return r.wrap(fmt.Errorf("codec: creating zstd decoder: %w", err))
	}
	r.dec = dec
	return nil
}

// errorf returns an error wrapping sentinel, prefixed with the file name.
func (r *Reader) errorf(sentinel error, format string, args ...any) error {
	return r.wrap(fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...))
}

// wrap prefixes err with the file name, if one is set.
func (r *Reader) wrap(err error) error {
	return nameErr(r.cfg.name, err)
}

func nameErr(name string, err error) error {
	if name == "" || err == nil {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
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

// Seekable reports whether the file has a seek table (random access).
func (r *Reader) Seekable() bool { return r.table != nil }

// Size returns the decompressed size, or -1 for a file without seek table.
func (r *Reader) Size() int64 {
	if r.table == nil {
		return -1
	}
	return r.dOff[len(r.dOff)-1]
}

// CompressedSize returns the size of the file.
func (r *Reader) CompressedSize() int64 { return r.size }

// NumFrames returns the number of frames in the seek table (0 without one).
func (r *Reader) NumFrames() int {
	if r.table == nil {
		return 0
	}
	return len(r.table.Entries)
}

// HasChecksums reports whether the seek table stores per-frame checksums.
func (r *Reader) HasChecksums() bool { return r.table != nil && r.table.Checksums }

// SeekTable returns a copy of the seek table, or nil without one.
func (r *Reader) SeekTable() *SeekTable {
	if r.table == nil {
		return nil
	}
	return &SeekTable{Entries: append([]FrameEntry(nil), r.table.Entries...), Checksums: r.table.Checksums}
}

// Frame returns the layout of frame i, 0 <= i < NumFrames.
func (r *Reader) Frame(i int) FrameInfo {
	e := r.table.Entries[i]
	return FrameInfo{
		Index:              i,
		CompressedOffset:   r.cOff[i],
		CompressedSize:     int64(e.CompressedSize),
		DecompressedOffset: r.dOff[i],
		DecompressedSize:   int64(e.DecompressedSize),
		Checksum:           e.Checksum,
	}
}

// FrameAt returns the index of the frame holding decompressed offset off,
// or -1 if off is outside [0, Size).
func (r *Reader) FrameAt(off int64) int {
	if r.table == nil || off < 0 || off >= r.Size() {
		return -1
	}
	n := len(r.table.Entries)
	return sort.Search(n, func(i int) bool { return r.dOff[i+1] > off })
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
	e := r.table.Entries[i]
	cs, ds := int64(e.CompressedSize), int64(e.DecompressedSize)
	off := r.cOff[i]
	ferr := func(sentinel error, format string, args ...any) error {
		return r.errorf(sentinel, "frame %d of %d (compressed bytes %d-%d): "+format, append([]any{i, len(r.table.Entries), off, off + cs}, args...)...)
	}
	var hb [zstd.HeaderMaxSize]byte
	h := hb[:min(int64(len(hb)), cs)]
	if err := readFullAt(r.ra, h, off); err != nil {
		return r.wrap(readErr(err, fmt.Sprintf("reading frame %d", i)))
	}
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
	comp := getBuf(int(cs))
	defer putBuf(comp)
	if err := readFullAt(r.ra, comp, off); err != nil {
		return r.wrap(readErr(err, fmt.Sprintf("reading frame %d", i)))
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
			if got := binary.LittleEndian.Uint32(comp[len(comp)-4:]); got != e.Checksum {
				return ferr(ErrChecksum, "frame checksum 0x%08X, seek table says 0x%08X", got, e.Checksum)
			}
		} else if got := uint32(xxhash.Sum64(out)); got != e.Checksum {
			return ferr(ErrChecksum, "XXH64 low bits 0x%08X, seek table says 0x%08X", got, e.Checksum)
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
	data := make([]byte, r.table.Entries[i].DecompressedSize)
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
// into p, in parallel; partly needed frames go through a small cache. It
// implements io.ReaderAt. On a checksum or decoding error, n counts the
// bytes before the first bad frame; other ranges remain readable.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	if r.table == nil {
		return 0, r.errorf(ErrNotSeekable, "random access needs a seek table; decompress the file sequentially")
	}
	if off < 0 {
		return 0, r.wrap(fmt.Errorf("codec: ReadAt at negative offset %d", off))
	}
	size := r.Size()
	if off >= size {
		if len(p) == 0 && off == size {
			return 0, nil
		}
		return 0, io.EOF
	}
	end := min(size, off+int64(len(p)))
	first, last := r.FrameAt(off), r.FrameAt(end-1)
	errs := make([]error, last-first+1)
	work := func(i int) {
		a, b := r.dOff[i], r.dOff[i+1]
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
			return int(max(0, r.dOff[first+k]-off)), err
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
	if r.table == nil {
		return r.writePlain(w)
	}
	return r.writeFrames(w, 0, len(r.table.Entries))
}

// Verify decompresses everything, checking the structure and every
// checksum, and discards the output.
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

// writeFrames decompresses frames [lo, hi) in parallel and writes them to w
// in order.
func (r *Reader) writeFrames(w io.Writer, lo, hi int) (int64, error) {
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
				ds := int(r.table.Entries[j.index].DecompressedSize)
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
		for i := lo; i < hi; i++ {
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
					err = r.wrap(fmt.Errorf("codec: writing decompressed frame %d: %w", j.index, werr))
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
		return nil, r.wrap(fmt.Errorf("codec: creating zstd decoder: %w", err))
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
			return n, r.wrap(fmt.Errorf("codec: writing decompressed data: %w", pe.err))
		}
		return n, r.errorf(decodeSentinel(err), "at decompressed byte %d: %w", n, err)
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
		return io.NopCloser(io.NewSectionReader(r, 0, r.Size())), nil
	}
	dec, err := r.plainDecoder()
	if err != nil {
		return nil, err
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
		err = s.r.errorf(decodeSentinel(err), "at decompressed byte %d: %w", s.n, err)
	}
	return n, err
}

func (s *plainStream) Close() error {
	s.dec.Close()
	return nil
}
