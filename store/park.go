package store

import (
	"bytes"
	"io"
	"os"
	"slices"
	"time"

	"github.com/arrfile/arrfile/internal/mmhook"
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

// parkMin is the smallest array whose mapping is parked: a smaller one
// maps in microseconds, and parking it would only cost producers their
// looks at /proc.
const parkMin = 1 << 20

// parking reports whether Release parks.
func (s *Store) parking() bool { return canPark && s.opt.ParkFiles > 0 }

// parkable reports whether a's mapping is worth parking.
func parkable(a *mmfile.Array) bool {
	h := a.Header()
	return h.DataOffset+h.DataSize() >= parkMin
}

// newRef returns the Ref of a mapped and held array; with parking it puts
// the park mark on the descriptor, so that Release may park it.
func (s *Store) newRef(a *mmfile.Array, key, p string, spilled bool) *Ref {
	r := &Ref{a: a, key: key, path: p, spilled: spilled}
	if s.parking() && !spilled && parkable(a) {
		if f, err := a.File(); err == nil && parkLock(f) == nil {
			r.s = s
		}
	}
	return r
}

// park keeps a released array's mapping: it moves the mapping and the
// descriptor into a new Array of the store's (detach), which leaves the
// user's a closed, and drops the range locks (LockRange) a held on the
// file, as closing it would have. false if it cannot (a is pinned or locked: its
// mapping may be in use; then the caller closes a, and the unmapping,
// with the reference, waits for the last pin); true once a is closed.
func (s *Store) park(a *mmfile.Array) bool {
	b := detach(a)
	if b == nil {
		return false
	}
	dropRangeLocks(fileOf(b))
	if !s.parkIn(&s.parked, b) {
		b.Close()
	}
	return true
}

// detach moves a's mapping and descriptor into a new Array and closes a
// (mmhook.Detach); nil if a is pinned, locked or closed.
func detach(a *mmfile.Array) *mmfile.Array {
	if mmhook.Detach == nil {
		return nil
	}
	b, ok := mmhook.Detach(a)
	if !ok {
		return nil
	}
	return b.(*mmfile.Array)
}

// parkWriter keeps the read-write mapping of a published recycled array,
// with the park mark (which a, if marked, carries already: one mark per
// descriptor), for the next recycle of its file by this Store; as park,
// it leaves a closed when it returns true.
func (s *Store) parkWriter(a *mmfile.Array, marked bool) bool {
	if !s.parking() || !parkable(a) {
		return false
	}
	if f, err := a.File(); err != nil || !marked && parkLock(f) != nil {
		return false
	}
	b := detach(a)
	if b == nil {
		return false
	}
	dropRangeLocks(fileOf(b))
	if !s.parkIn(&s.wparked, b) {
		b.Close()
	}
	return true
}

// parkIn keeps a (the store's own Array) in the list of parked mappings
// *list (parked or wparked), each bounded by ParkFiles and ParkBytes;
// false if it cannot (the store is closed, the file was removed, or this
// Store parks it already): then the caller closes a.
func (s *Store) parkIn(list *[]*parked, a *mmfile.Array) bool {
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
	if s.closed || slices.ContainsFunc(*list, func(x *parked) bool { return x.id == e.id }) {
		s.pmu.Unlock()
		return false
	}
	unlockRef(f) // the park mark stays
	*list = append(*list, e)
	// Drop mappings of files removed since (evicted, dropped from the
	// pool: only this mapping keeps their pages), then the least recently
	// parked while over the bounds.
	var drop []*parked
	keep := (*list)[:0]
	for _, x := range *list {
		if xi, err := fileOf(x.a).Stat(); err != nil || !linked(xi) {
			drop = append(drop, x)
			continue
		}
		keep = append(keep, x)
	}
	*list = keep
	for len(*list) > 0 && (len(*list) > s.opt.ParkFiles || parkedBytes(*list) > s.opt.ParkBytes) {
		drop = append(drop, (*list)[0])
		*list = (*list)[1:]
	}
	kept := slices.Contains(*list, e)
	s.pmu.Unlock()
	for _, x := range drop {
		x.a.Close()
	}
	return kept || slices.Contains(drop, e) // a dropped e is closed already
}

// pruneParked unmaps the parked mappings of files removed since they
// were parked (evicted, dropped from the pool: only the mapping keeps
// their pages): at most ParkFiles fstats per list.
func (s *Store) pruneParked() {
	var drop []*parked
	s.pmu.Lock()
	for _, list := range []*[]*parked{&s.parked, &s.wparked} {
		keep := (*list)[:0]
		for _, x := range *list {
			if xi, err := fileOf(x.a).Stat(); err != nil || !linked(xi) {
				drop = append(drop, x)
				continue
			}
			keep = append(keep, x)
		}
		*list = keep
	}
	s.pmu.Unlock()
	for _, x := range drop {
		x.a.Close()
	}
}

// unparkWriter returns this Store's parked read-write mapping of the file
// id, if it maps total bytes with the header hb; nil otherwise.
func (s *Store) unparkWriter(id fileID, total int64, hb []byte) *mmfile.Array {
	e := s.takeParked(&s.wparked, id)
	if e == nil {
		return nil
	}
	h, err := npy.ReadHeader(bytes.NewReader(hb))
	if err == nil && e.size == total && sameHeader(h, e.a.Header()) {
		return e.a
	}
	e.a.Close()
	return nil
}

// takeParked removes the parked mapping of the file id from *list (s.parked
// or s.wparked) and returns it; nil if there is none.
func (s *Store) takeParked(list *[]*parked, id fileID) *parked {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	i := slices.IndexFunc(*list, func(x *parked) bool { return x.id == id })
	if i < 0 {
		return nil
	}
	e := (*list)[i]
	*list = slices.Delete(*list, i, i+1)
	return e
}

// parkedBytes is the bytes a list of parked mappings maps.
func parkedBytes(list []*parked) (n int64) {
	for _, x := range list {
		n += cost(x.size)
	}
	return n
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
	s.pruneParked()
	e := s.takeParked(&s.parked, id)
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
	return err == nil && h.DataOffset+h.DataSize() == e.size && sameHeader(h, e.a.Header())
}

// sameHeader reports whether two headers describe the same layout.
func sameHeader(h, old *npy.Header) bool {
	return h.DataOffset == old.DataOffset && h.DType.String() == old.DType.String() &&
		h.FortranOrder == old.FortranOrder && slices.Equal(h.Shape, old.Shape)
}

// closeParked unmaps every parked mapping and stops parking.
func (s *Store) closeParked() {
	s.pmu.Lock()
	all := append(s.parked, s.wparked...)
	s.parked, s.wparked, s.closed = nil, nil, true
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
// recycled. The look is taken after Delete, in the background, when the
// file has come to the pool (its verdict kept for this process's later
// Creates), or else at the Create.

// verdict is the outcome of a look at a pooled file's openers.
type verdict struct {
	id     fileID
	size   int64
	wd     int           // the inotify watch for opens of the file, added before the look
	ok     bool          // only parked mappings (set before done is closed)
	done   chan struct{} // closed when the look is over
	opened bool          // the file was opened since the watch (under vmu)
}

// over reports whether the look is over.
func (v *verdict) over() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

// watchFile adds a watch for opens of f's file, before the look at its
// openers; -1 if there is none (then Creates look for themselves).
func (s *Store) watchFile(f *os.File) int {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	if s.vclosed {
		return -1
	}
	if s.ifd < 0 {
		s.ifd = newWatcher()
		if s.ifd < 0 {
			return -1
		}
	}
	return watchOpens(s.ifd, f)
}

// forgetWatch removes a watch that no verdict has (-1: none).
func (s *Store) forgetWatch(wd int) {
	if wd < 0 {
		return
	}
	s.vmu.Lock()
	s.dropSameWatch("", wd)
	unwatch(s.ifd, wd)
	s.vmu.Unlock()
}

// dropSameWatch drops the verdicts, other than the one on keep, that
// share the watch wd: inotify gives a file watched again the same
// watch, so they are verdicts on the same file from an earlier time in
// the pool, stale, and removing the watch with them would blind the new
// one. vmu is held.
func (s *Store) dropSameWatch(keep string, wd int) {
	for k, v := range s.verdicts {
		if k != keep && v.wd == wd {
			delete(s.verdicts, k)
		}
	}
}

// judgeLater has the openers of the file id of size bytes, just moved to
// the pool as dst, looked at in the background; wd watches it for opens
// (watchFile). One goroutine at a time looks, once for all the files
// queued meanwhile.
func (s *Store) judgeLater(dst string, id fileID, size int64, wd int) {
	v := &verdict{id: id, size: size, wd: wd, done: make(chan struct{})}
	s.vmu.Lock()
	defer s.vmu.Unlock()
	if s.vclosed {
		unwatch(s.ifd, wd)
		return
	}
	s.dropSameWatch(dst, wd)
	if old := s.verdicts[dst]; old != nil && old.wd != wd {
		unwatch(s.ifd, old.wd)
	}
	if s.verdicts == nil {
		s.verdicts = map[string]*verdict{}
	}
	s.verdicts[dst] = v
	s.judgeQueue = append(s.judgeQueue, v)
	if !s.judgeBusy {
		s.judgeBusy = true
		s.judging.Add(1)
		go s.judge()
	}
}

func (s *Store) judge() {
	defer s.judging.Done()
	for {
		s.vmu.Lock()
		q := s.judgeQueue
		s.judgeQueue = nil
		if len(q) == 0 {
			s.judgeBusy = false
			s.vmu.Unlock()
			return
		}
		s.vmu.Unlock()
		t0 := time.Now()
		o := scanOpeners(s.dir, s.dev, -1)
		for _, v := range q {
			v.ok = o.onlyParked(v.id, v.size)
			close(v.done)
		}
		// At most half a core: a producer that pools files faster than
		// a look takes gets its verdicts in batches.
		time.Sleep(time.Since(t0))
	}
}

// verdictOf returns the verdict on the pooled file p, nil if none.
func (s *Store) verdictOf(p poolFile) *verdict {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	if v := s.verdicts[p.path]; v != nil && v.id == p.id {
		return v
	}
	return nil
}

// favourable reports whether the look at p's openers is over, found only
// parked mappings, and no one opened the file since (as of the last
// drainOpens).
func (s *Store) favourable(p poolFile) bool {
	v := s.verdictOf(p)
	if v == nil || !v.over() {
		return false
	}
	s.vmu.Lock()
	defer s.vmu.Unlock()
	return v.ok && !v.opened
}

// drainOpens reads the watches' events: a verdict on a file opened since
// its watch no longer holds (the opener was not there when the look
// looked). The store lock is held, so the opens seen are other Stores'
// and other processes' or this Store's own at earlier Creates (which
// only cost a fresh look). Lost events spoil every verdict.
func (s *Store) drainOpens() {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	if s.ifd < 0 || len(s.verdicts) == 0 {
		return
	}
	wds, overflow := readOpens(s.ifd)
	if len(wds) == 0 && !overflow {
		return
	}
	opened := map[int]bool{}
	for _, wd := range wds {
		opened[wd] = true
	}
	for _, v := range s.verdicts {
		if overflow || opened[v.wd] {
			v.opened = true
		}
	}
}

// readyFirst moves, among the pooled files of each size (fits is sorted
// by size), those with a favourable verdict to the front, keeping the
// order otherwise.
func (s *Store) readyFirst(fits []poolFile) {
	ready := s.favourable
	for i := 0; i < len(fits); {
		j := i
		for j < len(fits) && fits[j].size == fits[i].size {
			j++
		}
		run := fits[i:j]
		var a, b []poolFile
		for _, p := range run {
			if ready(p) {
				a = append(a, p)
			} else {
				b = append(b, p)
			}
		}
		copy(run, append(a, b...))
		i = j
	}
}

// onlyParked reports whether the pooled file p, open as f with the
// exclusive lock granted and another opener seen, is held only by parked
// mappings: by a favourable verdict of the look after its Delete, or
// else by one look at /proc per Create (scanned). The store lock is
// held.
func (s *Store) onlyParked(f *os.File, p poolFile, scanned *bool) bool {
	if !s.parking() || !parkLocked(f) {
		return false // a Store that does not park keeps the rule: no other opener
	}
	if s.favourable(p) {
		return true // an unfavourable or spoilt one is looked at again: its blocker may be gone
	}
	if *scanned {
		return false
	}
	*scanned = true
	return scanOpeners(s.dir, s.dev, int(f.Fd())).onlyParked(p.id, p.size)
}

// forgetVerdicts drops the verdicts of files no longer in the pool.
func (s *Store) forgetVerdicts(pool []poolFile) {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	if len(s.verdicts) == 0 {
		return
	}
	in := make(map[string]bool, len(pool))
	for _, p := range pool {
		in[p.path] = true
	}
	for k, v := range s.verdicts {
		if !in[k] {
			unwatch(s.ifd, v.wd)
			delete(s.verdicts, k)
		}
	}
}

// forgetVerdict drops the verdict on the pool file at path.
func (s *Store) forgetVerdict(path string) {
	s.vmu.Lock()
	if v := s.verdicts[path]; v != nil {
		unwatch(s.ifd, v.wd)
		delete(s.verdicts, path)
	}
	s.vmu.Unlock()
}

// stopJudging waits for the look under way and closes the watches; no
// look starts afterwards.
func (s *Store) stopJudging() {
	s.vmu.Lock()
	s.vclosed = true
	s.vmu.Unlock()
	s.judging.Wait()
	s.vmu.Lock()
	if s.ifd >= 0 {
		closeWatcher(s.ifd)
		s.ifd = -1
	}
	s.verdicts = nil
	s.vmu.Unlock()
}
