package npz

import "errors"

// Errors about the archive and its members. Errors from a Reader or Writer
// that has a file name (OpenReader, Create) are *fs.PathError values naming
// the archive, whose Err wraps one of these (or an npy error for a
// malformed member header); test for them with errors.Is.
var (
	// ErrBadZip reports a zip structure that is malformed or inconsistent:
	// directory records, sizes that lie, overlapping members, impossible
	// compression ratios, data that inflates past its declared size.
	ErrBadZip = errors.New("npz: bad zip archive")

	// ErrTruncated reports an archive that ends inside its directory or
	// inside a member.
	ErrTruncated = errors.New("npz: truncated file")

	// ErrChecksum reports a member whose CRC-32 does not match its data.
	ErrChecksum = errors.New("npz: checksum mismatch")

	// ErrTooManyMembers reports a directory listing more members than the
	// reader's limit (see WithMaxMembers).
	ErrTooManyMembers = errors.New("npz: too many archive members")

	// ErrDuplicateMember reports two members of the same name or key, or a
	// writer asked to add a key twice.
	ErrDuplicateMember = errors.New("npz: duplicate archive member")

	// ErrNoMember reports a key that is not in the archive.
	ErrNoMember = errors.New("npz: no such archive member")

	// ErrNotNpy reports a member that is not an .npy array (its name does
	// not end in ".npy"); NumPy returns such members as raw bytes.
	ErrNotNpy = errors.New("npz: archive member is not an .npy array")

	// ErrUnsupported reports a member that is encrypted or compressed with
	// a method other than stored and deflate, or a deflated member asked
	// for its bytes in place.
	ErrUnsupported = errors.New("npz: unsupported archive member")

	// ErrInsecureName reports a key a writer refuses because it could
	// escape a folder if used as a path ("../x", "/abs", `a\b`, "C:x",
	// empty, or with a NUL byte).
	ErrInsecureName = errors.New("npz: insecure archive member name")
)
