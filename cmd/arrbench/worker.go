package main

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/arrfile/arrfile/store"
)

// worker is the consumer process: started once by the producer (a re-exec
// of the arrbench binary with workerEnv set), it connects to the
// producer's socket and serves requests until the socket closes.
type worker struct {
	conn *net.UnixConn
	buf  []byte // receive buffer allocated by "prepare" (pipe-raw)
	// release undoes what the last run left open (mappings, files);
	// it runs at the next reset.
	release []func()
	// keep holds the last run's received array until the next reset, so
	// that freeing it is not charged to the measurement.
	keep any
	// stores are the stores opened by npy-tmpfs-recycled, by folder,
	// closed at the next reset.
	stores map[string]*store.Store
}

// consumeFunc receives one array as req describes (its payload, if any,
// from r; anything else from w.conn), makes it usable and reads every
// element. It returns the checksum and the open and read durations;
// whatever must stay open until the next reset goes to w.release.
type consumeFunc func(w *worker, req *request, r io.Reader) (reply, error)

// consumers are the consumer halves of the transports, by name. Files
// named transport_*.go register theirs in init functions.
var consumers = map[string]consumeFunc{}

// workerMain runs the worker on the producer's socket address and returns
// the process exit code.
func workerMain(addr string) int {
	c, err := net.Dial("unix", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "arrbench worker: connect to %s: %v\n", addr, err)
		return 2
	}
	w := &worker{conn: c.(*net.UnixConn)}
	defer w.conn.Close()
	if err := writeFrame(w.conn, reply{PID: os.Getpid(), RSSReset: resetPeakRSS()}); err != nil {
		fmt.Fprintf(os.Stderr, "arrbench worker: hello: %v\n", err)
		return 2
	}
	for {
		var req request
		err := readFrame(w.conn, &req)
		if errors.Is(err, io.EOF) {
			return 0 // the producer is done
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "arrbench worker: read request: %v\n", err)
			return 2
		}
		var rep reply
		var after func(*net.UnixConn) error
		switch req.Op {
		case "exit":
			return 0
		case "reset":
			w.reset()
		case "release":
			w.releaseAll()
		case "prepare":
			w.buf = nil
			runtime.GC()
			w.buf = make([]byte, req.Payload)
			for i := 0; i < len(w.buf); i += 4096 {
				w.buf[i] = 1 // fault every page in now, not during the run
			}
		case "run":
			rep = w.run(&req)
		case "gather", "update":
			rep, after = w.scenarioOp(&req)
		default:
			rep.Error = fmt.Sprintf("unknown request %q", req.Op)
		}
		if err := writeFrame(w.conn, rep); err != nil {
			fmt.Fprintf(os.Stderr, "arrbench worker: write reply: %v\n", err)
			return 2
		}
		if after != nil {
			if err := after(w.conn); err != nil {
				fmt.Fprintf(os.Stderr, "arrbench worker: write reply payload: %v\n", err)
				return 2
			}
		}
	}
}

// reset frees everything the previous runs left, returns the memory to the
// operating system and resets the peak RSS counter, so that the next
// measurement starts from the same state and reports its own peak.
func (w *worker) reset() {
	w.releaseAll()
	w.closeStores()
	w.buf = nil
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
}

// releaseAll undoes what the last run left open (mappings, files) and
// drops the array it received, as a consumer that is done with it does:
// the stream scenario's release between arrays, without the collection
// and peak-RSS reset of reset.
func (w *worker) releaseAll() {
	for i := len(w.release) - 1; i >= 0; i-- {
		w.release[i]()
	}
	w.release, w.keep = nil, nil
}

// run serves one run request: the transport's consumer, then the peak RSS.
func (w *worker) run(req *request) reply {
	if f := os.Getenv(faultEnv); f != "" {
		name, action, _ := strings.Cut(f, ":")
		if name == req.Transport {
			switch action {
			case "exit":
				fmt.Fprintf(os.Stderr, "arrbench worker: exiting on purpose (%s=%s)\n", faultEnv, f)
				os.Exit(3)
			case "hang":
				time.Sleep(math.MaxInt64) // not select{}: the runtime would call that a deadlock
			}
		}
	}
	consume, ok := consumers[req.Transport]
	if !ok {
		drain(w.conn, req.Payload)
		return reply{Error: fmt.Sprintf("worker has no consumer for transport %q", req.Transport)}
	}
	body := io.LimitReader(w.conn, req.Payload)
	rep, err := consume(w, req, body)
	if _, derr := io.Copy(io.Discard, body); derr != nil && err == nil {
		err = fmt.Errorf("reading payload: %w", derr)
	}
	if err != nil {
		return reply{Error: err.Error()}
	}
	rep.RSSPeak = peakRSS()
	return rep
}

// drain discards n payload bytes.
func drain(r io.Reader, n int64) {
	io.CopyN(io.Discard, r, n)
}

func init() {
	consumers["pipe-gob"] = consumeGob
	consumers["pipe-raw"] = consumeRaw
}

// consumeGob receives a gob-encoded slice as a byte message (as
// multiprocessing's Connection.recv receives a pickle), decodes it into a
// new slice and sums it.
func consumeGob(w *worker, req *request, r io.Reader) (reply, error) {
	msg := make([]byte, req.Payload)
	if _, err := io.ReadFull(r, msg); err != nil {
		return reply{}, fmt.Errorf("receiving %d bytes: %w", req.Payload, err)
	}
	t0 := time.Now()
	var n int
	var sum func() uint64
	dec := gob.NewDecoder(bytes.NewReader(msg))
	switch req.DType {
	case "<f8":
		var s []float64
		if err := dec.Decode(&s); err != nil {
			return reply{}, fmt.Errorf("gob decode: %w", err)
		}
		w.keep, n, sum = s, len(s), func() uint64 { return sumFloat64Bits(s) }
	case "<i4":
		var s []int32
		if err := dec.Decode(&s); err != nil {
			return reply{}, fmt.Errorf("gob decode: %w", err)
		}
		w.keep, n, sum = s, len(s), func() uint64 { return sumInt32(s) }
	default:
		return reply{}, fmt.Errorf("pipe-gob: unsupported dtype %q", req.DType)
	}
	t1 := time.Now()
	if int64(n) != req.N {
		return reply{}, fmt.Errorf("gob message holds %d elements, want %d", n, req.N)
	}
	cs := sum()
	return reply{Checksum: cs, OpenNS: int64(t1.Sub(t0)), ReadNS: int64(time.Since(t1))}, nil
}

// consumeRaw receives the array's bytes into the buffer allocated by the
// prepare request and sums them in place.
func consumeRaw(w *worker, req *request, r io.Reader) (reply, error) {
	if int64(len(w.buf)) < req.Payload {
		return reply{}, fmt.Errorf("pipe-raw: receive buffer of %d bytes for a %d-byte array (no prepare request?)", len(w.buf), req.Payload)
	}
	b := w.buf[:req.Payload]
	if _, err := io.ReadFull(r, b); err != nil {
		return reply{}, fmt.Errorf("receiving %d bytes: %w", req.Payload, err)
	}
	t0 := time.Now()
	cs, err := checksumBytes(req.DType, b)
	if err != nil {
		return reply{}, err
	}
	return reply{Checksum: cs, ReadNS: int64(time.Since(t0))}, nil
}
