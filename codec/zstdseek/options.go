package zstdseek

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Frame sizes.
const (
	// DefaultFrameSize is the decompressed size of a frame that a Writer
	// uses when WithFrameSize is not given (see docs/compression.md for the
	// measurements behind it).
	DefaultFrameSize = 2 << 20

	// MaxFrameSize is the largest frame size a Writer accepts, and the
	// limit a Reader puts on frames and zstd windows when WithMaxFrameSize
	// is not given: the 128 MiB that the zstd command-line tool accepts
	// without --memory, so every file a Writer makes can be read with the
	// defaults.
	MaxFrameSize = 128 << 20
)

// defaultMaxFrames is a Reader's default limit on the number of frames in a
// seek table (4 TiB of data at 1 MiB per frame).
const defaultMaxFrames = 1 << 22

// ReaderOption configures a Reader; see NewReader. Options are fixed when
// the Reader is made.
type ReaderOption interface {
	applyReader(*readerConfig) error
}

// WriterOption configures a Writer; see NewWriter. Options are fixed when
// the Writer is made.
type WriterOption interface {
	applyWriter(*writerConfig) error
}

// Option configures both a Reader and a Writer.
type Option interface {
	ReaderOption
	WriterOption
}

type readerConfig struct {
	name         string
	concurrency  int
	maxFrameSize int64
	maxFrames    int
}

type writerConfig struct {
	name        string
	concurrency int
	level       zstd.EncoderLevel
	frameSize   int
	records     []int
	checksum    bool
	frameCRC    bool
}

func newReaderConfig(opts []ReaderOption) (readerConfig, error) {
	c := readerConfig{
		concurrency:  runtime.GOMAXPROCS(0),
		maxFrameSize: MaxFrameSize,
		maxFrames:    defaultMaxFrames,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyReader(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

func newWriterConfig(opts []WriterOption) (writerConfig, error) {
	c := writerConfig{
		concurrency: runtime.GOMAXPROCS(0),
		level:       zstd.SpeedDefault,
		frameSize:   DefaultFrameSize,
		checksum:    true,
		frameCRC:    true,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyWriter(&c); err != nil {
			return c, err
		}
	}
	c.frameSize = recordFrameSize(c.frameSize, c.records)
	return c, nil
}

// recordFrameSize rounds frameSize down to a multiple of the first record
// size that fits in it; if none fits, it returns the last record size
// (when that is a legal frame size).
func recordFrameSize(frameSize int, records []int) int {
	for _, s := range records {
		if s <= frameSize {
			return frameSize / s * s
		}
	}
	if n := len(records); n > 0 && records[n-1] <= MaxFrameSize {
		return records[n-1]
	}
	return frameSize
}

type readerOption func(*readerConfig) error

func (f readerOption) applyReader(c *readerConfig) error { return f(c) }

type writerOption func(*writerConfig) error

func (f writerOption) applyWriter(c *writerConfig) error { return f(c) }

type sharedOption struct {
	r readerOption
	w writerOption
}

func (o sharedOption) applyReader(c *readerConfig) error { return o.r(c) }
func (o sharedOption) applyWriter(c *writerConfig) error { return o.w(c) }

// WithConcurrency sets how many frames a Reader decompresses, or a Writer
// compresses, at once. Range 0 and up; 0, the default, means
// runtime.GOMAXPROCS(0) when the Reader or Writer is made. Memory use grows
// with it: about 3 frames per unit.
func WithConcurrency(n int) Option {
	set := func(c *int) error {
		if n < 0 {
			return fmt.Errorf("zstdseek: concurrency %d is negative", n)
		}
		if n == 0 {
			n = runtime.GOMAXPROCS(0)
		}
		*c = n
		return nil
	}
	return sharedOption{
		r: func(c *readerConfig) error { return set(&c.concurrency) },
		w: func(c *writerConfig) error { return set(&c.concurrency) },
	}
}

// WithName sets the file name that errors name (in an *fs.PathError).
// Default: none for NewReader and NewWriter (errors are then not wrapped);
// Open sets it to the path.
func WithName(name string) Option {
	return sharedOption{
		r: func(c *readerConfig) error { c.name = name; return nil },
		w: func(c *writerConfig) error { c.name = name; return nil },
	}
}

// WithLevel sets a Writer's compression level: one of klauspost/compress's
// zstd.SpeedFastest (about `zstd -1`), zstd.SpeedDefault (about `zstd -3`,
// the default), zstd.SpeedBetterCompression (about `zstd -7`) and
// zstd.SpeedBestCompression (about `zstd -11`). See ParseLevel.
func WithLevel(l zstd.EncoderLevel) WriterOption {
	return writerOption(func(c *writerConfig) error {
		if l < zstd.SpeedFastest || l > zstd.SpeedBestCompression {
			return fmt.Errorf("zstdseek: compression level %d out of range %d-%d", int(l), zstd.SpeedFastest, zstd.SpeedBestCompression)
		}
		c.level = l
		return nil
	})
}

// ParseLevel parses a compression level given either by name ("fastest",
// "default", "better", "best", as zstd.EncoderLevel.String gives them) or as
// a zstd command-line number 1-22, mapped as klauspost/compress's
// zstd.EncoderLevelFromZstd maps it: 1-2 fastest, 3-5 default, 6-9 better,
// 10 and above best.
func ParseLevel(s string) (zstd.EncoderLevel, error) {
	t := strings.TrimSpace(s)
	for l := zstd.SpeedFastest; l <= zstd.SpeedBestCompression; l++ {
		if strings.EqualFold(t, l.String()) {
			return l, nil
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 1 || n > 22 {
		return 0, fmt.Errorf("zstdseek: compression level %q: want fastest, default, better, best or a zstd level 1-22", s)
	}
	return zstd.EncoderLevelFromZstd(n), nil
}

// WithFrameSize sets the decompressed size of a Writer's frames: input is
// cut into frames of exactly n bytes (see WithRecordSize), except the last
// one and where the caller ends a frame with Writer.WriteFrame. Range 1 to
// MaxFrameSize; default DefaultFrameSize.
func WithFrameSize(n int) WriterOption {
	return writerOption(func(c *writerConfig) error {
		if n < 1 || n > MaxFrameSize {
			return fmt.Errorf("zstdseek: frame size %d out of range 1-%d", n, MaxFrameSize)
		}
		c.frameSize = n
		return nil
	})
}

// WithRecordSize makes a Writer's frames hold whole records, for data made
// of fixed-size records (array rows of elements, for example), so that a
// record never needs two frames. sizes are tried in order, largest first:
// the frame size is rounded down to a multiple of the first size not larger
// than it; if every size is larger, each frame holds one record of the last
// size (if that is at most MaxFrameSize). Each size must be at least 1.
// Default: none (frames of exactly the frame size).
func WithRecordSize(sizes ...int) WriterOption {
	return writerOption(func(c *writerConfig) error {
		for _, s := range sizes {
			if s < 1 {
				return fmt.Errorf("zstdseek: record size %d is not positive", s)
			}
		}
		c.records = append([]int(nil), sizes...)
		return nil
	})
}

// WithChecksum sets whether a Writer stores each frame's checksum in the
// seek table (the low 32 bits of XXH64 of the frame's decompressed bytes).
// Default true. Readers always verify the checksums that are present.
func WithChecksum(b bool) WriterOption {
	return writerOption(func(c *writerConfig) error {
		c.checksum = b
		return nil
	})
}

// WithFrameCRC sets whether each frame a Writer makes carries zstd's own
// content checksum, which stock `zstd -d` verifies. Default true.
func WithFrameCRC(b bool) WriterOption {
	return writerOption(func(c *writerConfig) error {
		c.frameCRC = b
		return nil
	})
}

// WithMaxFrameSize sets the largest decompressed frame and zstd window a
// Reader accepts (ErrFrameTooLarge beyond it). Memory used while reading
// is bounded by a few times this value per unit of concurrency. Range
// 1 KiB to 4 GiB; default MaxFrameSize.
func WithMaxFrameSize(n int64) ReaderOption {
	return readerOption(func(c *readerConfig) error {
		if n < zstd.MinWindowSize || n > 1<<32 {
			return fmt.Errorf("zstdseek: max frame size %d out of range %d-%d", n, zstd.MinWindowSize, int64(1)<<32)
		}
		c.maxFrameSize = n
		return nil
	})
}

// WithMaxFrames sets the largest number of frames a Reader accepts in a
// seek table (ErrTooManyFrames beyond it). Range 1 to 0x8000000 (the
// format's limit); default 1<<22.
func WithMaxFrames(n int) ReaderOption {
	return readerOption(func(c *readerConfig) error {
		if n < 1 || n > maxSeekTableFrames {
			return fmt.Errorf("zstdseek: max frames %d out of range 1-%d", n, maxSeekTableFrames)
		}
		c.maxFrames = n
		return nil
	})
}
