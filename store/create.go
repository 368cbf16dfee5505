package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// Writer is an array being created under a key: fill it through Array,
// then Publish (or Abort). Until Publish no reader can see it; if the
// process dies first, its temporary file is left for mmfile.RemoveStale
// (arr gc). A Writer is used by one goroutine at a time.
type Writer struct {
	s         *Store
	key, path string
	a         *mmfile.Array
	recycled  *os.File // the file of a recycled array (a.File(), or not if own), nil for a new one
	own       bool     // a is a parked writer mapping on a descriptor of its own
	tmp       string   // its temporary name
	cost      int64
	done      bool
}

// Array returns the array to fill. Its data are zeros for a new file and
// the old bytes for a recycled one (see Recycled); fill all of it.
func (w *Writer) Array() *mmfile.Array { return w.a }

// Recycled reports whether the array writes into a recycled file.
func (w *Writer) Recycled() bool { return w.recycled != nil }

// Create makes a new array with the dtype, order and shape of h under key,
// mapped read-write for the caller to fill in place, and reserves its
// space in the store: from a recycled file that fits if the pool has one
// no process uses, else a new file, evicting or spilling arrays no process
// holds if the store is full. It fails at once with a *CapacityError if
// the array cannot fit, and with ErrExists if key is published already.
func (s *Store) Create(key string, h *npy.Header) (*Writer, error) {
	path := s.Path(key)
	s.creates.Store(true)
	w, err := s.create(key, path, h)
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: path, Err: unwrapPath(err)}
	}
	return w, nil
}

func (s *Store) create(key, path string, h *npy.Header) (*Writer, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if h == nil || h.DType == nil {
		return nil, fmt.Errorf("%w: header without a dtype", npy.ErrBadDType)
	}
	hb, err := npy.AppendHeader(nil, h)
	if err != nil {
		return nil, err
	}
	hdr, err := npy.ReadHeader(bytes.NewReader(hb))
	if err != nil {
		return nil, err
	}
	total := hdr.DataOffset + hdr.DataSize()
	need := cost(total)
	w := &Writer{s: s, key: key, path: path, cost: need}
	err = s.locked(func() error {
		if s.exists(key) {
			return ErrExists
		}
		if total >= s.opt.RecycleMin && s.opt.PoolBytes > 0 {
			ok, err := s.recycle(w, hb, total)
			if ok || err != nil {
				return err
			}
		}
		used, err := s.makeRoom(need)
		if err != nil {
			return err
		}
		// The ledger counts the file before it exists, so that a crash
		// can only leave it counting too much.
		if err := s.writeUsed(used + need); err != nil {
			return err
		}
		a, err := mmfile.Create(path, h, &mmfile.CreateOptions{NoSync: s.opt.NoSync})
		var se *mmfile.SpaceError
		if errors.As(err, &se) {
			// The filesystem is fuller than the ledger knows (files of
			// others): make room for the shortfall and try once more.
			if used, err = s.makeRoomFS(used, need); err == nil {
				if err = s.writeUsed(used + need); err == nil {
					a, err = mmfile.Create(path, h, &mmfile.CreateOptions{NoSync: s.opt.NoSync})
				}
			}
		}
		if err != nil {
			s.writeUsed(used)
			return err
		}
		w.a = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// exists reports whether key is published, in the folder or spilled.
func (s *Store) exists(key string) bool {
	if _, err := os.Lstat(s.Path(key)); err == nil {
		return true
	}
	if sp := s.spillPath(key); sp != "" {
		if _, err := os.Lstat(sp); err == nil {
			return true
		}
	}
	return false
}

// Publish makes the array visible under its key and closes the Writer (Get
// maps it from then on). It fails with ErrExists, removing the array, if
// another producer published the key meanwhile.
func (w *Writer) Publish() error {
	if w.done {
		return &fs.PathError{Op: "publish", Path: w.path, Err: ErrDone}
	}
	w.done = true
	s := w.s
	if w.recycled != nil && !s.opt.NoSync && !atomicfile.InMemory(w.recycled) {
		if err := w.a.Sync(); err != nil {
			w.abort()
			return &fs.PathError{Op: "publish", Path: w.path, Err: unwrapPath(err)}
		}
	}
	err := s.locked(func() error {
		if s.exists(w.key) {
			return ErrExists
		}
		if w.recycled == nil {
			return w.a.Publish()
		}
		if err := os.Rename(w.tmp, w.path); err != nil {
			return err
		}
		clearLive(w.recycled)
		return nil
	})
	if err != nil {
		w.abort()
		return &fs.PathError{Op: "publish", Path: w.path, Err: unwrapPath(err)}
	}
	if w.own {
		w.recycled.Close()
	}
	if w.recycled != nil && s.parkWriter(w.a, w.own) {
		return nil
	}
	return w.a.Close()
}

// Abort gives the array up: its file is removed and its space returned.
func (w *Writer) Abort() error {
	if w.done {
		return &fs.PathError{Op: "abort", Path: w.path, Err: ErrDone}
	}
	w.done = true
	w.abort()
	return nil
}

// abort removes the array's file and its cost under one store lock: a
// recount between the two (Usage, a create that finds nothing to evict)
// would otherwise see the file gone and the subtraction would count its
// removal twice, leaving the ledger short.
func (w *Writer) abort() {
	w.s.locked(func() error {
		if w.recycled != nil {
			os.Remove(w.tmp)
		}
		if w.own {
			w.recycled.Close()
		}
		w.a.Close() // removes a new array's temporary
		return w.s.writeUsed(w.s.readUsed() - w.cost)
	})
}

func randomName() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recycle makes w's array from a pooled file of at least total bytes that
// no process holds, opens or maps; ok is false if there is none. The store
// lock is held.
func (s *Store) recycle(w *Writer, hb []byte, total int64) (ok bool, err error) {
	pool := s.poolFiles()
	var fits []poolFile
	for _, p := range pool {
		if p.size >= total {
			fits = append(fits, p)
		}
	}
	if len(fits) == 0 {
		return false, nil
	}
	// Smallest first; of equal sizes the most recently pooled, whose
	// pages a parking reader is the likeliest to have mapped still.
	slices.Reverse(fits)
	for i := 1; i < len(fits); i++ {
		for j := i; j > 0 && fits[j].size < fits[j-1].size; j-- {
			fits[j], fits[j-1] = fits[j-1], fits[j]
		}
	}
	s.forgetVerdicts(pool)
	s.drainOpens()
	s.readyFirst(fits)
	// The file left its name before it came to the pool, so whoever has
	// it open or mapped now had it before: a lease (or /proc) sees them.
	// The exclusive lock comes first and stays until the file has its
	// temporary name, so no reference appears while the openers are
	// judged (a parking Store's Get takes one before it reuses a mapping).
	scanned := false
	for _, p := range fits {
		if v := s.verdictOf(p); v != nil && !v.over() {
			// Not while the look is under way (it must not see this
			// descriptor): a producer that outruns the looks gets a new
			// file, and a stream turns over as many pooled files as it
			// takes for the look at the oldest to be over.
			continue
		}
		if ok, err := s.recycleFile(w, hb, total, p, &scanned); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// recycleFile makes w's array from the pooled file p if no process but
// parked mappings holds, opens or maps it.
func (s *Store) recycleFile(w *Writer, hb []byte, total int64, p poolFile, scanned *bool) (ok bool, err error) {
	f, err := os.OpenFile(p.path, os.O_RDWR, 0)
	if err != nil {
		return false, nil
	}
	fi, err := f.Stat()
	if err != nil || idOf(fi) != p.id {
		f.Close()
		return false, nil
	}
	if free, err := tryExclusive(f); err != nil || !free {
		f.Close()
		return false, nil
	}
	if s.usedByOthers(f, fi, true) && !s.onlyParked(f, p, scanned) {
		f.Close()
		return false, nil
	}
	s.forgetVerdict(p.path)
	tmp := filepath.Join(s.dir, "."+w.key+ext+"."+randomName()+".arrtmp")
	if err := setLive(f); err != nil {
		f.Close()
		return false, nil
	}
	if err := os.Rename(p.path, tmp); err != nil {
		f.Close()
		return false, nil
	}
	unlockRef(f)
	fail := func(err error) (bool, error) {
		os.Remove(tmp)
		f.Close()
		s.writeUsed(s.readUsed() - cost(p.size))
		return false, err
	}
	if p.size != total {
		if err := f.Truncate(total); err != nil {
			return fail(err)
		}
	}
	if _, err := f.WriteAt(hb, 0); err != nil {
		return fail(err)
	}
	if a := s.unparkWriter(p.id, total, hb); a != nil {
		// This Store's own mapping from the file's last use: its pages
		// are mapped for writing already.
		w.a, w.recycled, w.own, w.tmp = a, f, true, tmp
		return true, s.writeUsed(s.readUsed() - cost(p.size) + w.cost)
	}
	a, err := mmfile.OpenFile(f, mmfile.ReadWrite, nil)
	if err != nil {
		os.Remove(tmp)
		s.writeUsed(s.readUsed() - cost(p.size))
		return false, err
	}
	w.a, w.recycled, w.tmp = a, f, tmp
	return true, s.writeUsed(s.readUsed() - cost(p.size) + w.cost)
}
