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

	// ErrBadZip reports an .npz archive whose zip structure is malformed or
	// inconsistent (directory records, sizes that lie, overlapping
	// members, impossible compression ratios).
	ErrBadZip = errors.New("codec: bad zip archive")

	// ErrDuplicateMember reports an .npz archive with two members of the
	// same name, or a writer asked to add a key twice.
	ErrDuplicateMember = errors.New("codec: duplicate archive member")

	// ErrNoMember reports a key that is not in the archive.
	ErrNoMember = errors.New("codec: no such archive member")

	// ErrNotNpy reports an archive member that is not an .npy array (its
	// name does not end in .npy); NumPy returns such members as raw bytes.
	ErrNotNpy = errors.New("codec: archive member is not an .npy array")

	// ErrInsecureName reports a member name that could escape a folder if
	// used as a path ("../x.npy", "/abs.npy", "a\\b.npy", "C:x.npy", empty).
	ErrInsecureName = errors.New("codec: insecure archive member name")

	// ErrUnsupported reports an archive member stored with a compression
	// method other than stored or deflate, or encrypted.
	ErrUnsupported = errors.New("codec: unsupported archive member")

	// ErrTooManyMembers reports an archive whose directory lists more
	// members than the limit (see WithMaxMembers).
	ErrTooManyMembers = errors.New("codec: too many archive members")

	// ErrClosed reports use of a Reader or Writer after Close.
	ErrClosed = errors.New("codec: use after close")
)
