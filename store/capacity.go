package store

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// poolFile is a recycled file in the pool.
type poolFile struct {
	path  string
	size  int64
	since time.Time // when it entered the pool (ctime)
	id    fileID
}

func (s *Store) poolFiles() []poolFile {
	des, err := os.ReadDir(s.pool)
	if err != nil {
		return nil
	}
	var out []poolFile
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		_, ct := times(fi)
		out = append(out, poolFile{filepath.Join(s.pool, de.Name()), fi.Size(), ct, idOf(fi)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].since.Before(out[j].since) })
	return out
}

// recount returns the bytes the folder's arrays, temporaries and pool
// take, from the folder itself.
func (s *Store) recount() int64 {
	var used int64
	des, _ := os.ReadDir(s.dir)
	for _, de := range des {
		name := de.Name()
		_, isKey := keyOf(name)
		_, isTemp := atomicfile.Target(name)
		if !de.Type().IsRegular() || !isKey && !isTemp {
			continue
		}
		if fi, err := de.Info(); err == nil {
			used += cost(fi.Size())
		}
	}
	for _, p := range s.poolFiles() {
		used += cost(p.size)
	}
	return used
}

// fits reports whether need more bytes fit with used in use.
func (s *Store) fits(used, need int64) bool {
	if used+need > s.capacity {
		return false
	}
	if free, _, ok := fsInfo(s.dir); ok && need > free {
		return false
	}
	return true
}

// makeRoom makes room for need bytes, evicting if the store is full, and
// returns the bytes in use (without need). The store lock is held.
func (s *Store) makeRoom(need int64) (int64, error) {
	used := s.readUsed()
	if s.fits(used, need) {
		return used, nil
	}
	if need > s.capacity {
		return used, s.capacityError(used, need)
	}
	used, err := s.evict(used, need, false)
	if err == nil {
		return used, nil
	}
	// Recount (a crashed process may have left bytes counted) and look at
	// the whole folder again.
	return s.evict(s.recount(), need, true)
}

// makeRoomFS is makeRoom after the filesystem refused the space the
// ledger allowed.
func (s *Store) makeRoomFS(used, need int64) (int64, error) {
	return s.evict(s.recount(), need, true)
}

// candidate is an array or pooled file eviction may remove.
type candidate struct {
	path, key string
	pool      bool
	used      time.Time
}

// candidates lists the pooled files (oldest first), then the arrays
// (least recently used first).
func (s *Store) candidates() []candidate {
	var cands []candidate
	for _, p := range s.poolFiles() {
		cands = append(cands, candidate{path: p.path, pool: true, used: p.since})
	}
	var arrays []candidate
	des, _ := os.ReadDir(s.dir)
	for _, de := range des {
		key, ok := keyOf(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		at, _ := times(fi)
		arrays = append(arrays, candidate{path: filepath.Join(s.dir, de.Name()), key: key, used: at})
	}
	sort.SliceStable(arrays, func(i, j int) bool { return arrays[i].used.Before(arrays[j].used) })
	return append(cands, arrays...)
}

// evict frees room for need bytes by dropping pooled files, then removing
// or spilling the least recently used arrays, skipping every file a
// process holds, opens or maps. It returns the bytes in use after, or a
// *CapacityError. The order comes from the folder and is kept for the
// next evictions (a store that stays full does not list its folder for
// every create); fresh lists it again. The store lock is held.
func (s *Store) evict(used, need int64, fresh bool) (int64, error) {
	if fresh || len(s.cands) == 0 {
		s.cands = s.candidates()
		fresh = true
	}
	if fresh {
		s.inUse = nil // look in /proc again, if leases cannot answer
	}
	for len(s.cands) > 0 && !s.fits(used, need) {
		c := s.cands[0]
		s.cands = s.cands[1:]
		freed, err := s.evictOne(c)
		if err != nil {
			return used, err
		}
		used -= freed
	}
	if !s.fits(used, need) {
		if !fresh {
			return s.evict(used, need, true)
		}
		return used, s.capacityError(used, need)
	}
	return used, nil
}

// evictOne removes or spills one candidate unless a process uses it or
// used it since it was listed, and returns the bytes freed in the store.
func (s *Store) evictOne(c candidate) (int64, error) {
	f, err := os.OpenFile(c.path, os.O_RDWR, 0)
	if err != nil {
		return 0, nil // gone meanwhile
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || s.usedByOthers(f, fi, false) {
		return 0, nil
	}
	if at, _ := times(fi); !c.pool && at.After(c.used) {
		return 0, nil // used since listed; a fresh list places it again
	}
	if free, err := tryExclusive(f); err != nil || !free {
		return 0, nil
	}
	if pi, err := os.Stat(c.path); err != nil || !os.SameFile(fi, pi) {
		return 0, nil
	}
	if evictHook != nil {
		evictHook(c.path)
	}
	if !c.pool && s.spill != "" {
		if err := s.spillFile(f, c.key, fi.Size()); err != nil {
			return 0, err
		}
	}
	if err := os.Remove(c.path); err != nil {
		return 0, nil
	}
	return cost(fi.Size()), nil
}

// usedByOthers reports whether another open file description of f's file
// exists: a descriptor or a mapping in any process (this one's other
// descriptors included), through a lease (soleOpener) or, where the kernel
// will not answer, /proc (other processes only: this process's own holders
// are seen by their locks; the listing is kept for a second, unless
// fresh, while evicting a store that stays full).
func (s *Store) usedByOthers(f *os.File, fi os.FileInfo, fresh bool) bool {
	if sole, known := soleOpener(f); known {
		return !sole
	}
	if fresh || s.inUse == nil || time.Since(s.inUseAt) > time.Second {
		s.inUse, s.inUseAt = scanProcs([]string{s.dir, s.pool}), time.Now()
	}
	for _, pid := range s.inUse[idOf(fi)] {
		if pid != os.Getpid() {
			return true
		}
	}
	return false
}

// evictHook, when set, runs while an evictor holds a file exclusively,
// before it removes or spills it (for the crash tests).
var evictHook func(path string)

// spillFile copies f, the array of key, to the spill folder as a
// temporary and publishes it there.
func (s *Store) spillFile(f *os.File, key string, size int64) error {
	dst := s.spillPath(key)
	tmp, err := atomicfile.Create(dst, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, io.NewSectionReader(f, 0, size)); err != nil {
		atomicfile.Abandon(tmp)
		return err
	}
	if spillHook != nil {
		spillHook(dst)
	}
	return atomicfile.Publish(tmp, dst, s.opt.NoSync)
}

// spillHook, when set, runs when a spilled copy is written and not yet
// published (for the crash tests).
var spillHook func(path string)

// trimPool drops the oldest pooled files no process holds while the pool
// is over its bounds. The store lock is held.
func (s *Store) trimPool() error {
	pool := s.poolFiles()
	var total int64
	for _, p := range pool {
		total += p.size
	}
	n := len(pool)
	var freed int64
	for _, p := range pool {
		if n <= s.opt.PoolFiles && total <= s.opt.PoolBytes {
			break
		}
		f, err := os.OpenFile(p.path, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		free, err := tryExclusive(f)
		if err == nil && free && os.Remove(p.path) == nil {
			n--
			total -= p.size
			freed += cost(p.size)
		}
		f.Close()
	}
	if freed == 0 {
		return nil
	}
	return s.writeUsed(s.readUsed() - freed)
}

// capacityError describes a create of need bytes that cannot fit.
func (s *Store) capacityError(used, need int64) error {
	var held int64
	des, _ := os.ReadDir(s.dir)
	for _, de := range des {
		if _, ok := keyOf(de.Name()); !ok {
			continue
		}
		if fi, err := de.Info(); err == nil && isHeld(filepath.Join(s.dir, de.Name())) {
			held += cost(fi.Size())
		}
	}
	free, _, ok := fsInfo(s.dir)
	if !ok {
		free = -1
	}
	return &CapacityError{Dir: s.dir, Need: need, Capacity: s.capacity, Used: used, Held: held, Free: free}
}

// Info describes one stored array (see List).
type Info struct {
	Key  string
	Path string // its file
	Size int64  // file size in bytes
	// Spilled is true for an array in the spill folder.
	Spilled bool
	// Created is when it was published (its modification time); LastUsed
	// its last Get (its access time).
	Created, LastUsed time.Time
	// Held is true while a process holds a reference (Get).
	Held bool
	// Pids are the processes that have the file open or mapped, found
	// through /proc/PID/fd and /proc/PID/maps (Linux, best effort:
	// processes of other users may be missing). A NumPy reader that maps
	// the file appears here without holding a reference.
	Pids []int
}

// List returns every array in the store and the spill folder, sorted by
// key (a spilled copy after the one in the folder, if both exist after a
// crash mid-spill).
func (s *Store) List() ([]Info, error) {
	inUse := scanProcs([]string{s.dir, s.spill})
	var out []Info
	for _, d := range []string{s.dir, s.spill} {
		if d == "" {
			continue
		}
		des, err := os.ReadDir(d)
		if err != nil {
			return nil, &fs.PathError{Op: "list", Path: d, Err: unwrapPath(err)}
		}
		for _, de := range des {
			key, ok := keyOf(de.Name())
			if !ok || !de.Type().IsRegular() {
				continue
			}
			fi, err := de.Info()
			if err != nil {
				continue
			}
			p := filepath.Join(d, de.Name())
			at, _ := times(fi)
			out = append(out, Info{Key: key, Path: p, Size: fi.Size(), Spilled: d == s.spill,
				Created: fi.ModTime(), LastUsed: at, Held: isHeld(p), Pids: inUse[idOf(fi)]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Usage is the state of a store's capacity.
type Usage struct {
	Capacity int64 // bytes
	Used     int64 // bytes in use: arrays, temporaries, pooled files
	Arrays   int   // arrays in the folder
	Spilled  int   // arrays in the spill folder
	Pooled   int   // recycled files in the pool
	PoolSize int64 // their bytes
}

// Usage counts the store from its folders (correcting the ledger).
func (s *Store) Usage() (Usage, error) {
	u := Usage{Capacity: s.capacity}
	err := s.locked(func() error {
		u.Used = s.recount()
		return s.writeUsed(u.Used)
	})
	if err != nil {
		return u, &fs.PathError{Op: "usage", Path: s.dir, Err: err}
	}
	count := func(d string) int {
		n := 0
		des, _ := os.ReadDir(d)
		for _, de := range des {
			if _, ok := keyOf(de.Name()); ok && de.Type().IsRegular() {
				n++
			}
		}
		return n
	}
	u.Arrays = count(s.dir)
	if s.spill != "" {
		u.Spilled = count(s.spill)
	}
	for _, p := range s.poolFiles() {
		u.Pooled++
		u.PoolSize += p.size
	}
	return u, nil
}
