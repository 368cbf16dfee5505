// Package mmfile shares N-dimensional arrays between processes through
// memory-mapped .npy files.
//
// A producer creates an array under a temporary name, fills it in place
// through a shared mapping and publishes it with an atomic rename; any
// number of consumers (Go through this package, Python through
// np.load(name, mmap_mode="r")) map the file and read it in place. Nothing is
// serialized or copied: handing over an array of any size costs one open and
// one mmap, and the consumer's first read costs the page faults that map the
// file's pages into it.
//
//	a, err := mmfile.CreateFor[float64](mmfile.Path("x.npy"), []int{1000, 3}, nil)
//	s, err := mmfile.Slice[float64](a) // fill s in place
//	err = a.Publish()                 // now visible as $ARRFILE_DIR or /dev/shm/x.npy
//	a.Close()
//
//	b, err := mmfile.Open(name, mmfile.ReadOnly, nil) // in another process
//	v, err := mmfile.Slice[float64](b)
//
// Files are ordinary .npy files, byte-identical in their headers to what
// NumPy writes, so they interoperate both ways, including NumPy's read-write
// mode (mmap_mode="r+") on the same file at the same time.
//
// The package covers the whole life of a shared array:
//
//   - where: DefaultDir ($ARRFILE_DIR, else /dev/shm, else the temp folder)
//     and any folder on disk for data larger than memory;
//   - creation without surprises: Create checks free space and reserves the
//     file's blocks, so a full /dev/shm is an error at create, not a SIGBUS
//     later; Write publishes an existing slice in one call;
//   - typed zero-copy views (Slice) checked against dtype, byte order and
//     alignment, usable as gonum matrices;
//   - fault safety: Do, ReadAt and WriteAt turn the SIGBUS of a file truncated
//     by another process into ErrFileShrunk;
//   - coordination: whole-file and byte-range advisory locks, and
//     sync/atomic on mapped words, which works across processes;
//   - anonymous arrays (CreateAnon, Linux memfd) passed as file descriptors to
//     children or over Unix sockets, with nothing to clean up;
//   - growing: Appender adds rows in place, keeping a valid .npy;
//   - embedded arrays: OpenSection maps an .npy that starts inside a file,
//     such as a stored member of an .npz archive;
//   - housekeeping: List, Remove and RemoveStale for the shared folder; they
//     recognise the temporary files of every writer in this module (arrays,
//     .npy.zst, .npz), which share one temp-and-rename.
//
// See docs/sharing.md in the repository for examples across Go and Python,
// the memory model and the cleanup rules.
//
// Linux has every feature. On macOS and the BSDs space is reserved by writing
// zeros and there are no byte-range locks, memfd arrays or in-use marks on
// temporary files; on Windows, in addition, there are no file locks or
// descriptor passing, hints are ignored, and files cannot be removed or
// renamed while open (Publish closes and reopens the file around the rename).
package mmfile
