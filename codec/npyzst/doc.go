// Package npyzst reads and writes .npy.zst files: NumPy .npy files
// compressed as seekable zstd files (see package zstdseek), so that stock
// `zstd -d` restores the .npy byte for byte while a Reader decompresses only
// the frames that hold the elements or rows asked for.
//
// A Writer puts the .npy header alone in the first frame and the data in
// frames of whole rows (the first axis of a C-order array) when a row fits
// in a frame, otherwise of whole elements. A Reader reads any .npy.zst,
// including one made by stock zstd without a seek table (sequentially
// only), and checks the seek table's total size against the .npy header
// before any data is decompressed.
//
// Options are those of package zstdseek: zstdseek.ReaderOption for readers,
// zstdseek.WriterOption for writers. Errors wrap the sentinels of zstdseek
// and npy (use errors.Is); when the file has a name they are *fs.PathError
// values naming it.
//
// The package does not map files. To decompress into a memory-mapped array,
// hand the array's bytes to Reader.Data's ReadAt, which decompresses the
// frames in parallel straight into them (see the example).
package npyzst
