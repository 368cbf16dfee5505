// Package queue hands published arrays from producers to consumers through
// a folder: each array pushed is claimed by exactly one consumer, and an
// array whose consumer dies goes back to the queue by itself.
//
// The queue is a folder of pending files (any published file, usually an
// .npy array), with two hidden folders: .claimed holds the files being
// worked on and .failed those set aside after failing. The protocol is
// plain files, so any language can take part:
//
//   - Push moves (or copies) a published file into the folder.
//   - A consumer claims a pending file by opening it read-write, taking an
//     exclusive open-file-description lock on the whole file without
//     waiting, checking that the name still is that file, and renaming it
//     into .claimed. Only one consumer can hold the lock, so only one
//     claims each file; the consumer keeps the lock (the open file) while
//     it works.
//   - Done removes the claimed file; Return renames it back; Fail moves it
//     into .failed.
//   - A claimed file whose lock is free belongs to a consumer that died
//     (the kernel drops the lock of a killed process): any consumer that
//     finds one takes the lock, renames it back and so returns it.
//
// Consumers wait for pushes with inotify (fsnotify), not by polling the
// folder; claims of consumers that died are looked for when waiting starts
// and every Options.ReclaimInterval while waiting (a process's death makes
// no event fsnotify reports).
//
// A Python consumer needs only os and fcntl; see docs/store.md.
//
// Linux has every feature. Elsewhere there are no open-file-description
// locks: a claim is the rename alone and dead consumers' claims are not
// returned.
package queue

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

// Folder names inside a queue.
const (
	ClaimedDir = ".claimed"
	FailedDir  = ".failed"
	triesDir   = ".tries"
)

// Errors. Those about a file are the Err of an *fs.PathError naming it.
var (
	// ErrEmpty means no file is pending (TryClaim).
	ErrEmpty = errors.New("queue: nothing pending")
	// ErrExists means a file of that name is already pending or claimed.
	ErrExists = errors.New("queue: a file of that name is already in the queue")
	// ErrBadName means a pushed file's name starts with a dot or is empty.
	ErrBadName = errors.New("queue: name must not start with a dot")
	// ErrFinished means Done, Return or Fail was called on a claim
	// finished already.
	ErrFinished = errors.New("queue: claim already finished")
)

// Options tune a Queue; the zero value (or nil) is the default.
type Options struct {
	// ReclaimInterval is how often a waiting Claim looks for claims of
	// consumers that died; 0 means one second.
	ReclaimInterval time.Duration
}

// Queue is a hand-off queue in a folder. Its methods may be called from
// several goroutines; any number of processes may open the same folder.
type Queue struct {
	dir, claimed, failed, tries string
	opt                         Options

	mu      sync.Mutex
	watcher *fsnotify.Watcher
	changed chan struct{} // closed and replaced on every event in the folder
	werr    error

	cmu   sync.Mutex
	names []string // pending names from the last listing, not tried yet
}

// Open opens the queue in folder dir, creating it and its hidden folders.
func Open(dir string, opt *Options) (*Queue, error) {
	q := &Queue{dir: filepath.Clean(dir)}
	if opt != nil {
		q.opt = *opt
	}
	if q.opt.ReclaimInterval <= 0 {
		q.opt.ReclaimInterval = time.Second
	}
	q.claimed = filepath.Join(q.dir, ClaimedDir)
	q.failed = filepath.Join(q.dir, FailedDir)
	q.tries = filepath.Join(q.dir, triesDir)
	for _, d := range []string{q.dir, q.claimed, q.failed, q.tries} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, &fs.PathError{Op: "open", Path: dir, Err: unwrapPath(err)}
		}
	}
	return q, nil
}

// IsQueue reports whether dir is a queue folder (it has a .claimed
// folder).
func IsQueue(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, ClaimedDir))
	return err == nil && fi.IsDir()
}

// Dir returns the queue's folder.
func (q *Queue) Dir() string { return q.dir }

// Close stops the queue's watcher, if a Claim started one. Claims stay
// valid.
func (q *Queue) Close() error {
	q.mu.Lock()
	w := q.watcher
	q.watcher = nil
	q.mu.Unlock()
	if w == nil {
		return nil
	}
	return w.Close()
}

// Push puts the published file at path into the queue under its base
// name and returns its path there. The file is moved (a hard link then an
// unlink, so a crash between them leaves it in both places, never in
// neither), or copied when copyFile is set or path is on another
// filesystem (through an atomicfile temporary, so a partial copy is never
// pending). A name already pending or claimed is refused (ErrExists).
func (q *Queue) Push(path string, copyFile bool) (string, error) {
	name := filepath.Base(path)
	dst := filepath.Join(q.dir, name)
	if name == "" || strings.HasPrefix(name, ".") {
		return "", &fs.PathError{Op: "push", Path: path, Err: ErrBadName}
	}
	if _, err := os.Lstat(filepath.Join(q.claimed, name)); err == nil {
		return "", &fs.PathError{Op: "push", Path: path, Err: ErrExists}
	}
	if !copyFile {
		err := os.Link(path, dst)
		if err == nil {
			if err := os.Remove(path); err != nil {
				return dst, &fs.PathError{Op: "push", Path: path, Err: unwrapPath(err)}
			}
			return dst, nil
		}
		if errors.Is(err, fs.ErrExist) {
			return "", &fs.PathError{Op: "push", Path: path, Err: ErrExists}
		}
		if !isCrossDevice(err) {
			return "", &fs.PathError{Op: "push", Path: path, Err: unwrapPath(err)}
		}
	}
	if err := copyInto(path, dst); err != nil {
		return "", err
	}
	if !copyFile {
		if err := os.Remove(path); err != nil {
			return dst, &fs.PathError{Op: "push", Path: path, Err: unwrapPath(err)}
		}
	}
	return dst, nil
}

// copyInto copies src to dst through a temporary, refusing an existing dst.
func copyInto(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return &fs.PathError{Op: "push", Path: src, Err: unwrapPath(err)}
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return &fs.PathError{Op: "push", Path: src, Err: unwrapPath(err)}
	}
	tmp, err := atomicfile.Create(dst, fi.Mode().Perm())
	if err != nil {
		return &fs.PathError{Op: "push", Path: src, Err: unwrapPath(err)}
	}
	if _, err := io.Copy(tmp, in); err != nil {
		atomicfile.Abandon(tmp)
		return &fs.PathError{Op: "push", Path: src, Err: unwrapPath(err)}
	}
	if _, err := os.Lstat(dst); err == nil {
		atomicfile.Abandon(tmp)
		return &fs.PathError{Op: "push", Path: src, Err: ErrExists}
	}
	if err := atomicfile.Publish(tmp, dst, true); err != nil {
		return &fs.PathError{Op: "push", Path: src, Err: unwrapPath(err)}
	}
	return nil
}

// Claim is one claimed file. Its consumer works on Path (map it with
// mmfile.Open, pass it to a command) and then calls Done, Return or Fail.
// The claim lasts while the process keeps it (its open file holds the
// lock); if the process dies, the file returns to the queue.
type Claim struct {
	q        *Queue
	name     string
	f        *os.File
	finished bool
}

// Name returns the file's name in the queue; Path its path while claimed.
func (c *Claim) Name() string { return c.name }
func (c *Claim) Path() string { return filepath.Join(c.q.claimed, c.name) }

// Tries returns how many times the file was returned with Return(true)
// before this claim.
func (c *Claim) Tries() int {
	b, err := os.ReadFile(filepath.Join(c.q.tries, c.name))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (c *Claim) finish(op string, fn func() error) error {
	if c.finished {
		return &fs.PathError{Op: op, Path: c.Path(), Err: ErrFinished}
	}
	c.finished = true
	err := fn()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: op, Path: c.Path(), Err: unwrapPath(err)}
	}
	return nil
}

// Done removes the claimed file: the work is done.
func (c *Claim) Done() error {
	return c.finish("done", func() error {
		if hookDone != nil {
			hookDone(c.Path())
		}
		err := os.Remove(c.Path())
		os.Remove(filepath.Join(c.q.tries, c.name))
		return err
	})
}

// Return puts the file back in the queue for another consumer. With
// failed, the try is counted (see Tries).
func (c *Claim) Return(failed bool) error {
	return c.finish("return", func() error {
		if failed {
			tp := filepath.Join(c.q.tries, c.name)
			if err := writeSmall(tp, strconv.Itoa(c.Tries()+1)); err != nil {
				return err
			}
		}
		if err := os.Rename(c.Path(), filepath.Join(c.q.dir, c.name)); err != nil {
			return err
		}
		c.q.retry(c.name)
		return nil
	})
}

// retry puts a name this Queue returned first in its listing, so that it
// is tried again before the rest of the backlog.
func (q *Queue) retry(name string) {
	q.cmu.Lock()
	defer q.cmu.Unlock()
	q.names = append([]string{name}, q.names...)
}

// Fail moves the file aside into the queue's .failed folder.
func (c *Claim) Fail() error {
	return c.finish("fail", func() error {
		os.Remove(filepath.Join(c.q.tries, c.name))
		return os.Rename(c.Path(), filepath.Join(c.q.failed, c.name))
	})
}

func writeSmall(path, s string) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		atomicfile.Abandon(f)
		return err
	}
	return atomicfile.Publish(f, path, true)
}

// hookDone, hookClaimed: test hooks run before Done removes the file and
// after a claim's rename (for the crash tests).
var hookDone, hookClaimed func(path string)

// pending returns the names of the pending files in name order.
func (q *Queue) pending() ([]string, error) {
	des, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, &fs.PathError{Op: "claim", Path: q.dir, Err: unwrapPath(err)}
	}
	var names []string
	for _, de := range des {
		if n := de.Name(); !strings.HasPrefix(n, ".") && de.Type().IsRegular() {
			names = append(names, n)
		}
	}
	return names, nil
}

// TryClaim claims a pending file without waiting, or returns ErrEmpty.
// Files are taken in name order (name them by sequence for FIFO).
func (q *Queue) TryClaim() (*Claim, error) {
	listed := false
	for {
		name, ok := q.nextName()
		if !ok {
			if listed {
				return nil, ErrEmpty
			}
			names, err := q.pending()
			if err != nil {
				return nil, err
			}
			listed = true
			q.cmu.Lock()
			q.names = names
			q.cmu.Unlock()
			continue
		}
		if c := q.claimName(name); c != nil {
			return c, nil
		}
	}
}

// nextName takes the first name of the last listing of the folder. Names
// others claimed meanwhile fail at once in claimName; the folder is listed
// again only when the listing is used up, so a backlog of n files costs
// one listing, not n.
func (q *Queue) nextName() (string, bool) {
	q.cmu.Lock()
	defer q.cmu.Unlock()
	if len(q.names) == 0 {
		return "", false
	}
	name := q.names[0]
	q.names = q.names[1:]
	return name, true
}

// claimName tries to claim the pending file name.
func (q *Queue) claimName(name string) *Claim {
	p := filepath.Join(q.dir, name)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	if ok, err := lockFile(f); err != nil || !ok {
		f.Close()
		return nil
	}
	fi, err1 := f.Stat()
	pi, err2 := os.Stat(p)
	if err1 != nil || err2 != nil || !os.SameFile(fi, pi) {
		f.Close()
		return nil
	}
	if err := os.Rename(p, filepath.Join(q.claimed, name)); err != nil {
		f.Close()
		return nil
	}
	c := &Claim{q: q, name: name, f: f}
	if hookClaimed != nil {
		hookClaimed(c.Path())
	}
	return c
}

// Reclaim returns to the queue every claimed file whose consumer died, and
// returns how many it returned.
func (q *Queue) Reclaim() (int, error) {
	des, err := os.ReadDir(q.claimed)
	if err != nil {
		return 0, &fs.PathError{Op: "reclaim", Path: q.claimed, Err: unwrapPath(err)}
	}
	n := 0
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() {
			continue
		}
		if _, tmp := atomicfile.Target(name); tmp {
			continue
		}
		if q.reclaimName(name) {
			n++
		}
	}
	return n, nil
}

func (q *Queue) reclaimName(name string) bool {
	if !haveLocks {
		return false
	}
	p := filepath.Join(q.claimed, name)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if ok, err := lockFile(f); err != nil || !ok {
		return false // its consumer is alive
	}
	fi, err1 := f.Stat()
	pi, err2 := os.Stat(p)
	if err1 != nil || err2 != nil || !os.SameFile(fi, pi) {
		return false
	}
	if os.Rename(p, filepath.Join(q.dir, name)) != nil {
		return false
	}
	q.retry(name)
	return true
}

// Claim claims a pending file, waiting for one to be pushed (or returned)
// until ctx is done.
func (q *Queue) Claim(ctx context.Context) (*Claim, error) {
	for {
		ch, err := q.watch()
		if err != nil {
			return nil, err
		}
		q.Reclaim()
		c, err := q.TryClaim()
		if !errors.Is(err, ErrEmpty) {
			return c, err
		}
		t := time.NewTimer(q.opt.ReclaimInterval)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		t.Stop()
	}
}

// watch starts the watcher on first use and returns the channel the next
// event in the folder closes.
func (q *Queue) watch() (<-chan struct{}, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.werr != nil {
		return nil, q.werr
	}
	if q.watcher == nil {
		w, err := fsnotify.NewWatcher()
		if err == nil {
			err = w.Add(q.dir)
			if err != nil {
				w.Close()
			}
		}
		if err != nil {
			return nil, &fs.PathError{Op: "watch", Path: q.dir, Err: err}
		}
		q.watcher = w
		q.changed = make(chan struct{})
		go q.relay(w)
	}
	return q.changed, nil
}

// relay wakes the waiting Claims on every event of w.
func (q *Queue) relay(w *fsnotify.Watcher) {
	for {
		select {
		case _, ok := <-w.Events:
			if !ok {
				q.wake()
				return
			}
		case _, ok := <-w.Errors:
			if !ok {
				q.wake()
				return
			}
		}
		q.wake()
	}
}

func (q *Queue) wake() {
	q.mu.Lock()
	defer q.mu.Unlock()
	close(q.changed)
	q.changed = make(chan struct{})
}

// Status is what a queue holds.
type Status struct {
	Pending []string
	Claimed []ClaimInfo
	Failed  []string
}

// ClaimInfo is one claimed file and the processes that have it open
// (Linux, from /proc/PID/fd; empty for a consumer that died and whose
// file is not returned yet).
type ClaimInfo struct {
	Name string
	Pids []int
}

// Status lists the queue's pending, claimed and failed files.
func (q *Queue) Status() (Status, error) {
	var st Status
	var err error
	if st.Pending, err = q.pending(); err != nil {
		return st, err
	}
	des, err := os.ReadDir(q.claimed)
	if err != nil {
		return st, &fs.PathError{Op: "status", Path: q.claimed, Err: unwrapPath(err)}
	}
	holders := openers(q.claimed)
	for _, de := range des {
		if de.Type().IsRegular() {
			ci := ClaimInfo{Name: de.Name()}
			if fi, err := de.Info(); err == nil {
				ci.Pids = holders[idOf(fi)]
			}
			st.Claimed = append(st.Claimed, ci)
		}
	}
	des, err = os.ReadDir(q.failed)
	if err != nil {
		return st, &fs.PathError{Op: "status", Path: q.failed, Err: unwrapPath(err)}
	}
	for _, de := range des {
		if de.Type().IsRegular() {
			st.Failed = append(st.Failed, de.Name())
		}
	}
	sort.Strings(st.Failed)
	return st, nil
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
