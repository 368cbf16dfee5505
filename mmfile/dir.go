package mmfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/npy"
)

// envDir is the environment variable that names the default folder for
// shared arrays (see DefaultDir).
const envDir = "ARRFILE_DIR"

// DefaultDir returns the default folder for shared arrays: $ARRFILE_DIR if
// set, else /dev/shm if it exists and this process may create files in it
// (Linux: memory-backed, the fastest way to share), else os.TempDir().
//
// /dev/shm holds its files in memory: arrays there vanish at reboot, count
// against memory, and in containers it is often only 64 MiB (docker run
// --shm-size raises it). Point $ARRFILE_DIR at a disk folder for arrays
// larger than memory or that must survive a reboot.
func DefaultDir() string {
	if d := os.Getenv(envDir); d != "" {
		return d
	}
	if dirWritable("/dev/shm") {
		return "/dev/shm"
	}
	return os.TempDir()
}

// Entry describes one file found by List.
type Entry struct {
	// Name is the file's base name; Path is Name joined to the folder.
	Name, Path string
	// Temp is true for a temporary file of a producer that has not
	// published it: in progress, or left behind by a crash.
	Temp bool
	// Target is, for a temporary file, the name it was to be published
	// under.
	Target string
	// Live is true for a temporary file that a running producer still
	// holds open (Linux; always false elsewhere). RemoveStale skips these.
	Live bool
	// Header is the array's header, nil if it could not be read (see Err).
	Header *npy.Header
	// Size is the file size in bytes; ModTime its modification time.
	Size    int64
	ModTime time.Time
	// Err says why Header is nil: an unreadable or malformed file, or a
	// temporary file whose header is not written yet.
	Err error
}

// List returns the arrays in dir ("" means DefaultDir()), sorted by name:
// every regular file whose name ends in ".npy" or whose content starts with
// the .npy magic, and every mmfile temporary file. Other files are skipped.
// List reads only the headers.
func List(dir string) ([]Entry, error) {
	if dir == "" {
		dir = DefaultDir()
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, wrap("list", dir, err)
	}
	var out []Entry
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		e, ok := inspect(dir, de.Name())
		if ok {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// inspect describes one file; ok is false if it is not an array.
func inspect(dir, name string) (Entry, bool) {
	e := Entry{Name: name, Path: filepath.Join(dir, name)}
	e.Target, e.Temp = atomicfile.Target(name)
	f, fi, err := openRegular(e.Path)
	if err != nil {
		// Gone, not a regular file (a FIFO, a symbolic link), or unreadable:
		// only the last is worth listing.
		fi, lerr := os.Lstat(e.Path)
		if lerr != nil || !fi.Mode().IsRegular() || errors.Is(err, ErrNotArray) {
			return e, false
		}
		e.Size, e.ModTime, e.Err = fi.Size(), fi.ModTime(), err
		return e, e.Temp || strings.HasSuffix(name, ".npy")
	}
	defer f.Close()
	e.Size, e.ModTime = fi.Size(), fi.ModTime()
	magic := make([]byte, len(npy.Magic))
	_, err = io.ReadFull(f, magic)
	isNpy := err == nil && string(magic) == npy.Magic
	if !isNpy && !e.Temp && !strings.HasSuffix(name, ".npy") {
		return e, false
	}
	if e.Temp {
		e.Live = atomicfile.Live(e.Path)
	}
	if !isNpy {
		e.Err = fmt.Errorf("%w: no .npy magic at the start", npy.ErrBadMagic)
		return e, true
	}
	h, err := npy.ReadHeader(io.NewSectionReader(f, 0, e.Size))
	if err != nil {
		e.Err = err
		return e, true
	}
	if need := h.DataOffset + h.DataSize(); e.Size < need {
		e.Err = fmt.Errorf("%w: file has %d bytes, header declares %d", npy.ErrTruncated, e.Size, need)
	}
	e.Header = h
	return e, true
}

// RemoveStale removes the temporary files in dir ("" means DefaultDir())
// that producers left behind: those last modified more than olderThan ago
// and not held open by a running producer (on Linux a running producer's
// temporary file is never removed, whatever its age; elsewhere age is the
// only test, so pick an age longer than any producer takes). Published
// arrays are never touched. It returns the paths it removed; errors for
// single files are joined and do not stop the others.
func RemoveStale(dir string, olderThan time.Duration) ([]string, error) {
	entries, err := List(dir)
	if err != nil {
		return nil, err
	}
	cutoff := time.Now().Add(-olderThan)
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.Temp || e.Live || e.ModTime.After(cutoff) {
			continue
		}
		if atomicfile.Live(e.Path) { // it may have been opened since List
			continue
		}
		if err := os.Remove(e.Path); err != nil {
			if !errors.Is(err, os.ErrNotExist) { // else published or removed meanwhile
				errs = append(errs, wrap("remove", e.Path, err))
			}
			continue
		}
		removed = append(removed, e.Path)
	}
	return removed, errors.Join(errs...)
}

// Remove deletes the array file name: an .npy file (checked by its magic
// bytes, so a mistyped name cannot delete another kind of file) or an mmfile
// temporary file. Processes that have it mapped keep their mapping; the
// memory or disk space is freed when the last of them closes it. Nothing
// cleans up shared arrays automatically: the producer, the last consumer, or
// an operator (arr rm) removes them.
func Remove(name string) error {
	fi, err := os.Lstat(name)
	if err != nil {
		return wrap("remove", name, err)
	}
	if !fi.Mode().IsRegular() {
		return wrap("remove", name, fmt.Errorf("%w: not a regular file", ErrNotArray))
	}
	if _, tmp := atomicfile.Target(filepath.Base(name)); !tmp {
		f, _, err := openRegular(name)
		if err != nil {
			return wrap("remove", name, err)
		}
		magic := make([]byte, len(npy.Magic))
		_, err = io.ReadFull(f, magic)
		f.Close()
		if err != nil || string(magic) != npy.Magic {
			return wrap("remove", name, ErrNotArray)
		}
	}
	return wrap("remove", name, os.Remove(name))
}

// openRegular opens path for reading, never blocking and never following a
// final symbolic link (see openNoBlock), and checks the opened descriptor
// (fstat): anything but a regular file is closed and refused with
// ErrNotArray. A name checked with Lstat can be replaced before it is
// opened, so only the descriptor's own type counts.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%w: not a regular file (%s)", ErrNotArray, fi.Mode().Type())
	}
	return f, fi, nil
}
