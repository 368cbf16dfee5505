package main

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"sync/atomic"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// The worker's side of the gather and update scenarios.

// gatherValue is element i of the gather scenario's result: cheap to
// compute, so the scenario measures the moving of the parts, and exact in
// float64 (NumPy computes the same: np.arange(lo, hi) * 1.5 + 1).
func gatherValue(i int64) float64 { return float64(i)*1.5 + 1 }

// gatherChecksum is the checksum of a gather result of n elements.
func gatherChecksum(n int) uint64 {
	var s uint64
	for i := range int64(n) {
		s += math.Float64bits(gatherValue(i))
	}
	return s
}

// fillGather writes the gather values of elements [lo, hi) into dst,
// which holds elements [lo, hi).
func fillGather(dst []float64, lo int64) {
	for i := range dst {
		dst[i] = gatherValue(lo + int64(i))
	}
}

// faultScenario makes the worker exit on purpose for tests, as run does
// for the handoff transports ("TRANSPORT:exit" in faultEnv).
func faultScenario(transport string) {
	if f := os.Getenv(faultEnv); f == transport+":exit" {
		fmt.Fprintf(os.Stderr, "arrbench worker: exiting on purpose (%s=%s)\n", faultEnv, f)
		os.Exit(3)
	}
}

// scenarioOp serves a gather or update request. after, if not nil, writes
// what follows the reply frame (a part's bytes).
func (w *worker) scenarioOp(req *request) (rep reply, after func(*net.UnixConn) error) {
	faultScenario(req.Transport)
	var err error
	switch req.Op {
	case "gather":
		rep, after, err = w.gather(req)
	case "update":
		err = w.update(req)
	}
	if err != nil {
		return reply{Error: err.Error()}, nil
	}
	return rep, after
}

// gather computes elements [req.Lo, req.Hi) of the result and delivers
// them by req.Transport.
func (w *worker) gather(req *request) (reply, func(*net.UnixConn) error, error) {
	lo, hi := req.Lo, req.Hi
	if lo < 0 || hi < lo {
		return reply{}, nil, fmt.Errorf("bad range [%d, %d)", lo, hi)
	}
	inPlace := func(a *mmfile.Array) error {
		w.release = append(w.release, func() { a.Close() })
		s, err := mmfile.Slice[float64](a)
		if err != nil {
			return err
		}
		if hi > int64(len(s)) {
			return fmt.Errorf("range [%d, %d) beyond the %d elements of %s", lo, hi, len(s), arrayName(a))
		}
		return a.Do(func([]byte) error {
			// This worker's rows only: the kernel maps their pages in one
			// call, the other workers' rows are theirs to map.
			populateWrite(npy.Bytes(s[lo:hi]))
			fillGather(s[lo:hi], lo)
			return nil
		})
	}
	switch req.Transport {
	case "npy-tmpfs-inplace", "npy-disk-inplace":
		a, err := mmfile.Open(req.Path, mmfile.ReadWrite, writerOptions)
		if err != nil {
			return reply{}, nil, err
		}
		return reply{}, nil, inPlace(a)
	case "memfd":
		a, err := mmfile.Receive(w.conn, mmfile.ReadWrite, writerOptions)
		if err != nil {
			return reply{}, nil, err
		}
		return reply{}, nil, inPlace(a)
	}
	part := make([]float64, hi-lo)
	fillGather(part, lo)
	w.keep = part
	switch req.Transport {
	case "pipe-gob":
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(part); err != nil {
			return reply{}, nil, err
		}
		return reply{Payload: int64(buf.Len())}, payload(buf.Bytes()), nil
	case "pipe-raw":
		raw := npy.Bytes(part)
		return reply{Payload: int64(len(raw))}, payload(raw), nil
	case "arrow-tmpfs":
		return reply{}, nil, writeArrowF64(part, req.Path)
	}
	return reply{}, nil, fmt.Errorf("gather: unknown transport %q", req.Transport)
}

// writerOptions map a shared result for a worker that writes its own
// rows: no populating of the whole mapping (which PopulateAhead, the
// default on tmpfs, would do in every worker), the rows fault in as the
// worker writes them.
var writerOptions = &mmfile.Options{Populate: mmfile.PopulateNone}

// lockBlock is the number of counters one range lock covers.
const lockBlock = 64

// update adds 1 to req.Updates random counters of the shared array at
// req.Path by req.Transport's method.
func (w *worker) update(req *request) error {
	a, err := mmfile.Open(req.Path, mmfile.ReadWrite, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	s, err := mmfile.Slice[int64](a)
	if err != nil {
		return err
	}
	c := len(s)
	if c == 0 {
		return fmt.Errorf("%s has no counters", req.Path)
	}
	r := rand.New(rand.NewPCG(req.Seed, 0x7570646174))
	u := int(req.Updates)
	switch req.Transport {
	case "unsynchronized":
		for range u {
			i := r.IntN(c)
			s[i]++ // a plain load and store: updates of other processes in between are lost
		}
	case "atomic":
		for range u {
			atomic.AddInt64(&s[r.IntN(c)], 1)
		}
	case "range-locks":
		size := int64(c) * 8
		for range u {
			i := r.IntN(c)
			off := int64(i/lockBlock) * lockBlock * 8
			n := min(lockBlock*8, size-off)
			if _, err := a.LockRange(off, n, true, true); err != nil {
				return err
			}
			s[i]++
			if err := a.UnlockRange(off, n); err != nil {
				return err
			}
		}
	case "file-lock":
		for range u {
			i := r.IntN(c)
			if _, err := a.Lock(true, true); err != nil {
				return err
			}
			s[i]++
			if err := a.Unlock(); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("update: unknown method %q", req.Transport)
	}
	return nil
}
