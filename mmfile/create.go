package mmfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// Hooks for fault-injection tests.
var (
	fallocateFn = fallocate
	syncFile    = (*os.File).Sync // Sync and Appender; atomicfile's hooks for publishing
	freeSpaceFn = freeSpace
	// reserveChunk is the largest fallocate call: long calls on tmpfs are
	// interrupted by signals (Go's preemption among them) and undone, so
	// very large reservations are made in pieces.
	reserveChunk int64 = 256 << 20
)

// minReserveChunk is the smallest piece reserve falls back to on ENOMEM or
// repeated EINTR.
const minReserveChunk = 1 << 20

// newTemp creates the temporary file for name, reserves total bytes (or
// just sets the size with o.Sparse) and writes the header hb at offset 0.
// On error nothing is left on disk.
func newTemp(name string, hb []byte, total int64, o *Options) (f *os.File, err error) {
	dir := filepath.Dir(name)
	if !o.Sparse {
		if free, ok := freeSpaceFn(dir); ok && free < total {
			return nil, &SpaceError{Dir: dir, Need: total, Free: free}
		}
	}
	tmp, err := atomicfile.Create(name, o.perm())
	if err != nil {
		return nil, err
	}
	f = tmp
	defer func() {
		if err != nil {
			atomicfile.Abandon(tmp)
		}
	}()
	// The size is set before the space is reserved, so that a tmpfs mounted
	// with huge=within_size sees the final size and uses huge pages.
	err = f.Truncate(total)
	if err == nil && !o.Sparse {
		err = reserve(f, 0, total)
	}
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			free, ok := freeSpace(dir)
			if !ok {
				free = -1
			}
			return nil, &SpaceError{Dir: dir, Need: total, Free: free, Err: err}
		}
		return nil, err
	}
	if _, err = f.WriteAt(hb, 0); err != nil {
		return nil, err
	}
	return f, nil
}

// reserve allocates the blocks of f in [off, end), extending the file to
// end. It uses fallocate in pieces of at most reserveChunk bytes, retries a
// piece interrupted by a signal (EINTR), halves the piece on ENOMEM or on
// repeated interruptions, and falls back to writing zeros where fallocate is
// not supported (EOPNOTSUPP, ENOSYS, or no fallocate on this system), so the
// blocks are really allocated either way.
func reserve(f *os.File, off, end int64) error {
	chunk := reserveChunk
	intr := 0
	for off < end {
		n := min(chunk, end-off)
		err := fallocateFn(f, off, n)
		switch {
		case err == nil:
			off += n
			intr = 0
		case errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN):
			intr++
			if intr >= 4 && chunk > minReserveChunk {
				chunk, intr = max(chunk/2, minReserveChunk), 0
			}
			if intr > 1000 {
				return fmt.Errorf("fallocate interrupted 1000 times in a row: %w", err)
			}
		case errors.Is(err, syscall.ENOMEM) && n > minReserveChunk:
			chunk = max(n/2, minReserveChunk)
		case errors.Is(err, errNoFallocate) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS):
			return writeZeros(f, off, end)
		default:
			return fmt.Errorf("fallocate: %w", err)
		}
	}
	return nil
}

// errNoFallocate is returned by fallocate on systems without it.
var errNoFallocate = errors.New("fallocate not available")

// writeZeros writes zero bytes to f in [off, end).
func writeZeros(f *os.File, off, end int64) error {
	buf := make([]byte, min(end-off, 1<<20))
	for off < end {
		n := min(int64(len(buf)), end-off)
		w, err := f.WriteAt(buf[:n], off)
		off += int64(w)
		if err != nil {
			return err
		}
	}
	return nil
}
