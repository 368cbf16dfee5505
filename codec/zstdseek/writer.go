package zstdseek

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
// Input is cut into frames of the configured size (WithFrameSize,
// WithRecordSize), or where the caller calls WriteFrame. Frames are
// compressed in parallel by WithConcurrency goroutines and written to the
// destination in order; at most about 2*concurrency+2 frames are held in
// memory at once, so a Writer streams inputs of any size. Close writes the
// seek table.
//
// Always call Close: it releases the compression goroutines, also after an
// error. A Writer is not safe for concurrent use. The destination only ever
// receives whole frames, in order; after a write error the Writer stops
// writing and returns the error from every later call.
type Writer struct {
	dst   io.Writer
	cfg   writerConfig
	enc   *zstd.Encoder
	buf   []byte      // frame being filled
	free  chan []byte // recycled input frame buffers
	fout  chan []byte // recycled compressed frame buffers
	jobs  chan *frameJob
	order chan *frameJob
	done  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	err    error
	frames []Frame // appended by the output goroutine

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

// NewWriter returns a Writer compressing to dst.
func NewWriter(dst io.Writer, opts ...WriterOption) (*Writer, error) {
	cfg, err := newWriterConfig(opts)
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
func newEncoder(cfg writerConfig) (*zstd.Encoder, error) {
	// The window only needs to cover one frame; a smaller window keeps
	// decoder memory small. zstd windows are powers of two from 1 KiB.
	win := max(zstd.MinWindowSize, 1<<bits.Len64(uint64(cfg.frameSize-1)))
	win = min(win, zstd.MaxWindowSize)
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(cfg.level),
		zstd.WithEncoderConcurrency(cfg.concurrency),
		zstd.WithEncoderCRC(cfg.frameCRC),
		zstd.WithZeroFrames(true),
		zstd.WithWindowSize(win),
	)
	if err != nil {
		return nil, fmt.Errorf("zstdseek: creating zstd encoder: %w", err)
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
	var cOff, dOff int64
	for j := range w.order {
		<-j.done
		if w.failed() == nil {
			switch {
			case len(w.frames) >= maxSeekTableFrames:
				w.fail(errorf(ErrTooManyFrames, "more than %d frames; use a larger frame size", maxSeekTableFrames))
			case len(j.out) > 1<<32-1:
				w.fail(fmt.Errorf("zstdseek: compressed frame of %d bytes does not fit a seek table entry", len(j.out)))
			default:
				if _, err := w.dst.Write(j.out); err != nil {
					w.fail(fmt.Errorf("zstdseek: writing frame %d: %w", len(w.frames), err))
				} else {
					f := Frame{
						CompressedOffset:   cOff,
						DecompressedOffset: dOff,
						CompressedSize:     int64(len(j.out)),
						DecompressedSize:   int64(len(j.src)),
						Checksum:           j.sum,
					}
					cOff += f.CompressedSize
					dOff += f.DecompressedSize
					w.mu.Lock()
					w.frames = append(w.frames, f)
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
		w.err = pathError("write", w.cfg.name, err)
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

// Name returns the file name given by WithName.
func (w *Writer) Name() string { return w.cfg.name }

// Write compresses p. Frames are cut every frame size bytes.
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

// WriteFrame ends the current frame (if it holds any bytes) and compresses
// p as one frame of its own, whatever the frame size; p may hold up to
// MaxFrameSize bytes. The next byte written starts a new frame. An empty p
// only ends the current frame.
func (w *Writer) WriteFrame(p []byte) error {
	if w.closed {
		return ErrClosed
	}
	w.submit()
	if len(p) == 0 {
		return w.failed()
	}
	if len(p) > MaxFrameSize {
		return pathError("write", w.cfg.name, fmt.Errorf("zstdseek: %d-byte frame exceeds the %d-byte limit", len(p), MaxFrameSize))
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
	t := SeekTable{Frames: w.frames, Checksums: w.cfg.checksum}
	b, err := t.AppendBinary(make([]byte, 0, t.encodedSize()))
	if err != nil {
		return pathError("write", w.cfg.name, err)
	}
	if _, err := w.dst.Write(b); err != nil {
		return pathError("write", w.cfg.name, fmt.Errorf("zstdseek: writing seek table: %w", err))
	}
	return nil
}
