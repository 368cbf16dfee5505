package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/internal/descr"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/remote"
)

var lsCmd = &command{
	name: "ls",
	args: "[--json] [DIR | s3://BUCKET/PREFIX/]",
	summary: `list the arrays in a folder (default: the shared folder, $ARRFILE_DIR, /dev/shm or the temp dir)
Shows name, dtype, shape, size and age of every .npy, .npy.zst and .npz file,
and the temporary files of producers that have not published yet: "running"
while the producer still has it open, "stale" when it crashed (remove those
with arr gc).`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		asJSON := fs.Bool("json", false, "print a JSON array")
		return func(args []string) int {
			if len(args) > 1 {
				return e.usageError("at most one DIR")
			}
			dir := mmfile.DefaultDir()
			if len(args) == 1 {
				dir = args[0]
			}
			if remote.IsURL(dir) {
				return e.lsRemote(dir, *asJSON)
			}
			if status, ok := e.lsSpecial(dir, *asJSON); ok { // lsstore.go: queues and stores
				return status
			}
			return e.ls(dir, *asJSON)
		}
	},
}

type lsJSON struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	DType    any    `json:"dtype,omitempty"`
	Shape    []int  `json:"shape,omitempty"`
	Fortran  bool   `json:"fortran_order,omitempty"`
	Size     int64  `json:"size"`
	ModTime  string `json:"mtime"`
	AgeSec   int64  `json:"age_seconds"`
	Temp     bool   `json:"temporary"`
	Target   string `json:"target,omitempty"`
	Live     bool   `json:"producer_running,omitempty"`
	Error    string `json:"error,omitempty"`
	Complete bool   `json:"complete"`
	Format   string `json:"format"`
}

// compressedEntries describes the .npy.zst files and .npz archives in dir,
// which mmfile.List does not list, as entries with a format note.
func compressedEntries(dir string) ([]mmfile.Entry, map[string]string) {
	notes := map[string]string{}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, notes
	}
	var out []mmfile.Entry
	for _, de := range des {
		name := de.Name()
		zst, isNpz := strings.HasSuffix(name, ".npy.zst"), strings.HasSuffix(name, ".npz")
		if !de.Type().IsRegular() || (!zst && !isNpz) {
			continue
		}
		en := mmfile.Entry{Name: name, Path: filepath.Join(dir, name)}
		f, fi, err := openRegular(en.Path)
		if err != nil {
			// Gone, replaced by something that is not a file (a FIFO, a
			// symbolic link), or unreadable: only the last is listed.
			if fi, lerr := os.Lstat(en.Path); lerr == nil && fi.Mode().IsRegular() && !errors.Is(err, errNotRegular) {
				en.Size, en.ModTime, en.Err = fi.Size(), fi.ModTime(), err
				out = append(out, en)
			}
			continue
		}
		en.Size, en.ModTime = fi.Size(), fi.ModTime()
		if zst {
			r, err := npyzst.NewReader(f, fi.Size(), zstdseek.WithName(en.Path))
			if err != nil {
				en.Err = err
			} else {
				en.Header = r.Header
				notes[name] = "npy.zst, no seek table"
				if t := r.Zstd().SeekTable(); t != nil {
					notes[name] = fmt.Sprintf("npy.zst, %d frames", len(t.Frames))
				}
				r.Close()
			}
		} else {
			z, err := npz.NewReader(f, fi.Size())
			if err != nil {
				en.Err = err
			} else {
				var keys []string
				for _, m := range z.Members() {
					keys = append(keys, m.Key)
				}
				note := fmt.Sprintf("npz, %d members", len(keys))
				if len(keys) <= 5 {
					note += ": " + strings.Join(keys, ", ")
				}
				notes[name] = note
				z.Close()
			}
		}
		f.Close()
		out = append(out, en)
	}
	return out, notes
}

func (e *env) ls(dir string, asJSON bool) int {
	entries, err := mmfile.List(dir)
	if err != nil {
		e.fail(dir, err)
		return exitError
	}
	more, notes := compressedEntries(dir)
	entries = append(entries, more...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	now := time.Now()
	if asJSON {
		out := []lsJSON{}
		for _, en := range entries {
			j := lsJSON{Name: en.Name, Path: en.Path, Size: en.Size,
				ModTime: en.ModTime.UTC().Format(time.RFC3339), AgeSec: int64(now.Sub(en.ModTime).Seconds()),
				Temp: en.Temp, Target: en.Target, Live: en.Live, Complete: en.Err == nil && !en.Temp,
				Format: fileFormat(en.Name)}
			if en.Header != nil {
				j.DType, j.Shape, j.Fortran = descr.JSON(en.Header.DType), append([]int{}, en.Header.Shape...), en.Header.FortranOrder
			}
			if en.Err != nil {
				j.Error = reason(en.Err)
			}
			out = append(out, j)
		}
		if err := writeJSON(e.stdout, out); err != nil {
			e.fail("", err)
			return exitError
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDTYPE\tSHAPE\tSIZE\tAGE\tNOTE")
	for _, en := range entries {
		dtype, shape := "-", "-"
		if en.Header != nil {
			dtype, shape = en.Header.DType.String(), pyShape(en.Header.Shape)
			if en.Header.FortranOrder {
				shape += " F"
			}
		}
		var note []string
		if en.Temp {
			state := "stale: producer gone"
			if en.Live {
				state = "producer running"
			}
			note = append(note, fmt.Sprintf("temporary for %s (%s)", en.Target, state))
		}
		if n := notes[en.Name]; n != "" {
			note = append(note, n)
		}
		if en.Err != nil && !(en.Temp && en.Header == nil) {
			note = append(note, reasonFor(en.Path, en.Err))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", en.Name, dtype, shape, humanSize(en.Size), age(now.Sub(en.ModTime)), strings.Join(note, "; "))
	}
	tw.Flush()
	return exitOK
}

func fileFormat(name string) string {
	switch {
	case strings.HasSuffix(name, ".npy.zst"):
		return "npy.zst"
	case strings.HasSuffix(name, ".npz"):
		return "npz"
	}
	return "npy"
}

// age writes a duration briefly: 42s, 5m, 3h, 2d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

var rmCmd = &command{
	name: "rm",
	args: "[-v] FILE...",
	summary: `remove arrays: .npy, .npy.zst and .npz files (checked by content) and producer temporaries
Anything else is refused, so a typo cannot delete another kind of file.
A bare name that does not exist in the current folder is looked up in the
shared folder (as arr ls shows it). Processes that have the array mapped
keep their mapping; the space is freed when the last one closes it.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		verbose := fs.Bool("v", false, "print each file removed")
		return func(args []string) int {
			if len(args) == 0 {
				return e.usageError("no FILE given")
			}
			status := exitOK
			for _, name := range args {
				path := resolveShared(name)
				if err := removeArray(path); err != nil {
					e.fail(name, err)
					status = exitError
					continue
				}
				if *verbose {
					fmt.Fprintf(e.stdout, "removed %s\n", path)
				}
			}
			return status
		}
	},
}

// removeArray removes an .npy file or producer temporary (mmfile.Remove),
// or an .npy.zst file or .npz archive that opens as one.
func removeArray(path string) error {
	err := mmfile.Remove(path)
	if !errors.Is(err, mmfile.ErrNotArray) {
		return err
	}
	f, fi, oerr := openRegular(path)
	if oerr != nil {
		return err
	}
	defer f.Close()
	switch kind, _ := sniffFile(f); kind {
	case kindZstd:
		r, oerr := npyzst.NewReader(f, fi.Size())
		if oerr != nil {
			return err
		}
		r.Close()
	case kindZip:
		z, oerr := npz.NewReader(f, fi.Size())
		if oerr != nil || len(z.Members()) == 0 {
			if oerr == nil {
				z.Close()
			}
			return err
		}
		z.Close()
	default:
		return err
	}
	return os.Remove(path)
}

// resolveShared returns name, or its path in the shared folder when name is
// a bare file name that does not exist here but does there.
func resolveShared(name string) string {
	if _, err := os.Lstat(name); err == nil || strings.ContainsRune(name, filepath.Separator) || strings.ContainsRune(name, '/') {
		return name
	}
	if p := filepath.Join(mmfile.DefaultDir(), name); p != name {
		if _, err := os.Lstat(p); err == nil {
			return p
		}
	}
	return name
}

var gcCmd = &command{
	name: "gc",
	args: "[--older-than 1h] [--dry-run] [DIR]",
	summary: `remove temporary files that crashed producers left in a folder (default: the shared folder)
Only temporaries older than --older-than whose producer is gone are removed;
published arrays are never touched.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		older := fs.Duration("older-than", time.Hour, "remove temporaries last modified more than `AGE` ago")
		dry := fs.Bool("dry-run", false, "list what would be removed, remove nothing")
		return func(args []string) int {
			if len(args) > 1 {
				return e.usageError("at most one DIR")
			}
			if *older < 0 {
				return e.usageError("--older-than must not be negative")
			}
			dir := mmfile.DefaultDir()
			if len(args) == 1 {
				dir = args[0]
			}
			return e.gc(dir, *older, *dry)
		}
	},
}

func (e *env) gc(dir string, older time.Duration, dry bool) int {
	if dry {
		entries, err := mmfile.List(dir)
		if err != nil {
			e.fail(dir, err)
			return exitError
		}
		cutoff := time.Now().Add(-older)
		for _, en := range entries {
			if en.Temp && !en.Live && !en.ModTime.After(cutoff) {
				fmt.Fprintf(e.stdout, "would remove %s\n", en.Path)
			}
		}
		return exitOK
	}
	removed, err := mmfile.RemoveStale(dir, older)
	for _, p := range removed {
		fmt.Fprintf(e.stdout, "removed %s\n", p)
	}
	if err == nil {
		return exitOK
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, err := range errs {
		e.fail(dir, err) // errors about one file name it
	}
	return exitError
}
