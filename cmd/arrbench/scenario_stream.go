package main

import (
	"fmt"
	"strings"
	"time"
)

// The stream scenario: the producer publishes --stream-count arrays of
// --stream-size in a row to one consumer, which reads each (sums it) and
// releases it before the next: the handoff transports, one array after
// another, without warm-up between them. A round is the whole row; its
// throughput is all arrays' bytes over the round's time, its latency the
// median time of one array.

// runStream measures every selected handoff transport but the in-process
// references and the -cold variants.
func (b *bench) runStream() {
	sc := b.cfg.sc
	k := b.cfg.data[0]
	n := int(sc.streamSize / int64(k.Size))
	b.prog.note(fmt.Sprintf("generating %s data, %s", k.Name, formatSize(sc.streamSize)))
	ds := generate(k, n)
	b.prog.total, b.prog.i = len(b.transports), 0
	for _, t := range b.transports {
		b.prog.next()
		if t.Kind == kindRef || strings.HasSuffix(t.Name, "-cold") {
			continue
		}
		b.results = append(b.results, b.measureStream(t, ds, n, sc.streamCount))
		b.closeRecycleStore()
		if b.clean.interrupted.Load() {
			return
		}
	}
	if b.py != nil {
		b.py.loaded = ""
	}
	b.prog.done()
}

// streamOnce hands one array of the stream to the consumer: for the Go
// transports the consumer first releases the previous array (without the
// collection and memory return of a hand-off run's reset), for Python's
// the Python producer resets as in a hand-off.
func (b *bench) streamOnce(t *transport, ds *dataSet, n int) (measurement, error) {
	if t.Kind != kindGo {
		return b.once(t, ds, n)
	}
	w, err := b.worker()
	if err != nil {
		return measurement{}, err
	}
	if _, err := w.exchange(request{Op: "release"}, nil, b.timeout(0)); err != nil {
		return measurement{}, err
	}
	m, err := t.Run(b, ds, n)
	if err != nil {
		return m, err
	}
	if want := ds.Checksum(n); m.Checksum != want {
		return m, fmt.Errorf("checksum mismatch: the consumer answered %#x, the data sum to %#x", m.Checksum, want)
	}
	return m, nil
}

// measureStream measures one transport: warm-up, then rounds of count
// arrays of n elements.
func (b *bench) measureStream(t *transport, ds *dataSet, n, count int) *result {
	size := int64(n) * int64(ds.Kind.Size)
	r := newResult(t, ds.Kind, size*int64(count), int64(n)*int64(count))
	r.Scenario, r.Workers, r.Frames = scStream, 1, count
	r.Checksum = ds.Checksum(n)
	if t.Unavailable != nil {
		if why := t.Unavailable(b); why != "" {
			r.Skipped = why
			return r
		}
	}
	if avail := memAvailable(); avail > 0 {
		need := t.MemNeed(size) + 2*size
		if need > avail*9/10 {
			r.Skipped = fmt.Sprintf("needs about %s of memory, %s available", formatBytes(need), formatBytes(avail))
			return r
		}
	}
	for i := 0; i < b.cfg.warmup; i++ {
		b.prog.show(t, ds, size, "stream warm-up")
		if _, err := b.once(t, ds, min(n, warmupCap/ds.Kind.Size)); err != nil {
			r.Error = "warm-up: " + err.Error()
			return r
		}
		r.Warmup++
	}
	start := time.Now()
	for done := 0; b.moreRuns(done, time.Since(start)); done++ {
		b.prog.show(t, ds, size, fmt.Sprintf("stream round %d", done+1))
		lat := make([]int64, 0, count)
		var m measurement
		t0 := time.Now()
		for range count {
			x, err := b.streamOnce(t, ds, n)
			if err != nil {
				r.Error = err.Error()
				break
			}
			lat = append(lat, int64(x.Total))
			m.Producer += x.Producer
			m.Fill += x.Fill
			m.Open += x.Open
			m.Read += x.Read
			m.Stored += x.Stored
			m.RSSPeak = max(m.RSSPeak, x.RSSPeak)
		}
		if r.Error != "" {
			break
		}
		m.Total = time.Since(t0) - m.Fill
		m.Latency = time.Duration(median(lat))
		m.Checksum = r.Checksum
		m.finish()
		r.Runs = append(r.Runs, m)
	}
	r.Verified = r.Error == "" && len(r.Runs) > 0
	return r
}
