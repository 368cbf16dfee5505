package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

var createCmd = &command{
	name: "create",
	args: "--dtype DTYPE --shape N,M,... [--fortran] [--sparse] [--mode 0644] [--force] FILE",
	summary: `create a zero-filled .npy of a dtype and shape, ready for other processes to map and fill
The file is written under a temporary name in FILE's folder and renamed into
place when complete, so no reader ever sees it half-made. Only the header is
written: the data is reserved (fallocate) but not touched, so creating even a
huge array is instant, and a full disk or /dev/shm is an error now rather
than a crash later. --sparse skips the reservation (a sparse file on disk);
it is refused in a memory filesystem (tmpfs, ramfs: /dev/shm) unless
--force is given, since there reading the holes allocates memory too, and a
full one kills the readers (SIGBUS). The file gets the permission --mode, or
0666 less the umask as for any Unix tool.
DTYPE takes NumPy's spellings: <f8, f8, float64, int32, >i2, S5, U3, bool,
datetime64[ns], or a structured descr such as "[('x', '<f8'), ('n', '<i4')]".
An empty --shape ("" or "()") makes a 0-d array.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		dtype := fs.String("dtype", "", "element type `DTYPE` (NumPy spelling)")
		shape := fs.String("shape", "", "comma-separated dimensions `N,M,...`")
		fortran := fs.Bool("fortran", false, "store in Fortran (column-major) order")
		sparse := fs.Bool("sparse", false, "do not reserve the space (sparse file)")
		force := fs.Bool("force", false, "replace FILE if it exists; allow --sparse in a memory filesystem")
		mode := fs.String("mode", "", "permission `MODE` of FILE in octal, e.g. 0600 (default 0666 less the umask)")
		return func(args []string) int {
			if len(args) != 1 {
				return e.usageError("want exactly one FILE, got %d", len(args))
			}
			set := map[string]bool{}
			fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
			if !set["dtype"] || !set["shape"] {
				return e.usageError("--dtype and --shape are required")
			}
			dt, err := npy.ParseDType(*dtype)
			if err != nil {
				return e.usageError("--dtype %q: %s", *dtype, reason(err))
			}
			dims, err := parseShape(*shape)
			if err != nil {
				return e.usageError("--shape %q: %v", *shape, err)
			}
			if err := checkSize(dims, dt.Size); err != nil {
				return e.usageError("--shape %q: %v", *shape, err)
			}
			perm, err := parseMode(*mode)
			if err != nil {
				return e.usageError("--mode %q: %v", *mode, err)
			}
			if *sparse && !*force {
				if fsName, ok := memoryFS(filepath.Dir(args[0])); ok {
					e.fail(args[0], fmt.Errorf("refusing a sparse array in a memory filesystem (%s): reading its holes allocates memory as writing does, and when the filesystem is full readers die of SIGBUS; create it without --sparse (reserved), in a disk folder, or pass --force", fsName))
					return exitError
				}
			}
			h := &npy.Header{DType: dt, Shape: dims, FortranOrder: *fortran}
			if err := createArray(args[0], h, *sparse, *force, perm); err != nil {
				e.fail(args[0], err)
				return exitError
			}
			return exitOK
		}
	},
}

// parseShape reads "3,4", "(3, 4)", "3," or "" (0-d).
func parseShape(s string) ([]int, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(t, "("), ")"))
	dims := []int{}
	if t == "" {
		return dims, nil
	}
	parts := strings.Split(t, ",")
	if strings.TrimSpace(parts[len(parts)-1]) == "" { // "3," as Python writes (3,)
		parts = parts[:len(parts)-1]
	}
	if len(parts) > npy.MaxDims {
		return nil, fmt.Errorf("%d dimensions: NumPy allows at most %d (NPY_MAXDIMS of NumPy 1.24; NumPy 2 allows 64, but files with more than %d cannot be read by NumPy 1.x)", len(parts), npy.MaxDims, npy.MaxDims)
	}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		d, err := strconv.ParseInt(p, 10, 64)
		switch {
		case err != nil && errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(p, "-"),
			err == nil && d > maxDim:
			return nil, fmt.Errorf("dimension %s is too large (at most %d)", p, maxDim)
		case err != nil && errors.Is(err, strconv.ErrRange), err == nil && d < 0:
			return nil, fmt.Errorf("dimension %s is negative", p)
		case err != nil:
			return nil, fmt.Errorf("dimension %q is not an integer", p)
		}
		dims = append(dims, int(d))
	}
	return dims, nil
}

// maxDim is the largest dimension --shape takes: 2^62 - 2^31, which keeps
// a dimension well inside int on 64-bit systems (the byte size is checked
// separately by checkSize).
const maxDim = math.MaxInt32 * int64(1<<31)

// parseMode reads --mode: an octal permission such as 0600, 600 or 0o640;
// "" gives 0, which the library reads as 0666 less the umask.
func parseMode(s string) (fs.FileMode, error) {
	if s == "" {
		return 0, nil
	}
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0o"), "0O")
	m, err := strconv.ParseUint(t, 8, 32)
	if err != nil || t == "" {
		return 0, errors.New("want an octal permission such as 0644 or 0600")
	}
	if m == 0 || m > 0o777 {
		return 0, errors.New("want permission bits between 0001 and 0777")
	}
	return fs.FileMode(m), nil
}

// memoryFS reports whether the folder dir is in a memory filesystem
// (tmpfs, ramfs), with a name for messages. It is false where the system
// cannot tell.
func memoryFS(dir string) (string, bool) {
	d, err := os.Open(dir)
	if err != nil {
		return "", false
	}
	defer d.Close()
	if !atomicfile.InMemory(d) {
		return "", false
	}
	return "tmpfs or ramfs: " + dir, true
}

// checkSize refuses shapes whose byte size overflows int64.
func checkSize(dims []int, itemSize int) error {
	n := int64(itemSize)
	zero := itemSize == 0
	for _, d := range dims {
		if d == 0 {
			zero = true
		}
	}
	if zero {
		return nil
	}
	for _, d := range dims {
		if n > math.MaxInt64/int64(d) {
			return errors.New("array size overflows 64 bits")
		}
		n *= int64(d)
	}
	return nil
}

func createArray(name string, h *npy.Header, sparse, force bool, perm fs.FileMode) error {
	if !force {
		if _, err := os.Lstat(name); err == nil {
			return fmt.Errorf("%w (use --force to replace it)", fs.ErrExist)
		}
	}
	a, err := mmfile.Create(name, h, &mmfile.CreateOptions{Sparse: sparse, Perm: perm})
	if err != nil {
		return err
	}
	if err := a.Publish(); err != nil {
		a.Close()
		return err
	}
	return a.Close()
}
