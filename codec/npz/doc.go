// Package npz reads and writes NumPy .npz archives: zip files of .npy
// members, as np.savez (stored) and np.savez_compressed (deflate) write
// them.
//
// [Reader] reads an archive with archive/zip (deflate through
// klauspost/compress/flate) and adds the checks untrusted input needs: a
// member count limit ([WithMaxMembers]), unique names and keys, members
// that neither overlap each other nor the directory, stored sizes that
// agree, deflate sizes within deflate's expansion limit, reads cut at the
// declared size and every CRC-32 checked. [Reader.Open] reads an array
// member's .npy header and streams its data, [Read] reads it into a Go
// slice, [Reader.OpenRaw] gives any member's bytes, [Reader.Verify] checks
// them all, and [Reader.DataOffset] says where a stored member's .npy bytes
// start in the archive, so that they can be used in place (mapped with
// mmfile.OpenSection: see the example).
//
// [Writer] writes archives member by member in NumPy's own layout
// (byte-identical to np.savez for the same .npy files), stored or deflated
// ([WithDeflate]), optionally padding stored members so that their array
// data is aligned ([WithAlignment]). [Create] publishes the archive
// atomically under its name.
//
// Member names are never used as paths. Keys are the member names without
// their ".npy" suffix, as np.load(f)[key] uses them; a member can also be
// named in full ("x.npy").
//
// Errors wrap the package's sentinel errors (use errors.Is); those of a Reader
// from OpenReader and of a Writer from Create are *fs.PathError values
// naming the archive.
package npz
