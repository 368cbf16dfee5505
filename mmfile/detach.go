package mmfile

import "github.com/arrfile/arrfile/internal/mmhook"

func init() {
	mmhook.Detach = func(x any) (any, bool) {
		a, ok := x.(*Array)
		if !ok || a == nil {
			return nil, false
		}
		b := a.detach()
		return b, b != nil
	}
}

// detach moves a's mapping and file into a new Array and closes a
// without unmapping (see mmhook.Detach); nil if a is closed, pinned,
// flock-locked or an unpublished created array.
func (a *Array) detach() *Array {
	a.mu.Lock()
	if a.closed || a.pins > 0 || a.flocked || a.tmp {
		a.mu.Unlock()
		return nil
	}
	// The populator uses the mapping without a pin: stop it first. It
	// cannot be started again (only Create and Open start it).
	a.mu.Unlock()
	a.ahead.halt()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.pins > 0 || a.flocked || a.tmp {
		return nil
	}
	b := &Array{
		path: a.path, f: a.f, m: a.m, data: a.data, hdr: a.hdr, mode: a.mode,
		anon: a.anon, noSync: a.noSync, section: a.section, skew: a.skew,
	}
	a.closed, a.released = true, true
	a.f, a.m, a.data = nil, nil, nil
	return b
}
