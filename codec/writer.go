package codec

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/huff0"
	"github.com/klauspost/compress/zstd"
)

// Writer compresses a byte stream into a seekable zstd file.
//
// Input is cut into frames of the configured size (WithFrameSize), or
// earlier where the caller calls EndFrame. Frames are compressed in
// parallel by WithConcurrency goroutines and written to the destination in
// order; at most about 2*concurrency+2 frames are held in memory at once,
// so a Writer streams inputs of any size. Close writes the seek table.
//
// Always call Close: it releases the compression goroutines, also after an
// error. A Writer is not safe for concurrent use. The destination only ever
// receives whole frames, in order; after a write error the Writer stops
// writing and returns the error from every later call.
type Writer struct {
	dst   io.Writer
	cfg   config
	enc   *zstd.Encoder
	buf   []byte      // frame being filled
	free  chan []byte // recycled input frame buffers
	fout  chan []byte // recycled compressed frame buffers
	jobs  chan *frameJob
	order chan *frameJob
	done  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	err     error
	entries []FrameEntry // appended by the output goroutine
	written int64        // compressed bytes written, by the output goroutine

	in     int64
	closed bool
}

// frameJob is one frame travelling through the pipeline.
type frameJob struct {
	src  []byte
	out  []byte
	sum  uint32
	done chan struct{}
}

// NewWriter returns a Writer compressing to dst. Options: WithLevel,
// WithFrameSize, WithConcurrency, WithChecksum, WithFrameCRC, WithName.
func NewWriter(dst io.Writer, opts ...Option) (*Writer, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	enc, err := newEncoder(cfg)
	if err != nil {
		return nil, err
	}
	n := cfg.concurrency
	w := &Writer{
		dst:   dst,
		cfg:   cfg,
		enc:   enc,
		free:  make(chan []byte, 2*n+2),
		fout:  make(chan []byte, 2*n+2),
		jobs:  make(chan *frameJob, 2*n+1),
		order: make(chan *frameJob, 2*n),
		done:  make(chan struct{}),
	}
	for i := 0; i < n; i++ {
		w.wg.Add(1)
		go w.worker()
	}
	go w.output()
	return w, nil
}

// newEncoder builds the shared EncodeAll encoder for cfg.
func newEncoder(cfg config) (*zstd.Encoder, error) {
	// The window only needs to cover one frame; a smaller window keeps
	// decoder memory small. zstd windows are powers of two from 1 KiB.
	win := max(zstd.MinWindowSize, 1<<bits.Len(uint(cfg.frameSize-1)))
	win = min(win, zstd.MaxWindowSize)
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.EncoderLevel(cfg.level)),
		zstd.WithEncoderConcurrency(cfg.concurrency),
		zstd.WithEncoderCRC(cfg.frameCRC),
		zstd.WithZeroFrames(true),
		zstd.WithWindowSize(win),
	)
	if err != nil {
		return nil, fmt.Errorf("codec: creating zstd encoder: %w", err)
	}
	return enc, nil
}

func (w *Writer) worker() {
	defer w.wg.Done()
	var huff huff0.Scratch
	var lit []byte
	for j := range w.jobs {
		j.out = w.enc.EncodeAll(j.src, j.out[:0])
		if worthLiteralFrame(len(j.src), len(j.out)) {
			lit = appendLiteralFrame(lit[:0], j.src, w.cfg.frameCRC, &huff)
			if len(lit) < len(j.out) {
				j.out, lit = lit, j.out
			}
		}
		if w.cfg.checksum {
			if w.cfg.frameCRC && len(j.src) > 0 {
				// The frame ends with zstd's content checksum, which is
				// the same value (low 32 bits of XXH64 of the data):
				// reuse it instead of hashing the frame twice.
				j.sum = binary.LittleEndian.Uint32(j.out[len(j.out)-4:])
			} else {
				j.sum = uint32(xxhash.Sum64(j.src))
			}
		}
		close(j.done)
	}
}

// output writes finished frames in order and records their entries.
func (w *Writer) output() {
	defer close(w.done)
	for j := range w.order {
		<-j.done
		if w.failed() == nil {
			switch {
			case len(w.entries) >= MaxSeekTableFrames:
				w.fail(fmt.Errorf("%w: %s: more than %d frames; use a larger frame size", ErrTooManyFrames, w.cfg.name, MaxSeekTableFrames))
			case len(j.out) > 1<<32-1:
				w.fail(fmt.Errorf("codec: %s: compressed frame of %d bytes does not fit a seek table entry", w.cfg.name, len(j.out)))
			default:
				if _, err := w.dst.Write(j.out); err != nil {
					w.fail(fmt.Errorf("codec: %s: writing frame %d: %w", w.cfg.name, len(w.entries), err))
				} else {
					w.mu.Lock()
					w.entries = append(w.entries, FrameEntry{
						CompressedSize:   uint32(len(j.out)),
						DecompressedSize: uint32(len(j.src)),
						Checksum:         j.sum,
					})
					w.written += int64(len(j.out))
					w.mu.Unlock()
				}
			}
		}
		if cap(j.src) >= w.cfg.frameSize {
			select {
			case w.free <- j.src[:0]:
			default:
			}
		}
		select {
		case w.fout <- j.out[:0]:
		default:
		}
	}
}

func (w *Writer) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// frameBuf returns an empty buffer with room for a whole frame.
func (w *Writer) frameBuf() []byte {
	select {
	case b := <-w.free:
		return b
	default:
		return make([]byte, 0, w.cfg.frameSize)
	}
}

// submit queues the current frame (if any) for compression.
func (w *Writer) submit() {
	if len(w.buf) == 0 {
		return
	}
	j := &frameJob{src: w.buf, done: make(chan struct{})}
	select {
	case j.out = <-w.fout:
	default:
	}
	w.buf = nil
	w.order <- j // blocks while too many frames are in flight
	w.jobs <- j
}

// Write compresses p. Frames are cut every FrameSize bytes.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if err := w.failed(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = w.frameBuf()
		}
		k := min(len(p), w.cfg.frameSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		n += k
		w.in += int64(k)
		if len(w.buf) == w.cfg.frameSize {
			w.submit()
			if err := w.failed(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// writeWholeFrame ends the current frame and compresses p as one frame of
// its own, whatever the frame size (used for the .npy header frame).
func (w *Writer) writeWholeFrame(p []byte) error {
	if w.closed {
		return ErrClosed
	}
	w.submit()
	if len(p) == 0 {
		return w.failed()
	}
	if len(p) > MaxFrameSize {
		return fmt.Errorf("codec: %s: %d-byte frame exceeds the %d-byte limit", w.cfg.name, len(p), MaxFrameSize)
	}
	w.buf = append([]byte(nil), p...)
	w.in += int64(len(p))
	w.submit()
	return w.failed()
}

// ReadFrom compresses everything r yields until io.EOF, reading straight
// into frame buffers. It implements io.ReaderFrom so that io.Copy uses it.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.closed {
		return 0, ErrClosed
	}
	var total int64
	for {
		if err := w.failed(); err != nil {
			return total, err
		}
		if w.buf == nil {
			w.buf = w.frameBuf()
		}
		start := len(w.buf)
		m, err := io.ReadFull(r, w.buf[start:w.cfg.frameSize])
		w.buf = w.buf[:start+m]
		total += int64(m)
		w.in += int64(m)
		if len(w.buf) == w.cfg.frameSize {
			w.submit()
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return total, w.failed()
		}
		if err != nil {
			return total, err
		}
	}
}

// EndFrame ends the current frame, so that the next byte written starts a
// new frame. It does nothing if the current frame is empty.
func (w *Writer) EndFrame() error {
	if w.closed {
		return ErrClosed
	}
	w.submit()
	return w.failed()
}

// Close compresses the last frame, waits for all frames to be written and
// writes the seek table. If no data was written, it writes one empty frame
// so that the output is a valid zstd file. Close does not close the
// destination. Calling Close again returns ErrClosed.
func (w *Writer) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	if w.in == 0 {
		// One empty zstd frame: stock zstd needs at least one frame.
		j := &frameJob{src: []byte{}, done: make(chan struct{})}
		w.order <- j
		w.jobs <- j
	}
	w.submit()
	close(w.order)
	close(w.jobs)
	<-w.done
	w.wg.Wait()
	w.enc.Close()
	if err := w.failed(); err != nil {
		return err
	}
	t := SeekTable{Entries: w.entries, Checksums: w.cfg.checksum}
	b, err := t.MarshalBinary()
	if err != nil {
		return fmt.Errorf("codec: %s: %w", w.cfg.name, err)
	}
	if _, err := w.dst.Write(b); err != nil {
		return fmt.Errorf("codec: %s: writing seek table: %w", w.cfg.name, err)
	}
	w.written += int64(len(b))
	return nil
}

// SeekTable returns a copy of the seek table of the frames written so far
// (complete after Close).
func (w *Writer) SeekTable() *SeekTable {
	w.mu.Lock()
	defer w.mu.Unlock()
	return &SeekTable{Entries: append([]FrameEntry(nil), w.entries...), Checksums: w.cfg.checksum}
}

// CompressedSize returns the number of bytes written to the destination so
// far (the whole file size after Close).
func (w *Writer) CompressedSize() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written
}

// InputSize returns the number of uncompressed bytes accepted so far.
func (w *Writer) InputSize() int64 { return w.in }
