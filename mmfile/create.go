package mmfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// tempSuffix ends the names of the temporary files that Create and the
// Write functions make; List and RemoveStale recognise them by it.
const tempSuffix = ".arrtmp"

// isTempName reports whether base is the name of an mmfile temporary file,
// and returns the name it was to be published under.
func isTempName(base string) (target string, ok bool) {
	if !strings.HasPrefix(base, ".") || !strings.HasSuffix(base, tempSuffix) {
		return "", false
	}
	s := strings.TrimSuffix(base[1:], tempSuffix)
	i := strings.LastIndexByte(s, '.')
	if i <= 0 {
		return "", false
	}
	return s[:i], true
}

// Hooks for fault-injection tests.
var (
	fallocateFn = fallocate
	syncFile    = func(f *os.File) error { return f.Sync() }
	renameFile  = os.Rename
	syncDirFn   = syncDir
	freeSpaceFn = freeSpace
	// reserveChunk is the largest fallocate call: long calls on tmpfs are
	// interrupted by signals (Go's preemption among them) and undone, so
	// very large reservations are made in pieces.
	reserveChunk int64 = 256 << 20
)

// createTemp creates a temporary file for base in dir with permission
// perm (applied regardless of umask) and marks it live: on Linux before its
// name appears (createLiveTemp), elsewhere just after. On error nothing is
// left on disk.
func createTemp(dir, base string, perm fs.FileMode) (*os.File, error) {
	if f, ok := createLiveTemp(dir, base, perm); ok {
		return f, nil
	}
	f, err := os.CreateTemp(dir, "."+base+".*"+tempSuffix)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	setLive(f)
	return f, nil
}

// minReserveChunk is the smallest piece reserve falls back to on ENOMEM or
// repeated EINTR.
const minReserveChunk = 1 << 20

// newTemp creates the temporary file for name, reserves total bytes (or
// just sets the size with o.Sparse) and writes the header hb at offset 0.
// On error nothing is left on disk.
func newTemp(name string, hb []byte, total int64, o *Options) (f *os.File, tmp string, err error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	dir = filepath.Clean(dir)
	if base == "" || base == "." || base == ".." {
		return nil, "", errors.New("no file name")
	}
	if !o.Sparse {
		if free, ok := freeSpaceFn(dir); ok && free < total {
			return nil, "", &SpaceError{Dir: dir, Need: total, Free: free}
		}
	}
	file, err := createTemp(dir, base, o.perm())
	if err != nil {
		return nil, "", err
	}
	f, tmp = file, file.Name()
	defer func() {
		if err != nil {
			removeAndClose(file, file.Name())
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
			return nil, "", &SpaceError{Dir: dir, Need: total, Free: free, Err: err}
		}
		return nil, "", err
	}
	if _, err = f.WriteAt(hb, 0); err != nil {
		return nil, "", err
	}
	return f, tmp, nil
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

// finish makes the fully written temporary file tmp visible as name: it
// fsyncs f on disk-backed storage (unless o.NoSync), renames tmp to name and
// closes f (closes first where open files cannot be renamed) and fsyncs the
// folder. f is closed in every case; on error before the rename tmp is
// removed.
func finish(f *os.File, tmp, name string, o *Options) error {
	durable := !o.NoSync && !isMemoryFS(f)
	if durable {
		if err := syncFile(f); err != nil {
			removeAndClose(f, tmp)
			return err
		}
	}
	if !closeBeforeRename {
		// Renamed while still open, so the in-use mark lasts until the
		// file has its final name: RemoveStale never sees it unmarked.
		if err := renameFile(tmp, name); err != nil {
			os.Remove(tmp)
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	} else {
		if err := f.Close(); err != nil {
			os.Remove(tmp)
			return err
		}
		if err := renameFile(tmp, name); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if durable {
		return syncDirFn(filepath.Dir(name))
	}
	return nil
}

// removeAndClose removes the temporary file path and closes f, its open
// file: removing first where the system allows it, so that the file never
// exists without its in-use mark.
func removeAndClose(f *os.File, path string) (rerr, cerr error) {
	if !closeBeforeRename {
		rerr = os.Remove(path)
		return rerr, f.Close()
	}
	cerr = f.Close()
	return os.Remove(path), cerr
}
