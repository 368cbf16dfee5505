// Package zstdseek reads and writes seekable zstd files: any bytes,
// compressed as a sequence of independent zstd frames followed by a seek
// table in a zstd skippable frame, as specified by zstd's
// contrib/seekable_format (version 0.1.0):
//
//	[frame 0][frame 1]...[frame n-1][seek table]
//	seek table = 0x184D2A5E u32 | Frame_Size u32 | n entries | footer
//	entry      = Compressed_Size u32 | Decompressed_Size u32 | [Checksum u32]
//	footer     = Number_Of_Frames u32 | Seek_Table_Descriptor u8 | 0x8F92EAB1 u32
//
// Stock `zstd -d` skips the skippable frame and so restores the original
// bytes exactly. [Writer] produces such files, compressing frames in
// parallel with bounded memory. [Reader] reads them with random access
// through io.ReaderAt (decompressing only the frames a read needs, in
// parallel, straight into the caller's buffer), parallel streaming
// decompression and verification of every checksum; it also reads plain
// zstd files, sequentially.
//
// Writers and readers take separate option types, [WriterOption] and
// [ReaderOption]; an [Option] applies to both.
//
// # Untrusted input
//
// Every size read from a file is checked before it is used to allocate: the
// seek table against the file size, each frame against a frame size limit
// ([WithMaxFrameSize]), and the zstd decoder is built with memory and window
// limits derived from that bound (never the library's 64 GiB default).
// Errors wrap the sentinels below (use errors.Is); when the file has a name
// they are *fs.PathError values naming it.
package zstdseek
