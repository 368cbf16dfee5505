package npyzst

import (
	"os"

	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/internal/atomicfile"
)

// CompressFile compresses the .npy file src to the .npy.zst file dst (see
// Compress). dst is written under a temporary name in its folder and
// renamed into place when complete, so readers never see a partial file;
// on error dst is left untouched. The temporary file is the shared one of
// the arrfile packages (a hidden ".NAME.RANDOM.arrtmp" file, marked live
// while this process runs, that `arr gc` removes if the process dies), and
// on disk-backed storage the file and folder are fsynced around the
// rename. Errors about src name it.
func CompressFile(dst, src string, opts ...zstdseek.WriterOption) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	opts = append([]zstdseek.WriterOption{zstdseek.WithName(src)}, opts...)
	return atomicfile.Write(dst, 0, func(f *os.File) error {
		_, err := Compress(f, in, opts...)
		return pathError("read", src, err)
	})
}

// DecompressFile decompresses the .npy.zst file src to the .npy file dst,
// in parallel, verifying every checksum, with the same temporary-name and
// rename publication as CompressFile.
func DecompressFile(dst, src string, opts ...zstdseek.ReaderOption) error {
	r, err := Open(src, opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	return atomicfile.Write(dst, 0, func(f *os.File) error {
		_, err := r.WriteTo(f)
		return err
	})
}
