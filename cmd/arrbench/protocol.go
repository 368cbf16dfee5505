package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The producer and its consumer worker talk over one Unix socket in
// frames: a 4-byte little-endian length and that many bytes of JSON. A
// request may be followed by Payload raw bytes (the copy transports) or by
// the one-byte message of mmfile.Send that carries a file descriptor
// (memfd). Every request gets exactly one reply frame.

// Environment variables of the worker protocol.
const (
	// workerEnv holds the producer's socket address; when set, the
	// arrbench binary runs as a consumer worker instead of a producer.
	workerEnv = "ARRBENCH_WORKER"
	// faultEnv makes the worker misbehave on purpose when it receives a
	// run request for a transport, for the tests of the producer's
	// error handling: "TRANSPORT:exit" exits with status 3 mid-request,
	// "TRANSPORT:hang" stops answering.
	faultEnv = "ARRBENCH_WORKER_FAULT"
)

// maxFrame bounds a control frame; payloads travel outside frames.
const maxFrame = 1 << 20

// request is a producer-to-worker frame.
type request struct {
	Op        string `json:"op"`                  // "run", "prepare", "reset", "release", "gather", "update" or "exit"
	Transport string `json:"transport,omitempty"` // run, prepare: which consumer
	DType     string `json:"dtype,omitempty"`     // run: "<f8" or "<i4"
	N         int64  `json:"n,omitempty"`         // run: number of elements
	Payload   int64  `json:"payload,omitempty"`   // run: raw bytes after the frame; prepare: bytes to allocate
	Path      string `json:"path,omitempty"`      // run: file to open
	URL       string `json:"url,omitempty"`       // run: remote object to fetch into Path
	Populate  string `json:"populate,omitempty"`  // run: how the consumer maps (see populateModes)
	Key       string `json:"key,omitempty"`       // run: the array's key in the store in folder Path (npy-tmpfs-recycled)

	// gather: the elements [Lo, Hi) to compute; update: Updates random
	// increments from the random stream Seed (Transport names the method).
	Lo      int64  `json:"lo,omitempty"`
	Hi      int64  `json:"hi,omitempty"`
	Seed    uint64 `json:"seed,omitempty"`
	Updates int64  `json:"updates,omitempty"`
}

// reply is a worker-to-producer frame.
type reply struct {
	Checksum uint64 `json:"checksum,omitempty"`  // run: sum of every element (see checksumBytes)
	OpenNS   int64  `json:"open_ns,omitempty"`   // run: making the received data usable (decode, map)
	ReadNS   int64  `json:"read_ns,omitempty"`   // run: reading every element
	RSSPeak  int64  `json:"rss_peak,omitempty"`  // run: peak resident set in bytes since the last reset
	AnonPeak int64  `json:"anon_peak,omitempty"` // bigdata-scan: peak anonymous resident memory, sampled
	Error    string `json:"error,omitempty"`     // the request failed; the worker lives on
	Payload  int64  `json:"payload,omitempty"`   // gather: raw bytes that follow this frame

	// Hello, the first frame after connecting.
	PID      int  `json:"pid,omitempty"`
	RSSReset bool `json:"rss_reset,omitempty"` // reset clears the peak RSS counter
}

// encodeFrame returns the frame bytes of v.
func encodeFrame(v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(js) > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes exceeds %d", len(js), maxFrame)
	}
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(js)), uint32(len(js)))
	return append(b, js...), nil
}

// writeFrame writes v as one frame.
func writeFrame(w io.Writer, v any) error {
	b, err := encodeFrame(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// readFrame reads one frame from r into v. A clean end of stream before
// the frame gives io.EOF; a stream that ends inside it gives
// io.ErrUnexpectedEOF.
func readFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	return readFrameBody(r, hdr, v)
}

// readFrameBody reads the JSON of a frame whose length bytes are hdr.
func readFrameBody(r io.Reader, hdr [4]byte, v any) error {
	n := binary.LittleEndian.Uint32(hdr[:])
	if n > maxFrame {
		return fmt.Errorf("frame length %d exceeds %d", n, maxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("bad frame: %w", err)
	}
	return nil
}
