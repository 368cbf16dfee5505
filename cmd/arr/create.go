package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

var createCmd = &command{
	name: "create",
	args: "--dtype DTYPE --shape N,M,... [--fortran] [--sparse] [--force] FILE",
	summary: `create a zero-filled .npy of a dtype and shape, ready for other processes to map and fill
The file is written under a temporary name in FILE's folder and renamed into
place when complete, so no reader ever sees it half-made. Only the header is
written: the data is reserved (fallocate) but not touched, so creating even a
huge array is instant, and a full disk or /dev/shm is an error now rather
than a crash later. --sparse skips the reservation (a sparse file on disk).
DTYPE takes NumPy's spellings: <f8, f8, float64, int32, >i2, S5, U3, bool,
datetime64[ns], or a structured descr such as "[('x', '<f8'), ('n', '<i4')]".
An empty --shape ("" or "()") makes a 0-d array.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		dtype := fs.String("dtype", "", "element type `DTYPE` (NumPy spelling)")
		shape := fs.String("shape", "", "comma-separated dimensions `N,M,...`")
		fortran := fs.Bool("fortran", false, "store in Fortran (column-major) order")
		sparse := fs.Bool("sparse", false, "do not reserve the space (sparse file)")
		force := fs.Bool("force", false, "replace FILE if it exists")
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
			h := &npy.Header{DType: dt, Shape: dims, FortranOrder: *fortran}
			if err := createArray(args[0], h, *sparse, *force); err != nil {
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
	for _, p := range parts {
		d, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || d < 0 || d > math.MaxInt32*int64(1<<31) {
			return nil, fmt.Errorf("dimension %q is not a non-negative integer", strings.TrimSpace(p))
		}
		dims = append(dims, int(d))
	}
	return dims, nil
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

func createArray(name string, h *npy.Header, sparse, force bool) error {
	if !force {
		if _, err := os.Lstat(name); err == nil {
			return fmt.Errorf("%w (use --force to replace it)", fs.ErrExist)
		}
	}
	a, err := mmfile.Create(name, h, &mmfile.CreateOptions{Sparse: sparse})
	if err != nil {
		return err
	}
	if err := a.Publish(); err != nil {
		a.Close()
		return err
	}
	return a.Close()
}
