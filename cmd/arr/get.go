package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/internal/descr"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/remote"
	"github.com/schollz/progressbar/v3"
)

var getCmd = &command{
	name: "get",
	args: "[--quiet] [--threads N] URL [DEST]",
	summary: `fetch a remote array into the shared folder (or DEST) as a plain .npy
URL is s3://BUCKET/KEY, http(s)://..., or URL.npz:KEY for one member of a
remote archive. An .npy is fetched in parallel parts straight into the new
file, an .npy.zst decompressed frame by frame in parallel into it; the file
appears under its name only when complete. DEST defaults to the URL's file
name (without .zst; KEY.npy for an archive member) in the shared folder; a
DEST that is a folder gets that name in it. A second get of an object that
has not changed (same ETag) downloads nothing. A progress bar is shown on a
terminal unless --quiet.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		quiet := fs.Bool("quiet", false, "no progress bar")
		fs.IntVar(&e.threads, "threads", 0, "requests in flight at once (`N`, default: 16, or 3 per core if more)")
		return func(args []string) int {
			if len(args) < 1 || len(args) > 2 {
				return e.usageError("want URL [DEST]")
			}
			if !remote.IsURL(args[0]) {
				return e.usageError("%q is not an s3:// or http(s):// URL", args[0])
			}
			dest := ""
			if len(args) == 2 {
				dest = args[1]
			}
			if err := e.get(args[0], dest, *quiet); err != nil {
				e.fail(remote.Redact(args[0]), err)
				return exitError
			}
			return exitOK
		}
	},
}

var putCmd = &command{
	name: "put",
	args: "[--quiet] [--threads N] FILE URL",
	summary: `upload a file to s3://BUCKET/KEY or with an HTTP PUT
To S3, a large file goes as a multipart upload in parallel parts: the object
appears only when complete, and a failed or interrupted upload is aborted so
that no parts remain.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		quiet := fs.Bool("quiet", false, "no progress bar")
		fs.IntVar(&e.threads, "threads", 0, "parts uploaded at once (`N`, default: 16, or 3 per core if more)")
		return func(args []string) int {
			if len(args) != 2 {
				return e.usageError("want FILE URL")
			}
			if !remote.IsURL(args[1]) {
				return e.usageError("%q is not an s3:// or http(s):// URL", args[1])
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			opts := remoteOptions(openOptions{threads: e.threads})
			if st, err := os.Stat(args[0]); err == nil {
				if p := e.progress(*quiet, st.Size()); p != nil {
					defer p.done()
					opts = append(opts, remote.WithProgress(p.add))
				}
			}
			if err := remote.Put(ctx, args[0], args[1], opts...); err != nil {
				e.fail(args[0], err)
				return exitError
			}
			return exitOK
		}
	},
}

// getDest is where arr get puts u: dest, or in the folder dest, or in
// the shared folder.
func getDest(u, key, dest string) string {
	name := remote.Base(u)
	name = strings.TrimSuffix(name, ".zst")
	if key != "" {
		name = key + ".npy"
	}
	if dest == "" {
		return filepath.Join(mmfile.DefaultDir(), name)
	}
	if st, err := os.Stat(dest); err == nil && st.IsDir() {
		return filepath.Join(dest, name)
	}
	return dest
}

func (e *env) get(raw, dest string, quiet bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	u, key := splitRemoteMember(raw)
	dest = getDest(u, key, dest)
	opts := remoteOptions(openOptions{threads: e.threads})
	if key != "" {
		return e.getMember(ctx, u, key, dest, quiet, opts)
	}
	// The progress bar needs the size: it counts the bytes of the parts.
	var p *progress
	if e.isTerminal() && !quiet {
		o, err := remote.Open(ctx, u, opts...)
		if err != nil {
			return err
		}
		p = e.progress(quiet, o.Size())
		o.Close()
	}
	if p != nil {
		opts = append(opts, remote.WithProgress(p.add))
		defer p.done()
	}
	_, err := remote.Fetch(ctx, u, dest, opts...)
	return err
}

// getMember fetches the array member key of the remote archive u: a
// stored member in parallel range requests straight into the new file, a
// deflated one streamed through the inflater, its CRC-32 checked.
func (e *env) getMember(ctx context.Context, u, key, dest string, quiet bool, opts []remote.Option) error {
	obj, err := remote.Open(ctx, u, opts...)
	if err != nil {
		return err
	}
	defer obj.Close()
	label := obj.URL() + ":" + key
	z, err := npz.NewReader(obj, obj.Size())
	if err != nil {
		return about("get", obj.URL(), err)
	}
	m, err := z.Member(key)
	if err != nil {
		return about("get", label, err)
	}
	r, err := z.Open(key)
	if err != nil {
		return about("get", label, err)
	}
	h := r.Header
	a, err := mmfile.Create(dest, h, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	data, err := a.Bytes()
	if err != nil {
		return err
	}
	if !m.Deflated {
		off, err := z.DataOffset(key)
		if err != nil {
			return about("get", label, err)
		}
		if _, err := obj.ReadAtContext(ctx, data, off+h.DataOffset); err != nil && !(err == io.EOF && len(data) == 0) {
			return about("get", label, err)
		}
	} else {
		// io.ReadFull, then the end checks (size, CRC-32) with io.EOF.
		if _, err := io.ReadFull(r, data); err != nil {
			return about("get", label, err)
		}
		var one [1]byte
		if n, err := r.Read(one[:]); n > 0 || (err != nil && err != io.EOF) {
			if err == nil {
				err = fmt.Errorf("%w: member data runs on", npz.ErrBadZip)
			}
			return about("get", label, err)
		}
	}
	if err := a.Publish(); err != nil {
		return err
	}
	return a.Close()
}

// lsRemote lists the arrays under an s3:// prefix with their headers.
func (e *env) lsRemote(u string, asJSON bool) int {
	es, err := remote.List(context.Background(), u, remoteOptions(openOptions{threads: e.threads})...)
	if err != nil {
		e.fail(remote.Redact(u), err)
		return exitError
	}
	if asJSON {
		out := []lsJSON{}
		for _, en := range es {
			j := lsJSON{Name: remote.Base(en.URL), Path: en.URL, Size: en.Size, Complete: en.Err == nil, Format: en.Format}
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
	fmt.Fprintln(tw, "NAME\tDTYPE\tSHAPE\tSIZE\tNOTE")
	status := exitOK
	for _, en := range es {
		dtype, shape, note := "-", "-", ""
		if en.Header != nil {
			dtype, shape = en.Header.DType.String(), pyShape(en.Header.Shape)
			if en.Header.FortranOrder {
				shape += " F"
			}
		}
		if en.Err != nil {
			note = reasonFor(en.URL, en.Err)
			status = exitError
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", strings.TrimPrefix(en.URL, strings.TrimSuffix(remote.Redact(u), remote.Base(u))), dtype, shape, humanSize(en.Size), note)
	}
	tw.Flush()
	return status
}

// isTerminal reports whether standard error is a terminal.
func (e *env) isTerminal() bool {
	f, ok := e.stderr.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress is a progress bar on standard error (a terminal).
type progress struct {
	bar *progressbar.ProgressBar
	w   io.Writer
}

// progress returns a progress bar for total bytes, or nil when quiet or
// standard error is not a terminal.
func (e *env) progress(quiet bool, total int64) *progress {
	if quiet || !e.isTerminal() {
		return nil
	}
	return &progress{w: e.stderr, bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
	)}
}

// add counts n more bytes; it may be called from several goroutines.
func (p *progress) add(n int64) { p.bar.Add64(n) }

func (p *progress) done() {
	p.bar.Finish()
	fmt.Fprintln(p.w)
}
