// Package store keeps arrays by key in a folder (by default the shared
// folder): an object store with no daemon, where the folder is the store,
// the kernel is the allocator and locks are the references.
//
// A producer puts an array under a key (Put, or Create, fill in place,
// Publish); once published the array is sealed: the store never writes it
// again and a key cannot be published twice. A consumer calls Get, which
// maps the array read-only and holds a reference: a shared
// open-file-description lock on the file, which the kernel drops when the
// process exits or is killed, so a reference cannot leak and no tracker
// process is needed. Release drops it early. Delete removes the key.
//
// The store never holds more than its capacity (Options.Capacity; by
// default what the folder's filesystem holds minus a margin). A create that
// does not fit first drops recycled files, then evicts the least recently
// used arrays that no process holds, or, with Options.SpillDir, moves them
// to the spill folder (where Get still finds and maps them; with
// Options.MoveBack, Get moves a spilled array back when it fits). An array that
// a process holds (a Go reference) or has open or mapped (a NumPy reader,
// seen on Linux through the same lease, or /proc) is never evicted or
// moved. A create that cannot fit even then fails at once with a
// *CapacityError naming the sizes, the folder and $ARRFILE_DIR, never a
// SIGBUS later.
//
// Deleted arrays of Options.RecycleMin bytes or more go to a bounded pool
// of recycled files (the hidden folder .arrpool) and a later Create of an
// array that fits writes into their pages, which are resident already: a
// recycled array starts with the old bytes, not zeros. A pooled file is
// reused only when no process holds, opens or maps it (on Linux by its
// reference lock and a write lease, which the kernel grants only to the
// file's sole opener, mappings included; where leases are refused, through
// /proc; when in doubt it is not reused).
//
// With Options.ParkFiles (Linux, off by default) a Store parks the
// mappings it is done with instead of unmapping them: Release keeps the
// consumer's mapping (closing the Ref's Array, whose mapping moves to the
// Store) and Publish a producer's mapping of a recycled file,
// each descriptor marked by a lock of its own, and the next Get (or
// Create) of the same file reuses the mapping, with its pages mapped
// already, after checking that it still fits the file's header. A producer
// that parks itself recycles a pooled file that only such marked, unused
// mappings keep (found through /proc, an inotify watch telling of opens
// since the look); any other reader still keeps it from reuse. The limit:
// processes whose /proc entries this process cannot read are not seen, nor
// are readers in other PID namespaces, so a reader there may have its file
// recycled under it when parked mappings of other processes keep it too;
// park only where every reader of the folder is visible (docs/store.md).
//
// List shows every array with its size, age, last use, whether it is held
// and which processes have it open or mapped. Usage gives the capacity
// used.
//
// Everything is crash-safe: new arrays are written as mmfile temporaries
// (removed by mmfile.RemoveStale, arr gc, when their producer died) and
// appear by an atomic rename; eviction is an unlink, spilling a copy
// published by rename before the original goes; a killed process leaves
// every array fully there or gone. The bytes used are kept in a small
// ledger file (.arrstore) updated under a lock; a crash can only make it
// count too much, and it is recounted from the folder when a create does
// not fit and by Usage. A ledger damaged otherwise is recounted too, but a
// capacity no store wrote is an error naming the file (ErrBadLedger).
//
// Python takes part without this package: np.load(path, mmap_mode="r") on
// Path(key) reads an array, and a reference is the same lock taken with
// fcntl (see docs/store.md).
//
// Linux has every feature. Elsewhere there are no references (Get maps the
// array but nothing protects it from eviction by another process), no
// cross-process ledger lock and no /proc scans.
package store
