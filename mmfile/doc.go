// Package mmfile shares N-dimensional arrays between processes through
// memory-mapped .npy files: the mapped array.
//
// A producer creates an array under a temporary name, fills it in place
// through a shared mapping and publishes it with an atomic rename; any
// number of consumers (Go through this package, Python through
// np.load(name, mmap_mode="r")) map the file and read it in place. Nothing is
// serialized or copied: handing over an array of any size costs one open and
// one mmap, and the consumer's first read costs the page faults that map the
// file's pages into it.
//
//	name := filepath.Join(mmfile.DefaultDir(), "x.npy") // $ARRFILE_DIR, /dev/shm or the temp folder
//	a, err := mmfile.Create(name, &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{1000, 3}}, nil)
//	s, err := mmfile.Slice[float64](a) // fill s in place
//	err = a.Publish()                 // now visible under name
//	a.Close()
//
//	b, err := mmfile.Open(name, mmfile.ReadOnly, nil) // in another process
//	v, err := mmfile.Slice[float64](b)
//
// Files are ordinary .npy files, byte-identical in their headers to what
// NumPy writes, so they interoperate both ways, including NumPy's read-write
// mode (mmap_mode="r+") on the same file at the same time.
//
// The parts of the mapped array:
//
//   - creating: Create (fill in place, then Publish) and Write (publish an
//     existing slice in one call), with CreateOptions; both check free space
//     up front, and Create reserves the file's blocks, so a full /dev/shm is
//     an error at create, not a SIGBUS later; files are 0666 under the
//     umask unless CreateOptions.Perm says otherwise;
//   - opening: Open (modes ReadOnly, ReadWrite, CopyOnWrite as NumPy's
//     mmap_mode "r", "r+", "c"), OpenFile for an open descriptor, with
//     Options;
//   - views: Bytes and the typed zero-copy Slice, checked against dtype,
//     byte order and alignment, usable as gonum matrices; Header;
//   - the fault guard: Do, ReadAt and WriteAt turn the SIGBUS of a file
//     truncated by another process into ErrFileShrunk;
//   - lifetime: Pin, Sync, Close;
//   - locks: whole-file (Lock) and byte-range (LockRange) advisory locks;
//     sync/atomic on mapped words works across processes too;
//   - hints and populating: Advise, Prefault, PopulateMode;
//   - anonymous arrays (CreateAnon, WriteAnon; Linux memfd, sealed against
//     resizing) passed as file descriptors to children or over Unix sockets
//     (Send, Receive, which by default maps only sealed files for reading),
//     with nothing to clean up;
//   - appending: an Appender grows a published file in place (Append),
//     keeping a valid .npy that readers open with its old or its new shape,
//     and stops (ErrReplaced) once another file is published under its
//     name;
//   - sections: OpenSection maps an .npy that starts inside a file, such as
//     a stored member of an .npz archive;
//   - the shared folder: DefaultDir, and List, Remove and RemoveStale for
//     housekeeping; they recognise the temporary files of every writer in
//     this module (arrays, .npy.zst, .npz), which share one temp-and-rename.
//
// Errors are *fs.PathError values naming the file, wrapping this package's
// sentinels (fs.ErrClosed, ErrFileShrunk, ...), npy's, a *SpaceError or a
// system error.
//
// See docs/sharing.md in the repository for examples across Go and Python,
// the memory model and the cleanup rules.
//
// Linux has every feature. On macOS and the BSDs space is reserved by writing
// zeros and there are no byte-range locks, memfd arrays or live marks on
// temporary files; on Windows, in addition, there are no file locks or
// descriptor passing, hints are ignored, and files cannot be removed or
// renamed while open (Publish closes and reopens the file around the rename).
package mmfile
