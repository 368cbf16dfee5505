// Command arr inspects, checks, prints, converts and manages the array files
// that arrfile processes share: NumPy .npy files, their seekable zstd form
// .npy.zst, NumPy .npz archives, and the shared-memory folder they usually
// live in.
//
// Usage:
//
//	arr info [--json] FILE...
//	arr checksum FILE...
//	arr show [--limit N] [--edgeitems N] [--linewidth N] [--index I] FILE...
//	arr create --dtype DTYPE --shape N,M [--fortran] [--sparse] [--mode 0644] [--force] FILE
//	arr convert [--level N] [--frame-size BYTES] [--threads N] [--mode 0644] [--force] IN OUT
//	arr verify [--threads N] FILE...
//	arr ls [--json] [DIR]
//	arr rm [-v] FILE...
//	arr gc [--older-than 1h] [--dry-run] [DIR]
//	arr push [--copy] QUEUE FILE...
//	arr work [--jobs N] [--exit-when-empty] [--retries 3] QUEUE -- CMD [ARG...]
//	arr get [--quiet] [--threads N] URL [DEST]
//	arr put [--quiet] [--threads N] FILE URL
//
// FILE may be an .npy, .npy.zst or .npz file (every array member, each
// labelled ARCHIVE.npz:KEY), ARCHIVE.npz:KEY for one member, or "-" for an
// .npy stream on standard input (info, checksum, show). FILE may also be a
// URL, s3://BUCKET/KEY or http(s)://..., read by range requests (see
// docs/remote.md); arr ls lists s3://BUCKET/PREFIX/. Errors are
// reported one per line as "arr: FILE: reason" on standard error with exit
// status 1; a malformed command line exits with status 2 and the usage.
// Run "arr help" or "arr COMMAND -h" for details.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// stdin is what FILE "-" reads; tests replace it.
var stdin io.Reader = os.Stdin

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // some file could not be processed
	exitUsage = 2 // the command line is malformed
)

// command is one subcommand of arr.
type command struct {
	name    string
	args    string // argument synopsis for the usage line
	summary string
	// setup declares the command's flags and returns the function that runs
	// it with the positional arguments.
	setup func(fs *flag.FlagSet, env *env) func(args []string) int
}

var commands []*command

func init() {
	commands = []*command{
		infoCmd, checksumCmd, showCmd, createCmd, convertCmd, verifyCmd, lsCmd, rmCmd, gcCmd,
		pushCmd, workCmd,
		getCmd, putCmd,
	}
}

// env carries the outputs of one run and the command being run.
type env struct {
	stdout, stderr io.Writer
	cmd            *command
	fs             *flag.FlagSet
	threads        int // decompression concurrency, 0 for all cores
}

// fail reports an error as "arr: FILE: reason": FILE is the Path of the
// *fs.PathError in err (the package that failed names the file; this
// command names archive members and the outputs of convert the same way,
// see about), else label; "arr: reason" if there is neither.
func (e *env) fail(label string, err error) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		label, err = pe.Path, pe.Err
	}
	if label == "" {
		fmt.Fprintf(e.stderr, "arr: %s\n", reason(err))
		return
	}
	fmt.Fprintf(e.stderr, "arr: %s: %s\n", label, reasonFor(label, err))
}

// about returns err as an error about the file label, for fail: an
// *fs.PathError for label, unless it already is one. An *fs.PathError
// about another file (a temporary file, an archive of which label is a
// member) gives its cause.
func about(op, label string, err error) error {
	var pe *fs.PathError
	if err == nil || errors.As(err, &pe) && pe.Path == label {
		return err
	}
	if e, ok := err.(*fs.PathError); ok {
		err = e.Err
	}
	return &fs.PathError{Op: op, Path: label, Err: err}
}

// pkgPrefixes are the package names that start this module's messages;
// the "arr: " of the error line replaces them.
var pkgPrefixes = []string{"npy: ", "mmfile: ", "codec: ", "zstdseek: ", "npyzst: ", "npz: ", "atomicfile: ", "store: ", "queue: ", "remote: "}

// reason returns the message of err (the cause of an *fs.PathError)
// without the package prefix that "arr: " replaces.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	msg := err.Error()
	for _, p := range pkgPrefixes {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// reasonFor is reason without a leading "LABEL: " (for an archive member
// ARCHIVE.npz:KEY, also "ARCHIVE.npz: ") that messages naming their file as
// text repeat.
func reasonFor(label string, err error) string {
	msg := reason(err)
	names := []string{label}
	if i := strings.LastIndex(label, ".npz:"); i >= 0 {
		names = append(names, label[:i+4])
	}
	for {
		before := msg
		for _, n := range names {
			msg = strings.TrimPrefix(msg, n+": ")
		}
		for _, p := range pkgPrefixes {
			msg = strings.TrimPrefix(msg, p)
		}
		if msg == before {
			return msg
		}
	}
}

// usageError reports a malformed command line and prints the usage.
func (e *env) usageError(format string, a ...any) int {
	fmt.Fprintf(e.stderr, "arr %s: %s\n", e.cmd.name, fmt.Sprintf(format, a...))
	e.printUsage(e.stderr)
	return exitUsage
}

func (e *env) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: arr %s %s\n\n%s\n", e.cmd.name, e.cmd.args, e.cmd.summary)
	n := 0
	e.fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		e.fs.SetOutput(w)
		e.fs.PrintDefaults()
		e.fs.SetOutput(io.Discard)
	}
}

// run runs arr with the given arguments (without the program name) and
// returns the exit status. It never panics: an unexpected internal error is
// reported as an error line.
func run(args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "arr: internal error: %v\n", r)
			if os.Getenv("ARR_DEBUG") != "" {
				stderr.Write(debug.Stack())
			}
			status = exitError
		}
	}()
	if len(args) == 0 {
		mainUsage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			if c := lookup(args[1]); c != nil {
				e := &env{stdout: stdout, stderr: stderr, cmd: c, fs: newFlagSet(c)}
				c.setup(e.fs, e)
				e.printUsage(stdout)
				return exitOK
			}
		}
		mainUsage(stdout)
		return exitOK
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(stderr, "arr: unknown command %q\n\n", name)
		mainUsage(stderr)
		return exitUsage
	}
	e := &env{stdout: stdout, stderr: stderr, cmd: c, fs: newFlagSet(c)}
	runFn := c.setup(e.fs, e)
	pos, err := parseFlags(e.fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		e.printUsage(stdout)
		return exitOK
	}
	if err != nil {
		return e.usageError("%v", err)
	}
	return runFn(pos)
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("arr "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses flags anywhere among the arguments ("arr show FILE
// --limit 10"), returning the positional ones. "--" ends the flags.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		used := len(args) - len(rest)
		if used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func mainUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: arr COMMAND [FLAGS] [ARGS]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "arr inspects and manages the NumPy array files processes share:")
	fmt.Fprintln(w, ".npy, seekable .npy.zst and .npz archives.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, firstLine(c.summary))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "FILE is an .npy, .npy.zst or .npz file, ARCHIVE.npz:KEY for one member of")
	fmt.Fprintln(w, `an archive, or "-" for an .npy stream on standard input.`)
	fmt.Fprintln(w, `Errors are reported as "arr: FILE: reason" with exit status 1;`)
	fmt.Fprintln(w, "a malformed command line exits with status 2.")
	fmt.Fprintln(w, `Run "arr help COMMAND" or "arr COMMAND -h" for a command's flags.`)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
