package store

import (
	"io"
	"os"
	"slices"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// Parking (Options.ParkFiles): a Store that parks keeps the mapping of a
// released array, with its descriptor open, so that a later Get of the
// same file (the same key again, or a recycled file published under a new
// key) reuses the mapping instead of mapping the file afresh and faulting
// in every page. From its Get until the mapping is unmapped and the
// descriptor closed, such a descriptor carries the park mark (a shared
// lock on parkByte), by which producers tell it from other readers: a
// pooled file whose other openers all carry the mark and hold no
// reference may be recycled under them (openers.onlyParked). A parked
// mapping is never read by the store; the next Get takes the reference
// first, then checks that the key still names the file, that its size is
// the mapping's and that the header read from the file (the page cache
// the shared mapping shows) is the mapping's, and only then hands it out.

// parked is one parked mapping.
type parked struct {
	a    *mmfile.Array
	id   fileID
	size int64 // the file's size when parked: the bytes mapped
}

// parking reports whether Release parks.
func (s *Store) parking() bool { return canPark && s.opt.ParkFiles > 0 }

// newRef returns the Ref of a mapped and held array; with parking it puts
// the park mark on the descriptor, so that Release may park it.
func (s *Store) newRef(a *mmfile.Array, key, p string, spilled bool) *Ref {
	r := &Ref{a: a, key: key, path: p, spilled: spilled}
	if s.parking() && !spilled {
		if f, err := a.File(); err == nil && parkLock(f) == nil {
			r.s = s
		}
	}
	return r
}

// park keeps a released array's mapping; false if it cannot (the store
// is closed, the file was removed, or this Store parks it already), and
// the caller closes it.
func (s *Store) park(a *mmfile.Array) bool {
	f, err := a.File()
	if err != nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || !linked(fi) {
		return false
	}
	e := &parked{a: a, id: idOf(fi), size: fi.Size()}
	s.pmu.Lock()
	if s.closed || slices.ContainsFunc(s.parked, func(x *parked) bool { return x.id == e.id }) {
		s.pmu.Unlock()
		return false
	}
	unlockRef(f) // the park mark stays
	s.parked = append(s.parked, e)
	s.parkedBytes += cost(e.size)
	// Drop mappings of files removed since (evicted, dropped from the
	// pool: only this mapping keeps their pages), then the least recently
	// parked while over the bounds.
	var drop []*parked
	keep := s.parked[:0]
	for _, x := range s.parked {
		if xi, err := fileOf(x.a).Stat(); err != nil || !linked(xi) {
			drop = append(drop, x)
			s.parkedBytes -= cost(x.size)
			continue
		}
		keep = append(keep, x)
	}
	s.parked = keep
	for len(s.parked) > 0 && (len(s.parked) > s.opt.ParkFiles || s.parkedBytes > s.opt.ParkBytes) {
		drop = append(drop, s.parked[0])
		s.parkedBytes -= cost(s.parked[0].size)
		s.parked = s.parked[1:]
	}
	kept := slices.Contains(s.parked, e)
	s.pmu.Unlock()
	for _, x := range drop {
		x.a.Close()
	}
	return kept || slices.Contains(drop, e) // a dropped e is closed already
}

func fileOf(a *mmfile.Array) *os.File { f, _ := a.File(); return f }

// unpark returns a Ref on this Store's parked mapping of the file at p,
// if it has one that is still valid for it; nil otherwise (a parked
// mapping of p's file that no longer fits is unmapped).
func (s *Store) unpark(key, p string) *Ref {
	if !s.parking() {
		return nil
	}
	pi, err := os.Stat(p)
	if err != nil {
		return nil
	}
	id := idOf(pi)
	s.pmu.Lock()
	i := slices.IndexFunc(s.parked, func(x *parked) bool { return x.id == id })
	var e *parked
	if i >= 0 {
		e = s.parked[i]
		s.parked = slices.Delete(s.parked, i, i+1)
		s.parkedBytes -= cost(e.size)
	}
	s.pmu.Unlock()
	if e == nil {
		return nil
	}
	f := fileOf(e.a)
	// The reference first (it waits while a producer or evictor holds the
	// file exclusively), then the checks, as in hold.
	if f != nil && refLock(f) == nil {
		if s.stillFits(e, f, p) {
			return &Ref{a: e.a, key: key, path: p, s: s}
		}
		unlockRef(f)
	}
	e.a.Close()
	return nil
}

// stillFits reports whether the parked mapping e shows the array that p
// names now: the same file, of the size mapped, with the header the
// mapping was made for, read again from the file.
func (s *Store) stillFits(e *parked, f *os.File, p string) bool {
	fi, err := f.Stat()
	if err != nil || fi.Size() != e.size {
		return false
	}
	pi, err := os.Stat(p)
	if err != nil || !os.SameFile(fi, pi) {
		return false
	}
	h, err := npy.ReadHeader(io.NewSectionReader(f, 0, e.size))
	if err != nil {
		return false
	}
	old := e.a.Header()
	return h.DataOffset+h.DataSize() == e.size && h.DataOffset == old.DataOffset &&
		h.DType.String() == old.DType.String() && h.FortranOrder == old.FortranOrder && slices.Equal(h.Shape, old.Shape)
}

// closeParked unmaps every parked mapping and stops parking.
func (s *Store) closeParked() {
	s.pmu.Lock()
	all := s.parked
	s.parked, s.parkedBytes, s.closed = nil, 0, true
	s.pmu.Unlock()
	for _, x := range all {
		x.a.Close()
	}
}

// Producers. A pooled file cannot be opened anew (it left its name before
// it came to the pool, and only the store, under the store lock, opens
// pool names), so its openers only go away; and a descriptor with the
// park mark keeps it until it is closed, holding a reference or nothing.
// So if a look at /proc after the file came to the pool found only
// descriptors with the mark, and the mappings of one whole file each,
// then once no reference is held (the exclusive lock is granted) every
// opener left is a parked mapping that no one reads: the file may be
// recycled. The look is taken at Delete, when the file comes to the pool
// (recorded in verdicts for this process's later Creates), or else at
// the Create.

// judgePooled records whether the file f (info fi), just moved to the
// pool as dst, is held only by parking Stores. The store lock is held.
func (s *Store) judgePooled(f *os.File, fi os.FileInfo, dst string) {
	if !canPark || !parkLocked(f) {
		return
	}
	if scanOpeners(s.dir, s.dev, int(f.Fd())).onlyParked(idOf(fi), fi.Size()) {
		if s.verdicts == nil {
			s.verdicts = map[string]fileID{}
		}
		s.verdicts[dst] = idOf(fi)
	}
}

// onlyParked reports whether the pooled file p, open as f with the
// exclusive lock granted and another opener seen, is held only by parked
// mappings: by the verdict of its Delete, or else by one look at /proc
// per Create (scanned). The store lock is held.
func (s *Store) onlyParked(f *os.File, p poolFile, scanned *bool) bool {
	if !canPark || !parkLocked(f) {
		return false
	}
	if id, ok := s.verdicts[p.path]; ok && id == p.id {
		return true
	}
	if *scanned {
		return false
	}
	*scanned = true
	return scanOpeners(s.dir, s.dev, int(f.Fd())).onlyParked(p.id, p.size)
}

// forgetVerdicts drops the verdicts of files no longer in the pool.
func (s *Store) forgetVerdicts(pool []poolFile) {
	if len(s.verdicts) == 0 {
		return
	}
	in := make(map[string]bool, len(pool))
	for _, p := range pool {
		in[p.path] = true
	}
	for k := range s.verdicts {
		if !in[k] {
			delete(s.verdicts, k)
		}
	}
}
