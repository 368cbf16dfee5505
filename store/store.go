package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// SpillFile is the file in a store's folder that names its spill folder,
// so that other programs (arr ls) find the spilled arrays.
const SpillFile = ".arrspill"

// IsStore reports whether dir is the folder of a store (it has the
// store's ledger).
func IsStore(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, ledgerName))
	return err == nil && fi.Mode().IsRegular()
}

const (
	ledgerName = ".arrstore" // the bytes in use and the capacity, under the store lock
	poolName   = ".arrpool"  // recycled files
	ext        = ".npy"
	maxKeyLen  = 200
	pageSize   = 4096
)

// Options configure a Store. The zero value (or nil) is the default for
// every field.
type Options struct {
	// Capacity is the most bytes the store's arrays, temporaries and
	// recycled files may take (each file counted in whole 4 KiB pages). It
	// is recorded in the folder and shared: 0 means the capacity the
	// folder records, or if none the size of its filesystem minus 5%.
	Capacity int64
	// SpillDir, if set, is a folder (usually on disk) where eviction moves
	// arrays instead of removing them; Get finds them there. It is created
	// if missing.
	SpillDir string
	// MoveBack makes Get move a spilled array back into the store folder
	// (copy, publish by rename, remove the spilled copy) when it fits
	// without evicting an array a process holds, and no process holds,
	// opens or maps the spilled copy; the reference then maps the moved
	// file. Without it (the default) spilled arrays stay in the spill
	// folder.
	MoveBack bool
	// PoolBytes and PoolFiles bound the pool of recycled files; 0 means
	// Capacity/4 and 16. A negative value turns recycling off.
	PoolBytes int64
	PoolFiles int
	// RecycleMin is the smallest array whose file is recycled on Delete
	// (smaller ones are removed); 0 means 1 MiB.
	RecycleMin int64
	// NoSync skips the fsync of files and folders on disk-backed storage
	// (see mmfile.CreateOptions.NoSync); memory-backed folders are never
	// synced.
	NoSync bool
	// ParkFiles, if positive, turns parking on (Linux, and only where the
	// pool folder .arrpool is this user's alone, mode 0700): Release keeps up
	// to ParkFiles mappings of released arrays of 1 MiB or more, with
	// their descriptors, and a later Get of the same file (the key again,
	// or a recycled file published under another key) reuses the mapping,
	// whose pages are mapped already, after checking that the key names
	// that file and its header is the mapping's; likewise Publish keeps
	// up to ParkFiles read-write mappings of recycled arrays for this
	// Store's next Create in the same file. Producers recycle a pooled
	// file that only parked mappings keep (see docs/store.md); evicting,
	// they skip it as any mapped file. ParkBytes bounds the bytes of
	// each kind of parked mapping; 0 or less means PoolBytes
	// (Capacity/4 with recycling off). The least recently parked go first; Close unmaps
	// them all. Release gives the mapping to the Store: the Ref's Array
	// is closed afterwards (every method returns fs.ErrClosed); a pinned
	// or locked Array is not parked but closed. Off by default: each
	// parked mapping keeps a descriptor and a mapping open and its pages
	// in memory, and producers must look in /proc to recycle its file.
	//
	// Only a Store that parks recycles a pooled file under other
	// processes' parked mappings; one that does not park reuses only
	// files no other process has open. The look in /proc sees only the
	// processes whose /proc entries this process may read: a reader in a
	// process it cannot read, or in another PID namespace, is not seen
	// (when parked mappings are there too) and its file may be recycled
	// under it. Park only where every reader of the folder is visible.
	ParkFiles int
	ParkBytes int64
}

// Store is a folder of arrays by key. Its methods may be called from
// several goroutines at once, and several processes may open the same
// folder: they share the capacity, the references and the pool.
type Store struct {
	dir, spill, pool string
	opt              Options
	capacity         int64
	mu               sync.Mutex // with the flock on ledger, the store lock
	ledger           *os.File
	cands            []candidate // eviction order from the last listing (under the lock)
	inUse            map[fileID][]int
	inUseAt          time.Time
	dev              uint64 // the folder's device

	vmu        sync.Mutex          // guards verdicts, judgeQueue, judgeBusy, ifd, vclosed
	ifd        int                 // the inotify instance watching pooled files for opens, -1 if none
	vclosed    bool                // Close was called: no more looks
	creates    atomic.Bool         // Create was called: Delete has pooled files looked at
	verdicts   map[string]*verdict // on pooled files parking Stores held, by pool path
	judgeQueue []*verdict          // waiting for the next look
	judgeBusy  bool                // a goroutine is looking
	judging    sync.WaitGroup      // that goroutine

	pmu     sync.Mutex // guards the parked mappings
	parked  []*parked  // released read-only mappings, least recently parked first
	wparked []*parked  // read-write mappings of published recycled arrays
	closed  bool
}

// Open opens the store in folder dir ("" means mmfile.DefaultDir()),
// creating the folder, its ledger and, if set, the spill folder.
func Open(dir string, opt *Options) (*Store, error) {
	if dir == "" {
		dir = mmfile.DefaultDir()
	}
	var o Options
	if opt != nil {
		o = *opt
	}
	s := &Store{opt: o, ifd: -1}
	var err error
	if s.dir, err = prepareDir(dir); err != nil {
		return nil, err
	}
	if o.SpillDir != "" {
		if s.spill, err = prepareDir(o.SpillDir); err != nil {
			return nil, err
		}
	}
	if fi, err := os.Stat(s.dir); err == nil {
		s.dev = idOf(fi).dev
	}
	s.pool = filepath.Join(s.dir, poolName)
	// The pool is the owner's only: no other user opens a pooled file
	// (see Options.ParkFiles).
	if err := os.MkdirAll(s.pool, 0o700); err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: unwrapPath(err)}
	}
	if fi, err := os.Stat(s.pool); err == nil && fi.Mode().Perm() != 0o700 {
		os.Chmod(s.pool, 0o700) // made by an older version; not ours to change if another user's
	}
	if fi, err := os.Stat(s.pool); err != nil || fi.Mode().Perm() != 0o700 {
		// Parking rests on no other user opening a pooled file.
		s.opt.ParkFiles = 0
	}
	s.ledger, err = os.OpenFile(filepath.Join(s.dir, ledgerName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: unwrapPath(err)}
	}
	err = s.locked(func() error {
		if o.Capacity > 0 {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], uint64(min(o.Capacity, maxBytes)))
			if _, err := s.ledger.WriteAt(b[:], 8); err != nil {
				return err
			}
			s.capacity = min(o.Capacity, maxBytes)
		} else {
			_, c, err := s.readLedger()
			if err != nil {
				return &fs.PathError{Op: "open", Path: s.ledger.Name(), Err: err}
			}
			s.capacity = c
		}
		if s.spill != "" {
			if err := writeSpillFile(s.dir, s.spill); err != nil {
				return err
			}
		}
		return nil
	})
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		s.ledger.Close()
		return nil, pe
	}
	if err != nil {
		s.ledger.Close()
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	if s.capacity <= 0 {
		if _, total, ok := fsInfo(s.dir); ok {
			s.capacity = total - total/20
		} else {
			s.capacity = 1 << 62
		}
	}
	if s.opt.PoolBytes == 0 {
		s.opt.PoolBytes = s.capacity / 4
	}
	if s.opt.PoolFiles == 0 {
		s.opt.PoolFiles = 16
	}
	if s.opt.ParkBytes <= 0 {
		s.opt.ParkBytes = s.opt.PoolBytes
		if s.opt.ParkBytes <= 0 {
			s.opt.ParkBytes = s.capacity / 4
		}
	}
	if s.opt.RecycleMin <= 0 {
		s.opt.RecycleMin = 1 << 20
	}
	// Count the folder once: whatever a crashed process left counted is
	// corrected here.
	if err := s.locked(func() error { return s.writeUsed(s.recount()) }); err != nil {
		s.ledger.Close()
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return s, nil
}

// writeSpillFile records the spill folder, if it changed.
func writeSpillFile(dir, spill string) error {
	name := filepath.Join(dir, SpillFile)
	if b, err := os.ReadFile(name); err == nil && string(b) == spill+"\n" {
		return nil
	}
	f, err := atomicfile.Create(name, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(spill + "\n"); err != nil {
		atomicfile.Abandon(f)
		return err
	}
	return atomicfile.Publish(f, name, true)
}

func prepareDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", &fs.PathError{Op: "open", Path: dir, Err: unwrapPath(err)}
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: dir, Err: unwrapPath(err)}
	}
	return abs, nil
}

// Close unmaps the parked mappings and closes the store's ledger.
// References (Ref) and writers stay valid (a Ref released afterwards is
// unmapped, not parked); the Store must not be used afterwards.
func (s *Store) Close() error {
	s.stopJudging()
	s.closeParked()
	return s.ledger.Close()
}

// Dir returns the store's folder; SpillDir its spill folder ("" if none).
func (s *Store) Dir() string      { return s.dir }
func (s *Store) SpillDir() string { return s.spill }

// Capacity returns the store's capacity in bytes.
func (s *Store) Capacity() int64 { return s.capacity }

// Path returns the file of the array stored under key in the store's
// folder (where Put and Create publish it; an evicted-and-spilled array is
// in the spill folder instead, see Ref.Path), for other programs such as
// np.load(path, mmap_mode="r").
func (s *Store) Path(key string) string { return filepath.Join(s.dir, key+ext) }

func (s *Store) spillPath(key string) string {
	if s.spill == "" {
		return ""
	}
	return filepath.Join(s.spill, key+ext)
}

// checkKey validates a key.
func checkKey(key string) error {
	if key == "" || len(key) > maxKeyLen || key[0] == '.' || strings.Contains(key, "..") {
		return ErrBadKey
	}
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: character %q", ErrBadKey, c)
		}
	}
	return nil
}

// keyOf returns the key of a file name in the store folder.
func keyOf(name string) (string, bool) {
	if !strings.HasSuffix(name, ext) || strings.HasPrefix(name, ".") {
		return "", false
	}
	k := strings.TrimSuffix(name, ext)
	return k, checkKey(k) == nil
}

// cost is the bytes a file of size bytes takes: whole pages.
func cost(size int64) int64 { return (size + pageSize - 1) &^ (pageSize - 1) }

// locked runs fn under the store lock (this process's mutex and the flock
// on the ledger that other processes share).
func (s *Store) locked(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := storeLock(s.ledger, false); err != nil {
		return fmt.Errorf("locking the store: %w", err)
	}
	defer storeLock(s.ledger, true)
	return fn()
}

// readUsed returns the bytes in use the ledger records, or if it records
// no valid count, the folder's (see parseLedger).
func (s *Store) readUsed() int64 {
	if used, _, _ := s.readLedger(); used >= 0 {
		return used
	}
	return s.recount()
}

func (s *Store) writeUsed(v int64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(max(v, 0)))
	_, err := s.ledger.WriteAt(b[:], 0)
	return err
}

// Put stores data under key as a new array in one call: Create, copy,
// Publish. h gives dtype, order and shape as for mmfile.Write (nil: a
// one-dimensional array of len(data) elements of T's dtype); T may be byte
// for raw data of any dtype.
func Put[T npy.Elem](s *Store, key string, data []T, h *npy.Header) error {
	var hh npy.Header
	if h != nil {
		hh = *h
	} else {
		hh.Shape = []int{len(data)}
	}
	if hh.DType == nil {
		hh.DType = npy.DTypeOf[T]()
	}
	raw := npy.Bytes(data)
	n := int64(len(raw))
	if want := hh.DataSize(); want != n {
		return &fs.PathError{Op: "put", Path: s.Path(key), Err: fmt.Errorf("%w: %d data bytes for shape %v of %s (%d bytes)",
			npy.ErrSize, n, hh.Shape, hh.DType, want)}
	}
	w, err := s.Create(key, &hh)
	if err != nil {
		return err
	}
	b, err := w.Array().Bytes()
	if err != nil {
		w.Abort()
		return err
	}
	copy(b, raw)
	return w.Publish()
}

// Ref is a reference to a stored array: the array mapped read-only and a
// shared lock on its file, which keeps it from being evicted, moved or
// recycled until Release (or until the process ends, when the kernel drops
// the lock). Its methods may be called from several goroutines.
type Ref struct {
	a         *mmfile.Array
	key, path string
	spilled   bool
	s         *Store // the parking Store, nil if Release unmaps
	done      atomic.Bool
}

// Array returns the mapped array (valid until Release).
func (r *Ref) Array() *mmfile.Array { return r.a }

// Key returns the key; Path the file the array was mapped from (in the
// store folder or, for a spilled array, the spill folder).
func (r *Ref) Key() string  { return r.key }
func (r *Ref) Path() string { return r.path }

// Spilled reports whether the array was mapped from the spill folder.
func (r *Ref) Spilled() bool { return r.spilled }

// Release unmaps the array and drops the reference; a parking Store
// (Options.ParkFiles) may keep the mapping instead, without the
// reference, for a later Get, moving it out of the Ref's Array. Either way
// the Array is closed afterwards (its methods return fs.ErrClosed, and
// memory from Bytes or Slice must not be used; a goroutine that pinned it
// keeps the mapping, and then the reference, until it unpins). Calling
// Release again returns an error wrapping fs.ErrClosed.
func (r *Ref) Release() error {
	if !r.done.CompareAndSwap(false, true) {
		return &fs.PathError{Op: "release", Path: r.path, Err: fs.ErrClosed}
	}
	if r.s != nil && r.s.park(r.a) {
		return nil
	}
	return r.a.Close()
}

// Get maps the array stored under key read-only and takes a reference on
// it (see Ref). An array evicted to the spill folder is mapped from there.
// With parking, a parked mapping of the key's file is reused. Get records
// the use for the least-recently-used order of eviction.
func (s *Store) Get(key string) (*Ref, error) {
	path := s.Path(key)
	if err := checkKey(key); err != nil {
		return nil, &fs.PathError{Op: "get", Path: path, Err: err}
	}
	s.moveBack(key)
	// An evictor holds the exclusive lock while it removes or moves the
	// file: a Get that opened the old file waits for it, then finds the
	// path gone or another file there, and looks again.
	for range 100 {
		retry := false
		for _, p := range []string{path, s.spillPath(key)} {
			if p == "" {
				continue
			}
			if p == path {
				if r := s.unpark(key, p); r != nil {
					touch(p)
					return r, nil
				}
			}
			a, err := mmfile.Open(p, mmfile.ReadOnly, nil)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			ok, err := s.hold(a, p)
			if err != nil {
				a.Close()
				return nil, &fs.PathError{Op: "get", Path: p, Err: err}
			}
			if !ok {
				a.Close()
				retry = true
				break
			}
			touch(p)
			return s.newRef(a, key, p, p != path), nil
		}
		if !retry {
			break
		}
	}
	return nil, &fs.PathError{Op: "get", Path: path, Err: ErrNotFound}
}

// hold takes the reference on a's file and checks that p still names it.
func (s *Store) hold(a *mmfile.Array, p string) (bool, error) {
	f, err := a.File()
	if err != nil {
		return false, err
	}
	if err := refLock(f); err != nil {
		return false, err
	}
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(p)
	if err != nil {
		return false, nil
	}
	return os.SameFile(fi, pi), nil
}

// Delete removes the array stored under key. Processes holding it keep
// their mapping; its file goes to the pool of recycled files (counted
// against the capacity until it is reused or dropped) if it is large
// enough or still held, else it is removed.
func (s *Store) Delete(key string) error {
	path := s.Path(key)
	if err := checkKey(key); err != nil {
		return &fs.PathError{Op: "delete", Path: path, Err: err}
	}
	s.vmu.Lock()
	closed := s.vclosed
	s.vmu.Unlock()
	if closed {
		return &fs.PathError{Op: "delete", Path: path, Err: fs.ErrClosed}
	}
	var look func() // the look at the pooled file's openers, once Delete's descriptor is closed
	err := s.locked(func() error {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			if sp := s.spillPath(key); sp != "" {
				if err := os.Remove(sp); err == nil || !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		free, err := tryExclusive(f)
		if err != nil {
			return err
		}
		if sp := s.spillPath(key); sp != "" {
			os.Remove(sp) // a copy a crash mid-spill left: it must not outlive the key
		}
		if s.opt.PoolBytes > 0 && s.opt.PoolFiles > 0 && (!free || fi.Size() >= s.opt.RecycleMin) {
			dst := filepath.Join(s.pool, randomName()+ext)
			wd := -1
			if s.parking() && s.creates.Load() && parkLocked(f) {
				// Watched for opens from here on: an opener the look
				// will not see (it opens later) spoils its verdict. Only
				// a Store that creates looks: the verdicts are for its
				// Creates.
				wd = s.watchFile(f)
			}
			if err := os.Rename(path, dst); err != nil {
				s.forgetWatch(wd)
				return err
			}
			if wd >= 0 {
				id, size := idOf(fi), fi.Size()
				look = func() {
					if _, err := os.Lstat(dst); err == nil {
						s.judgeLater(dst, id, size, wd)
					} else {
						s.forgetWatch(wd) // trimmed from the pool at once
					}
				}
			}
			err := s.trimPool()
			s.forgetVerdicts(s.poolFiles())
			return err
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		return s.writeUsed(s.readUsed() - cost(fi.Size()))
	})
	if err != nil {
		return &fs.PathError{Op: "delete", Path: path, Err: unwrapPath(err)}
	}
	if look != nil {
		look()
	}
	return nil
}

// unwrapPath returns the cause of a top-level *fs.PathError or
// *os.LinkError, and any other error as it is.
func unwrapPath(err error) error {
	switch e := err.(type) {
	case *fs.PathError:
		return e.Err
	case *os.LinkError:
		return e.Err
	}
	return err
}
