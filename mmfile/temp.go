package mmfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CreateTemp creates the temporary file under which a producer writes the
// file name (of any kind: .npy, .npy.zst, .npz) before publishing it with
// PublishTemp. It is the same hidden ".BASE.RANDOM.arrtmp" file in name's
// folder that Create and Write use, opened read-write, so List shows it
// (Temp, Target) and RemoveStale removes it if the producer crashes. While
// the returned file is open in a running process it is marked live (Linux:
// an open-file-description lock the kernel drops when the process exits,
// taken before the name appears, and kept until PublishTemp has renamed
// the file or AbandonTemp has removed it), and RemoveStale leaves it alone
// whatever its age.
//
// perm is the permission the file gets, applied as given regardless of
// umask; 0 means 0644. The caller writes the file and then calls
// PublishTemp, or AbandonTemp to give up.
func CreateTemp(name string, perm fs.FileMode) (*os.File, error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	if base == "" || base == "." || base == ".." {
		return nil, wrap("create", name, errors.New("no file name"))
	}
	o := Options{Perm: perm}
	f, err := createTemp(filepath.Clean(dir), base, o.perm())
	if err != nil {
		return nil, wrap("create", name, err)
	}
	return f, nil
}

// PublishTemp makes the temporary file f, created by CreateTemp for name
// and fully written, visible as name: on disk-backed storage it fsyncs f
// (unless opt.NoSync), then closes f, renames it to name (replacing any
// file of that name; readers that have the old file open keep it) and
// fsyncs the folder. On tmpfs there is nothing to sync. f is closed in every
// case; if anything fails before the rename, the temporary file is removed
// and name is untouched. f must be a CreateTemp file for name (same folder
// and base name), else nothing is renamed and the file is left as it is.
func PublishTemp(f *os.File, name string, opt *Options) error {
	o := optionsOf(opt)
	target, ok := isTempName(filepath.Base(f.Name()))
	if !ok || target != filepath.Base(name) || filepath.Clean(filepath.Dir(f.Name())) != filepath.Clean(filepath.Dir(name)) {
		f.Close()
		return wrap("publish", name, fmt.Errorf("%s is not a temporary file for %s (see CreateTemp)", f.Name(), name))
	}
	return wrap("publish", name, finish(f, f.Name(), name, &o))
}

// AbandonTemp closes the temporary file f from CreateTemp and removes it,
// for a producer that gives up. It refuses (and only closes f) if f is not
// an mmfile temporary file.
func AbandonTemp(f *os.File) error {
	tmp := f.Name()
	if _, ok := isTempName(filepath.Base(tmp)); !ok {
		f.Close()
		return wrap("abandon", tmp, fmt.Errorf("%w: not removed", ErrNotArray))
	}
	err, cerr := removeAndClose(f, tmp)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return wrap("abandon", tmp, err)
	}
	if cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		return wrap("abandon", tmp, cerr)
	}
	return nil
}
