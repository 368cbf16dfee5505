package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrBadLedger means a store's ledger (.arrstore) or SpillFile holds what
// no store wrote. It is the Err of an *fs.PathError naming the file.
var ErrBadLedger = errors.New("store: damaged ledger file")

// The ledger (.arrstore) is 16 bytes: the bytes in use, then the capacity,
// each a little-endian uint64. A new ledger is empty; a store opened
// without a capacity records none (8 bytes).
const ledgerSize = 16

// maxBytes bounds every size the ledger may record: a value past it is not
// a size but damage.
const maxBytes = 1 << 62

// parseLedger parses the first bytes of a ledger (up to ledgerSize). used
// is -1 where the ledger has no valid count (the caller recounts the
// folder: the count is only ever a cache of it); capacity is 0 where none
// is recorded. A recorded capacity that is no valid size is an error (a
// capacity cannot be recounted).
func parseLedger(b []byte) (used, capacity int64, err error) {
	used = -1
	if len(b) >= 8 {
		if v := binary.LittleEndian.Uint64(b); v <= maxBytes {
			used = int64(v)
		}
	}
	if len(b) >= ledgerSize {
		v := binary.LittleEndian.Uint64(b[8:])
		if v > maxBytes {
			return used, 0, fmt.Errorf("%w: it records a capacity of %d bytes; open the store with a capacity to replace it",
				ErrBadLedger, v)
		}
		capacity = int64(v)
	}
	return used, capacity, nil
}

// readLedger reads the ledger's used count and capacity (see parseLedger).
func (s *Store) readLedger() (used, capacity int64, err error) {
	var b [ledgerSize]byte
	n, err := s.ledger.ReadAt(b[:], 0)
	if err != nil && err != io.EOF {
		return -1, 0, err
	}
	return parseLedger(b[:n])
}

// maxSpillFile bounds the spill file: a path of at most PATH_MAX bytes and
// its newline.
const maxSpillFile = 4096 + 1

// parseSpillFile parses the contents of a store's SpillFile: one absolute,
// clean path and a newline.
func parseSpillFile(b []byte) (string, error) {
	line, ok := bytes.CutSuffix(b, []byte("\n"))
	p := string(line)
	switch {
	case !ok:
		return "", fmt.Errorf("%w: no newline at the end", ErrBadLedger)
	case len(line) > maxSpillFile-1:
		return "", fmt.Errorf("%w: longer than a path", ErrBadLedger)
	case strings.ContainsAny(p, "\x00\n"):
		return "", fmt.Errorf("%w: not one line", ErrBadLedger)
	case !filepath.IsAbs(p) || filepath.Clean(p) != p:
		return "", fmt.Errorf("%w: %q is not a clean absolute path", ErrBadLedger, p)
	}
	return p, nil
}

// RecordedSpillDir returns the spill folder the store in dir records in
// its SpillFile (set by the last Open with a SpillDir), or "" if it
// records none. A damaged SpillFile is an *fs.PathError naming it and
// wrapping ErrBadLedger.
func RecordedSpillDir(dir string) (string, error) {
	name := filepath.Join(dir, SpillFile)
	f, err := os.Open(name)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSpillFile+1))
	if err != nil {
		return "", &fs.PathError{Op: "read", Path: name, Err: unwrapPath(err)}
	}
	p, err := parseSpillFile(b)
	if err != nil {
		return "", &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return p, nil
}
