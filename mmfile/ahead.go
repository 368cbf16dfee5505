package mmfile

import (
	"sync"
	"sync/atomic"
)

// aheadChunk is how much PopulateAhead populates per call: small enough
// that a reader right behind it soon finds populated pages, large enough
// that the calls cost nothing next to the work.
const aheadChunk = 16 << 20

// aheadState is the background populator of PopulateAhead.
type aheadState struct {
	stop atomic.Bool
	wg   sync.WaitGroup
}

// startAhead populates a's mapping back to front in a goroutine, for
// writing (a producer filling a new array) or for reading. The goroutine uses the mapping without a
// pin: Close stops it and waits for it (halt) before unmapping.
func (a *Array) startAhead(write bool) {
	m := a.m
	a.ahead.wg.Add(1)
	aheadRunning.Add(1)
	go func() {
		defer a.ahead.wg.Done()
		defer aheadRunning.Add(-1)
		if aheadHook != nil {
			aheadHook()
		}
		// Back to front: a reader going front to back faults its way
		// through the first part while this fills the last, and the two
		// meet without fighting over the same page tables.
		for end := len(m); end > 0 && !a.ahead.stop.Load(); end -= aheadChunk {
			// An error (an old kernel without MADV_POPULATE_*, or a file
			// truncated under us) just ends the populating: readers then
			// fault as usual, and guarded readers get the error themselves.
			c := m[max(0, end-aheadChunk):end]
			if write {
				if populateChunk(c, true) != nil {
					return
				}
				continue
			}
			if guardMapping(c, func() error { touchBack(c); return nil }, func(uintptr, []byte) error { return ErrFault }) != nil {
				aheadFaults.Add(1)
				return
			}
		}
	}()
}

// aheadRunning counts running populators, and aheadHook (when set) runs
// as each starts: for tests.
var (
	aheadRunning atomic.Int64
	aheadHook    func()
)

// aheadFaults counts populators that ended on a fault (for tests).
var aheadFaults atomic.Int64

// halt stops the background populator, if any, and waits for it.
func (s *aheadState) halt() {
	s.stop.Store(true)
	s.wg.Wait()
}

// touchBack reads one byte per 64 KiB of m, from the end: each read fault
// makes the kernel map the 16 pages around it (fault-around), which is
// faster than populating page by page.
func touchBack(m []byte) {
	var s byte
	for i := len(m) - 1; i >= 0; i -= 64 << 10 {
		s += m[i]
	}
	touchSink.Add(uint32(s))
}
