package store

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// moveBack moves the array of key from the spill folder back into the
// store folder, if Options.MoveBack is set, the array is spilled, no
// process holds, opens or maps the spilled copy, and it fits (evicting
// only what eviction may: arrays no process holds). Get calls it first, so
// that its reference maps the moved-back file. Anything that stops the
// move leaves the array spilled, where Get finds it.
//
// The move is a copy to a temporary in the store folder, published there
// by rename, then the removal of the spilled copy, all under the store
// lock with the spilled copy locked exclusively: a crash leaves the array
// whole in the spill folder (and a temporary that arr gc removes), or
// whole in the store folder and perhaps whole in the spill folder too;
// such a leftover copy is removed by the next moveBack of the key, and by
// Delete.
func (s *Store) moveBack(key string) {
	if !s.opt.MoveBack || s.spill == "" {
		return
	}
	sp := s.spillPath(key)
	f, err := os.OpenFile(sp, os.O_RDWR, 0)
	if err != nil {
		return // not spilled (the usual case) or unreadable: Get decides
	}
	defer f.Close()
	s.locked(func() error {
		fi, err := f.Stat()
		if err != nil || s.usedByOthers(f, fi, true) {
			return nil
		}
		if free, err := tryExclusive(f); err != nil || !free {
			return nil // held: never moved
		}
		if pi, err := os.Stat(sp); err != nil || !os.SameFile(fi, pi) {
			return nil // moved or removed meanwhile
		}
		path := s.Path(key)
		if _, err := os.Lstat(path); err == nil {
			// Both copies after a crash between publish and removal (of
			// a move back or a spill): the same sealed array.
			os.Remove(sp)
			return nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		need := cost(fi.Size())
		used, err := s.makeRoom(need)
		if err != nil {
			return nil // does not fit: stays spilled
		}
		if err := s.writeUsed(used + need); err != nil {
			return nil
		}
		if err := s.copyBack(f, fi, path); err != nil {
			s.writeUsed(s.readUsed() - need)
			return nil
		}
		if moveBackHook != nil {
			moveBackHook("published")
		}
		os.Remove(sp)
		return nil
	})
}

// copyBack copies f (the spilled copy, described by fi) to a temporary in
// the store folder and publishes it as path, keeping its modification
// time (the array's creation).
func (s *Store) copyBack(f *os.File, fi os.FileInfo, path string) error {
	tmp, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	size := fi.Size()
	if moveBackHook != nil {
		if _, err := io.Copy(tmp, io.NewSectionReader(f, 0, size/2)); err != nil {
			atomicfile.Abandon(tmp)
			return err
		}
		moveBackHook("copying")
		if _, err := io.Copy(tmp, io.NewSectionReader(f, size/2, size-size/2)); err != nil {
			atomicfile.Abandon(tmp)
			return err
		}
		moveBackHook("copied")
	} else if _, err := io.Copy(tmp, io.NewSectionReader(f, 0, size)); err != nil {
		atomicfile.Abandon(tmp)
		return err
	}
	if err := os.Chtimes(tmp.Name(), fi.ModTime(), fi.ModTime()); err != nil {
		atomicfile.Abandon(tmp)
		return err
	}
	return atomicfile.Publish(tmp, path, s.opt.NoSync)
}

// moveBackHook, when set, runs at the stages of a move back: "copying"
// (half the temporary written), "copied" (written, not published),
// "published" (in the store folder, the spilled copy not yet removed); for
// the crash tests.
var moveBackHook func(stage string)
