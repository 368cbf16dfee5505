package codec

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Level is a compression level: one of klauspost/compress's four zstd
// encoder levels, from fastest to best compression.
type Level int

// Compression levels, in the order of zstd.EncoderLevel.
const (
	// LevelFastest is roughly `zstd -1`.
	LevelFastest Level = Level(zstd.SpeedFastest)
	// LevelDefault is roughly `zstd -3`.
	LevelDefault Level = Level(zstd.SpeedDefault)
	// LevelBetter is roughly `zstd -7`.
	LevelBetter Level = Level(zstd.SpeedBetterCompression)
	// LevelBest is roughly `zstd -11`.
	LevelBest Level = Level(zstd.SpeedBestCompression)
)

// LevelFromZstd maps a zstd command-line level (1-22; values below 1 count
// as 1) to the nearest Level, as klauspost/compress does: 1-2 fastest, 3-5
// default, 6-9 better, 10 and above best.
func LevelFromZstd(n int) Level {
	return Level(zstd.EncoderLevelFromZstd(n))
}

// ParseLevel parses a level given either by name ("fastest", "default",
// "better", "best") or as a zstd command-line number (1-22).
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "fastest":
		return LevelFastest, nil
	case "default":
		return LevelDefault, nil
	case "better":
		return LevelBetter, nil
	case "best":
		return LevelBest, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 22 {
		return 0, fmt.Errorf("codec: compression level %q: want fastest, default, better, best or a zstd level 1-22", s)
	}
	return LevelFromZstd(n), nil
}

// String returns the level's name.
func (l Level) String() string {
	switch l {
	case LevelFastest:
		return "fastest"
	case LevelDefault:
		return "default"
	case LevelBetter:
		return "better"
	case LevelBest:
		return "best"
	}
	return "Level(" + strconv.Itoa(int(l)) + ")"
}

// Defaults and limits of the options.
const (
	// DefaultLevel is the compression level used when none is given,
	// chosen by measurement (see docs/compression.md): on smooth float64
	// data it compresses 12% better than LevelFastest for 10-35% more
	// compression time and the same decompression speed, and it matches
	// zstd's own default level 3.
	DefaultLevel = LevelDefault

	// DefaultFrameSize is the decompressed size of a data frame used when
	// none is given, chosen by measurement (see docs/compression.md):
	// going from 1 to 2 MiB frames gains 1-2% compression on smooth data,
	// going to 4 MiB another 1% but doubles the work of reading one
	// element.
	DefaultFrameSize = 2 << 20

	// MaxFrameSize is the largest frame size a Writer accepts. It equals
	// DefaultMaxFrameSize so that every file we write can be read with the
	// default reader limits.
	MaxFrameSize = DefaultMaxFrameSize

	// DefaultMaxFrameSize is the reader's default limit on the decompressed
	// size of one frame and on a zstd window (the same 128 MiB that the zstd
	// command-line tool accepts without --memory).
	DefaultMaxFrameSize = 128 << 20

	// DefaultMaxMembers is the default limit on the number of members of
	// an .npz archive a reader accepts.
	DefaultMaxMembers = 1 << 17

	// DefaultMaxFrames is the reader's default limit on the number of frames
	// in a seek table (4 TiB of data at 1 MiB per frame).
	DefaultMaxFrames = 1 << 22
)

// config holds the settings of a Writer or Reader.
type config struct {
	level        Level
	frameSize    int
	concurrency  int
	checksum     bool
	frameCRC     bool
	maxFrameSize int64
	maxFrames    int
	name         string
	levelSet     bool
	deflate      bool
	align        int
	maxMembers   int
}

func defaultConfig() config {
	return config{
		level:        DefaultLevel,
		frameSize:    DefaultFrameSize,
		concurrency:  runtime.GOMAXPROCS(0),
		checksum:     true,
		frameCRC:     true,
		maxFrameSize: DefaultMaxFrameSize,
		maxFrames:    DefaultMaxFrames,
		maxMembers:   DefaultMaxMembers,
	}
}

func newConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Option configures a Writer or a Reader (and the .npy.zst and .npz
// functions built on them). Each option documents which side it affects;
// the other side ignores it. Options are fixed at construction.
type Option func(*config) error

// WithLevel sets the compression level (writers). Default DefaultLevel for
// zstd; for deflated .npz members the levels map to deflate levels 1, 6, 7
// and 9, and the default is 6 (what np.savez_compressed uses).
func WithLevel(l Level) Option {
	return func(c *config) error {
		if l < LevelFastest || l > LevelBest {
			return fmt.Errorf("codec: compression level %d out of range %d-%d", int(l), LevelFastest, LevelBest)
		}
		c.level = l
		c.levelSet = true
		return nil
	}
}

// WithFrameSize sets the decompressed size of each frame (writers): input is
// cut into frames of exactly n bytes, except the last one and where the
// caller ends a frame early with Writer.EndFrame. Range 1 to MaxFrameSize;
// default DefaultFrameSize. The .npy.zst writer rounds it down to whole
// elements (and rows where possible).
func WithFrameSize(n int) Option {
	return func(c *config) error {
		if n < 1 || n > MaxFrameSize {
			return fmt.Errorf("codec: frame size %d out of range 1-%d", n, MaxFrameSize)
		}
		c.frameSize = n
		return nil
	}
}

// WithConcurrency sets how many frames are compressed or decompressed at
// once (writers and readers). 0 means GOMAXPROCS, the default. Memory use
// grows with it: about 3 frames per unit.
func WithConcurrency(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("codec: concurrency %d is negative", n)
		}
		if n == 0 {
			n = runtime.GOMAXPROCS(0)
		}
		c.concurrency = n
		return nil
	}
}

// WithChecksum sets whether the seek table stores each frame's checksum
// (writers; the low 32 bits of XXH64 of the frame's decompressed bytes).
// Default true. Readers always verify checksums that are present.
func WithChecksum(b bool) Option {
	return func(c *config) error {
		c.checksum = b
		return nil
	}
}

// WithFrameCRC sets whether each zstd frame carries zstd's own content
// checksum (writers), which stock `zstd -d` verifies. Default true.
func WithFrameCRC(b bool) Option {
	return func(c *config) error {
		c.frameCRC = b
		return nil
	}
}

// WithMaxFrameSize sets the largest decompressed frame and zstd window a
// reader accepts (ErrFrameTooLarge beyond it). Memory used while reading is
// bounded by a few times this value per unit of concurrency. Range 1 KiB
// to 4 GiB; default DefaultMaxFrameSize.
func WithMaxFrameSize(n int64) Option {
	return func(c *config) error {
		if n < zstd.MinWindowSize || n > 1<<32 {
			return fmt.Errorf("codec: max frame size %d out of range %d-%d", n, zstd.MinWindowSize, int64(1)<<32)
		}
		c.maxFrameSize = n
		return nil
	}
}

// WithMaxFrames sets the largest number of frames a reader accepts in a
// seek table (ErrTooManyFrames beyond it). Range 1 to MaxSeekTableFrames;
// default DefaultMaxFrames.
func WithMaxFrames(n int) Option {
	return func(c *config) error {
		if n < 1 || n > MaxSeekTableFrames {
			return fmt.Errorf("codec: max frames %d out of range 1-%d", n, MaxSeekTableFrames)
		}
		c.maxFrames = n
		return nil
	}
}

// WithName sets the file name used in error messages (readers and
// writers). Open and Create set it to the path.
func WithName(name string) Option {
	return func(c *config) error {
		c.name = name
		return nil
	}
}

// WithDeflate sets whether an .npz writer deflates its members, as
// np.savez_compressed does, instead of storing them, as np.savez does.
// Default false (stored).
func WithDeflate(b bool) Option {
	return func(c *config) error {
		c.deflate = b
		return nil
	}
}

// WithAlignment makes an .npz writer pad each stored member's local header
// (with a zip extra field, ID 0xD935 as Android's zipalign uses) so that
// the member's array data starts at a multiple of n bytes in the archive:
// such members can be memory-mapped in place. n must be a power of two up
// to 4096; 0 (the default) means no padding, the layout NumPy writes.
// Deflated members are never aligned.
func WithAlignment(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 4096 || n&(n-1) != 0 {
			return fmt.Errorf("codec: alignment %d is not a power of two up to 4096", n)
		}
		c.align = n
		return nil
	}
}

// WithMaxMembers sets the largest number of members an .npz reader accepts
// (ErrTooManyMembers beyond it), checked before the directory is parsed.
// Range 1 to 1<<24; default DefaultMaxMembers.
func WithMaxMembers(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1<<24 {
			return fmt.Errorf("codec: max members %d out of range 1-%d", n, 1<<24)
		}
		c.maxMembers = n
		return nil
	}
}
