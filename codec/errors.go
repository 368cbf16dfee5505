package codec

import "errors"

// Errors returned by the seekable zstd reader and writer. They are wrapped
// with the file name and the failed check; test for them with errors.Is.
var (
	// ErrTruncated reports a file that ends inside a frame, a seek table or
	// an archive member.
	ErrTruncated = errors.New("codec: truncated file")

	// ErrChecksum reports decompressed data whose checksum (the seek table's
	// per-frame XXH64, the zstd frame's content checksum or a zip CRC-32)
	// does not match.
	ErrChecksum = errors.New("codec: checksum mismatch")

	// ErrBadSeekTable reports a seek table that is malformed or
	// inconsistent with the file (sizes that do not add up, reserved bits
	// set, too many frames for the file size).
	ErrBadSeekTable = errors.New("codec: bad seek table")

	// ErrFrameTooLarge reports a frame (or zstd window) larger than the
	// configured limit; see WithMaxFrameSize.
	ErrFrameTooLarge = errors.New("codec: frame too large")

	// ErrCorrupt reports compressed data that cannot be decoded or decodes
	// to a size other than the one recorded for it.
	ErrCorrupt = errors.New("codec: corrupt data")

	// ErrNotZstd reports input that is not zstd data at all.
	ErrNotZstd = errors.New("codec: not a zstd file")

	// ErrNotSeekable reports random access on a zstd file without a seek
	// table; such files can only be decompressed sequentially.
	ErrNotSeekable = errors.New("codec: file has no seek table")

	// ErrTooManyFrames reports a writer asked to produce more frames than a
	// seek table can describe, or a table listing more frames than the
	// reader's limit (see WithMaxFrames).
	ErrTooManyFrames = errors.New("codec: too many frames")

	// ErrClosed reports use of a Reader or Writer after Close.
	ErrClosed = errors.New("codec: use after close")
)
