// Package atomicfile writes files that appear under their name only when
// complete: the one temp-and-rename of the module, used by every writer
// (mmfile's arrays, the compressed formats, the arr command).
//
// A producer calls Create, writes the returned file and calls Publish,
// which syncs it on disk-backed storage, renames it over the name and syncs
// the folder; or Abandon, which removes it. Readers of the name see the old
// file or the complete new one, never a part.
//
// The temporary file is a hidden ".BASE.RANDOM.arrtmp" file in the name's
// folder, so Target recognises it (and the name it was for) whoever made it.
// While a running process holds it open it is marked live (Linux: an
// open-file-description lock the kernel drops when the process exits, taken
// before the name appears through O_TMPFILE and linkat), and Live reports
// the mark, so housekeeping (mmfile.RemoveStale, arr gc) removes what a
// crashed producer left and never a running producer's file. Elsewhere there
// is no mark and only the file's age tells.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// suffix ends the names of temporary files.
const suffix = ".arrtmp"

// Test hooks: the calls Publish and Rename make, replaced by tests in this
// module to inject faults (as internal/poll's TestHook variables). Nothing
// else changes them.
var (
	TestHookSync    = (*os.File).Sync
	TestHookRename  = os.Rename
	TestHookSyncDir = syncDir
)

// Target reports whether base (a file's base name) is the name of a
// temporary file from Create, and returns the name the file was to be
// published under.
func Target(base string) (target string, ok bool) {
	if !strings.HasPrefix(base, ".") || !strings.HasSuffix(base, suffix) {
		return "", false
	}
	s := strings.TrimSuffix(base[1:], suffix)
	i := strings.LastIndexByte(s, '.')
	if i <= 0 {
		return "", false
	}
	return s[:i], true
}

// Live reports whether a running process holds the temporary file at path
// open (from Create until Publish or Abandon). It is always false on
// systems without the in-use mark (all but Linux), and for files that are
// not temporaries.
func Live(path string) bool { return isLive(path) }

// InMemory reports whether f lives in memory (tmpfs, ramfs, memfd), where
// there is no disk to sync to. It is false where the system cannot tell.
func InMemory(f *os.File) bool { return inMemory(f) }

// Create creates the temporary file for name in name's folder, opened
// read-write, and marks it live. Its permission is perm exactly as given,
// regardless of umask; perm 0 means 0666 masked by the process's umask, as
// for any Unix tool (0644 under the usual umask 022, 0600 under 077). The
// permission carries over to name at Publish. A name that is itself a
// temporary file's (Target reports true for its base name) is refused with
// ErrTempName: housekeeping would remove it once published. On error nothing
// is left on disk; the error is an *fs.PathError for name.
func Create(name string, perm fs.FileMode) (*os.File, error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	dir = filepath.Clean(dir)
	if base == "" || base == "." || base == ".." {
		return nil, &fs.PathError{Op: "create", Path: name, Err: ErrNoName}
	}
	if _, ok := Target(base); ok {
		return nil, &fs.PathError{Op: "create", Path: name, Err: ErrTempName}
	}
	perm &= fs.ModePerm
	if f, ok := createLive(dir, base, perm); ok {
		return f, nil
	}
	f, err := createPortable(dir, base, perm)
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: name, Err: unwrapPath(err)}
	}
	setLive(f)
	return f, nil
}

// tempName returns a random temporary name for base in dir.
func tempName(dir, base string) string {
	return filepath.Join(dir, "."+base+"."+strconv.FormatUint(uint64(rand.Uint32()), 10)+suffix)
}

// createPortable creates a temporary file for base in dir with plain
// open(O_CREATE|O_EXCL): with mode 0666, which the kernel masks with the
// umask, for perm 0; with mode 0600 and then chmod to perm otherwise.
func createPortable(dir, base string, perm fs.FileMode) (*os.File, error) {
	mode := fs.FileMode(0o666)
	if perm != 0 {
		mode = 0o600
	}
	for range 10000 {
		f, err := os.OpenFile(tempName(dir, base), os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if perm != 0 {
			if err := f.Chmod(perm); err != nil {
				f.Close()
				os.Remove(f.Name())
				return nil, err
			}
		}
		return f, nil
	}
	return nil, fmt.Errorf("no free temporary name for %s in %s: %w", base, dir, fs.ErrExist)
}

// Publish makes the temporary file f, from Create for name and fully
// written, visible as name: on disk-backed storage it syncs f (unless
// noSync), renames it to name (replacing any file of that name: readers
// that have the old file open keep it), closes it and syncs the folder. f
// is closed in every case. If anything fails before the rename, the
// temporary file is removed and name is untouched; if only the folder sync
// fails, the file is published and the error returned. A file that is not
// a temporary from Create for name is closed and left as it is
// (ErrNotTemp). Errors are *fs.PathError for name.
func Publish(f *os.File, name string, noSync bool) error {
	if err := check(f, name); err != nil {
		f.Close()
		return err
	}
	durable := !noSync && !inMemory(f)
	if durable {
		if err := TestHookSync(f); err != nil {
			abandon(f)
			return pathErr("publish", name, err)
		}
	}
	if !closeBeforeRename {
		// Renamed while still open, so the live mark lasts until the file
		// has its final name: Live never sees it unmarked.
		if err := TestHookRename(f.Name(), name); err != nil {
			abandon(f)
			return pathErr("publish", name, err)
		}
		if err := f.Close(); err != nil {
			return pathErr("publish", name, err)
		}
	} else {
		tmp := f.Name()
		if err := f.Close(); err != nil {
			os.Remove(tmp)
			return pathErr("publish", name, err)
		}
		if err := TestHookRename(tmp, name); err != nil {
			os.Remove(tmp)
			return pathErr("publish", name, err)
		}
	}
	if durable {
		return pathErr("publish", name, TestHookSyncDir(filepath.Dir(name)))
	}
	return nil
}

// Rename is Publish for a producer that keeps using the file (mmfile's
// mapped arrays): it syncs f on disk-backed storage (unless noSync),
// renames it to name while it stays open, drops its live mark and syncs
// the folder. f stays open and the caller's; its Name still gives the
// temporary name. renamed reports whether name now is f, also when the
// error is from the folder sync after the rename; if not, nothing was
// removed and f is still the temporary, for Abandon or another try. It
// needs a system that renames open files: on Windows it returns
// errors.ErrUnsupported, and the caller closes its mapping and uses
// Publish. Errors are *fs.PathError for name.
func Rename(f *os.File, name string, noSync bool) (renamed bool, err error) {
	if closeBeforeRename {
		return false, pathErr("publish", name, errors.ErrUnsupported)
	}
	if err := check(f, name); err != nil {
		return false, err
	}
	durable := !noSync && !inMemory(f)
	if durable {
		if err := TestHookSync(f); err != nil {
			return false, pathErr("publish", name, err)
		}
	}
	if err := TestHookRename(f.Name(), name); err != nil {
		return false, pathErr("publish", name, err)
	}
	clearLive(f)
	if durable {
		return true, pathErr("publish", name, TestHookSyncDir(filepath.Dir(name)))
	}
	return true, nil
}

// Abandon removes the temporary file f, from Create, and closes it, for a
// producer that gives up. A file that is not a temporary from Create is
// only closed (ErrNotTemp). A file already closed or removed is not an
// error.
func Abandon(f *os.File) error {
	tmp := f.Name()
	if _, ok := Target(filepath.Base(tmp)); !ok {
		f.Close()
		return &fs.PathError{Op: "abandon", Path: tmp, Err: fmt.Errorf("%w: not removed", ErrNotTemp)}
	}
	rerr, cerr := abandon(f)
	if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return pathErr("abandon", tmp, rerr)
	}
	if cerr != nil && !errors.Is(cerr, fs.ErrClosed) {
		return pathErr("abandon", tmp, cerr)
	}
	return nil
}

// abandon removes f's file and closes f: removing first where the system
// allows it, so that the file never exists without its live mark.
func abandon(f *os.File) (rerr, cerr error) {
	if !closeBeforeRename {
		rerr = os.Remove(f.Name())
		return rerr, f.Close()
	}
	cerr = f.Close()
	return os.Remove(f.Name()), cerr
}

// check reports whether f is a temporary file from Create for name.
func check(f *os.File, name string) error {
	if _, ok := Target(filepath.Base(name)); ok {
		return &fs.PathError{Op: "publish", Path: name, Err: ErrTempName}
	}
	target, ok := Target(filepath.Base(f.Name()))
	if !ok || target != filepath.Base(name) || filepath.Clean(filepath.Dir(f.Name())) != filepath.Clean(filepath.Dir(name)) {
		return &fs.PathError{Op: "publish", Path: name, Err: fmt.Errorf("%w: %s is not one for %s", ErrNotTemp, f.Name(), name)}
	}
	return nil
}

// pathErr returns err as an *fs.PathError for name, naming name rather
// than the temporary file an inner *fs.PathError or *os.LinkError names
// (callers know name, not the temporary).
func pathErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: name, Err: unwrapPath(err)}
}

// unwrapPath returns the cause of a top-level *fs.PathError or
// *os.LinkError, and any other error as it is.
func unwrapPath(err error) error {
	switch e := err.(type) {
	case *fs.PathError:
		return e.Err
	case *os.LinkError:
		return e.Err
	}
	return err
}

// Write writes name in one call: Create with perm, fill the temporary file,
// then Publish (syncing on disk-backed storage). If fill fails, the
// temporary file is abandoned, name is untouched and fill's error is
// returned.
func Write(name string, perm fs.FileMode, fill func(*os.File) error) error {
	f, err := Create(name, perm)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		Abandon(f)
		return err
	}
	return Publish(f, name, false)
}
