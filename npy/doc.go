// Package npy reads and writes NumPy's .npy array format.
//
// The .npy format is a short text header (a Python dict literal giving the
// dtype, the memory order and the shape) followed by the raw array bytes. It
// is what np.save writes and what np.load (including np.load(mmap_mode="r"))
// reads, which makes it a good interchange format between Go and NumPy
// processes: the data section can be memory-mapped and used in place.
//
// This package implements the format completely and strictly:
//
//   - header versions 1.0, 2.0 and 3.0, written byte-for-byte as NumPy 1.24+
//     writes them ([AppendHeader]: key order, the spare spaces for growing
//     the shape in place, 64-byte alignment of the data) and read leniently
//     as NumPy reads them ([ReadHeader]);
//   - every fixed-size NumPy dtype ([DType]): bool, signed and unsigned
//     integers, float16/32/64 (and longdouble as raw bytes), complex,
//     byte strings (S), UTF-32 strings (U), raw void (V), datetime64,
//     timedelta64 and structured dtypes with nested records, sub-array
//     fields and padding, in either byte order;
//   - streaming [Reader] and [Writer] over any io.Reader / io.Writer, and
//     whole arrays as raw bytes ([ReadAll]);
//   - typed access with generics ([Read], [ReadFile], [Write]) and
//     zero-copy typed views over raw bytes ([View], [Bytes]);
//   - canonical bytes, the same for an array in any byte order and memory
//     order ([WriteCanonical]).
//
// Untrusted input is handled with bounded work: the header length is capped
// ([DefaultMaxHeaderSize], [WithMaxHeaderSize]), the header is parsed by a
// small Python-literal grammar (never evaluated), shapes whose element count
// or byte size would overflow are refused, and no allocation is sized from
// the header before the data that backs it has been seen. Object arrays
// (dtype 'O', which NumPy stores as a pickle) are refused with
// [ErrObjectDType]; nothing is ever unpickled.
//
// Errors wrap the sentinel errors below ([ErrTruncated], [ErrBadHeader],
// ...), for errors.Is; errors about a named file are *fs.PathError values.
// Writing a file by path, atomically, is mmfile.Write; this package writes
// to any io.Writer.
//
// The package depends on the standard library only (and on this module's
// internal/pyliteral, which does too).
package npy
