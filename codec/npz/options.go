package npz

import "fmt"

// ReaderOption configures a Reader (NewReader, OpenReader). Options are
// fixed when the Reader is made.
type ReaderOption func(*readerConfig) error

type readerConfig struct {
	maxMembers int
}

// defaultMaxMembers is WithMaxMembers' default.
const defaultMaxMembers = 1 << 17

func newReaderConfig(opts []ReaderOption) (readerConfig, error) {
	c := readerConfig{maxMembers: defaultMaxMembers}
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

// WithMaxMembers sets the largest number of members a Reader accepts
// (ErrTooManyMembers beyond it), checked against the directory's end
// record before the directory is parsed. Range 1 to 1<<24; default 1<<17
// (131072).
func WithMaxMembers(n int) ReaderOption {
	return func(c *readerConfig) error {
		if n < 1 || n > 1<<24 {
			return fmt.Errorf("npz: max members %d out of range 1-%d", n, 1<<24)
		}
		c.maxMembers = n
		return nil
	}
}

// WriterOption configures a Writer (NewWriter, Create). Options are fixed
// when the Writer is made.
type WriterOption func(*writerConfig) error

type writerConfig struct {
	level int // deflate level; 0: members are stored
	align int
}

func newWriterConfig(opts []WriterOption) (writerConfig, error) {
	var c writerConfig
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	if c.level != 0 && c.align != 0 {
		return c, fmt.Errorf("npz: WithAlignment applies to stored members, and WithDeflate deflates every member")
	}
	return c, nil
}

// WithDeflate makes the writer deflate every member, as
// np.savez_compressed does, instead of storing it, as np.savez does (the
// default). level is a deflate level from 1 (fastest) to 9 (smallest), as
// in compress/flate; np.savez_compressed uses 6 (zlib's default). It
// cannot be combined with WithAlignment.
func WithDeflate(level int) WriterOption {
	return func(c *writerConfig) error {
		if level < 1 || level > 9 {
			return fmt.Errorf("npz: deflate level %d out of range 1-9", level)
		}
		c.level = level
		return nil
	}
}

// WithAlignment makes the writer pad each member's local header (with a
// zip extra field, ID 0xD935 as Android's zipalign uses) so that the
// member's array data starts at a multiple of n bytes in the archive,
// ready to be used in place from a mapping of the archive (see
// Reader.DataOffset). n must be a power of two up to 4096; 0, the default,
// means no padding, the layout NumPy writes. Only stored members can be
// aligned: it cannot be combined with WithDeflate.
func WithAlignment(n int) WriterOption {
	return func(c *writerConfig) error {
		if n < 0 || n > 4096 || n&(n-1) != 0 {
			return fmt.Errorf("npz: alignment %d is not a power of two up to 4096", n)
		}
		c.align = n
		return nil
	}
}
