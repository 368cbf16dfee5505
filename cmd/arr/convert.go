package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/mmfile"
)

var convertCmd = &command{
	name: "convert",
	args: "[--level N] [--frame-size BYTES] [--threads N] [--mode 0644] [--force] IN OUT",
	summary: `convert between .npy and .npy.zst (chosen by OUT's extension), streaming; IN may be ARCHIVE.npz:KEY
OUT ending in .npy.zst (or .zst) is compressed as seekable zstd: the .npy
header alone in the first frame, then frames of whole rows or elements, so
that parts can be read without decompressing the rest; stock "zstd -d"
restores the .npy byte for byte. An .npy.zst IN with such an OUT is
recompressed (another level or frame size). OUT ending in .npy gets exactly
the bytes "zstd -d" would give, decompressed in parallel with every checksum
verified. IN is recognised by content; ARCHIVE.npz:KEY takes one member of an .npz
archive (its CRC-32 checked). OUT is written under a temporary name
and renamed into place; an existing OUT is replaced only with --force. OUT
gets the permission --mode, or 0666 less the umask as for any Unix tool.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		level := fs.String("level", "", "compression `LEVEL`: fastest, default, better, best or a zstd number 1-22 (default "+zstd.SpeedDefault.String()+")")
		frame := fs.String("frame-size", "", "decompressed `BYTES` per zstd frame, e.g. 1048576 or 4MiB (default "+humanSize(zstdseek.DefaultFrameSize)+")")
		fs.IntVar(&e.threads, "threads", 0, "frames compressed or decompressed at once (`N`, default: all cores)")
		force := fs.Bool("force", false, "replace OUT if it exists")
		mode := fs.String("mode", "", "permission `MODE` of OUT in octal, e.g. 0600 (default 0666 less the umask)")
		return func(args []string) int {
			if len(args) != 2 {
				return e.usageError("want IN and OUT, got %d arguments", len(args))
			}
			in, out := args[0], args[1]
			toZst := strings.HasSuffix(out, ".zst")
			if !toZst && !strings.HasSuffix(out, ".npy") {
				return e.usageError("OUT %q must end in .npy or .npy.zst", out)
			}
			if e.threads < 0 {
				return e.usageError("--threads must not be negative")
			}
			perm, err := parseMode(*mode)
			if err != nil {
				return e.usageError("--mode %q: %v", *mode, err)
			}
			var ropts []zstdseek.ReaderOption
			var wopts []zstdseek.WriterOption
			if e.threads > 0 {
				ropts = append(ropts, zstdseek.WithConcurrency(e.threads))
				wopts = append(wopts, zstdseek.WithConcurrency(e.threads))
			}
			if *level != "" || *frame != "" {
				if !toZst {
					return e.usageError("--level and --frame-size apply to .npy.zst output only")
				}
			}
			if *level != "" {
				l, err := zstdseek.ParseLevel(*level)
				if err != nil {
					return e.usageError("--level %q: %s", *level, reason(err))
				}
				wopts = append(wopts, zstdseek.WithLevel(l))
			}
			if *frame != "" {
				n, err := parseBytes(*frame)
				if err != nil || n < 1 || n > zstdseek.MaxFrameSize {
					return e.usageError("--frame-size %q: want 1 to %d bytes", *frame, zstdseek.MaxFrameSize)
				}
				wopts = append(wopts, zstdseek.WithFrameSize(int(n)))
			}
			if err := e.convert(in, out, toZst, *force, perm, ropts, wopts); err != nil {
				e.fail(in, err) // errors about OUT name it
				return exitError
			}
			return exitOK
		}
	},
}

func (e *env) convert(in, out string, toZst, force bool, perm fs.FileMode, ropts []zstdseek.ReaderOption, wopts []zstdseek.WriterOption) error {
	if !force {
		if _, err := os.Lstat(out); err == nil {
			return about("convert", out, fmt.Errorf("%w (use --force to replace it)", fs.ErrExist))
		}
	}
	if archive, key, ok := splitMember(in); ok {
		return convertMember(archive, key, out, toZst, perm, wopts)
	}
	fi, err := os.Stat(in)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	if fo, err := os.Stat(out); err == nil && os.SameFile(fi, fo) {
		return about("convert", out, errors.New("IN and OUT are the same file"))
	}
	kind, err := sniff(in)
	if err != nil {
		return err
	}
	if kind == kindZip {
		return errors.New("IN is an .npz archive: name one member as ARCHIVE.npz:KEY")
	}
	if kind != kindZstd {
		if !toZst {
			return errors.New("IN is already an .npy file: nothing to convert")
		}
		// Check IN fully (header, size) before writing anything.
		a, err := mmfile.Open(in, mmfile.ReadOnly, nil)
		if err != nil {
			return err
		}
		a.Close()
		return outputErrors(compressFile(out, in, perm, wopts), out)
	}
	if !toZst {
		// Exactly the bytes "zstd -d" gives, decompressed in parallel.
		return outputErrors(decompressFile(out, in, perm, ropts), out)
	}

	// Recompress (another level or frame size), keeping the header bytes.
	r, err := npyzst.Open(in, ropts...)
	if err != nil {
		return err
	}
	defer r.Close()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := r.WriteTo(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	err = atomicfile.Write(out, perm, func(f *os.File) error {
		_, err := npyzst.Compress(f, pr, wopts...)
		return err
	})
	pr.Close() // stops the decompressor if OUT failed first
	if rerr := <-done; rerr != nil && !errors.Is(rerr, io.ErrClosedPipe) {
		return rerr // IN is damaged: that explains OUT's failure too
	}
	return outputErrors(err, out)
}

// convertMember writes the array member key of an .npz archive as .npy
// (its exact bytes) or .npy.zst, checking the member's CRC-32.
func convertMember(archive, key, out string, toZst bool, perm fs.FileMode, opts []zstdseek.WriterOption) error {
	label := archive + ":" + key
	z, err := npz.OpenReader(archive)
	if err != nil {
		return about("open", label, err)
	}
	defer z.Close()
	m, err := z.Member(key)
	if err != nil {
		return about("open", label, err)
	}
	if !m.IsNpy() {
		return about("open", label, fmt.Errorf("%w: %q", npz.ErrNotNpy, m.Name))
	}
	var inErr error // a failure of the member, not of OUT
	err = atomicfile.Write(out, perm, func(f *os.File) error {
		raw, err := z.OpenRaw(key)
		if err != nil {
			inErr = err
			return err
		}
		src := &errTap{r: raw, err: &inErr}
		if toZst {
			if _, err := npyzst.Compress(f, src, opts...); err != nil {
				return err
			}
		}
		// Copy (or, after compressing, drain) to the end, where the member's
		// size and CRC-32 are checked.
		dst := io.Writer(f)
		if toZst {
			dst = io.Discard
		}
		_, err = io.Copy(dst, src)
		return err
	})
	if inErr != nil {
		return about("read", label, inErr)
	}
	return outputErrors(err, out)
}

// errTap records the first error of the reader it wraps.
type errTap struct {
	r   io.Reader
	err *error
}

func (t *errTap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && *t.err == nil {
		*t.err = err
	}
	return n, err
}

// outputErrors makes the errors of writing out name it (see about),
// except those that report a problem in the input stream: errors about
// out or its temporary file, and failed renames.
func outputErrors(err error, out string) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe) && (pe.Path == out || isTempFor(pe.Path, out)),
		errors.As(err, &le):
		return about("write", out, err)
	}
	return err
}

// isTempFor reports whether path is a temporary file for out.
func isTempFor(path, out string) bool {
	target, ok := atomicfile.Target(filepath.Base(path))
	return ok && target == filepath.Base(out) && filepath.Dir(path) == filepath.Dir(out)
}

// parseBytes reads a byte count: 1048576, 64k, 4M, 4MiB, 1G (binary units).
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	lower := strings.ToLower(t)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(lower, u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad byte count %q", s)
	}
	return n * mult, nil
}

// compressFile is npyzst.CompressFile with the permission of dst.
func compressFile(dst, src string, perm fs.FileMode, opts []zstdseek.WriterOption) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	opts = append([]zstdseek.WriterOption{zstdseek.WithName(src)}, opts...)
	return atomicfile.Write(dst, perm, func(f *os.File) error {
		_, err := npyzst.Compress(f, in, opts...)
		var pe *fs.PathError
		if err != nil && !errors.As(err, &pe) {
			err = &fs.PathError{Op: "read", Path: src, Err: err} // about IN
		}
		return err
	})
}

// decompressFile is npyzst.DecompressFile with the permission of dst.
func decompressFile(dst, src string, perm fs.FileMode, opts []zstdseek.ReaderOption) error {
	r, err := npyzst.Open(src, opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	return atomicfile.Write(dst, perm, func(f *os.File) error {
		_, err := r.WriteTo(f)
		return err
	})
}
