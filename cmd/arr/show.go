package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"

	"github.com/arrfile/arrfile/internal/numprint"
)

var showCmd = &command{
	name: "show",
	args: "[--limit N] [--edgeitems N] [--linewidth N] [--index I] FILE...",
	summary: `print the values as NumPy's print(np.load(FILE)) does
Arrays with more than --limit elements are summarised with "..." showing
--edgeitems values at each end of every long axis (NumPy's threshold and
edgeitems print options). --index prints a part: an integer index or a
Python slice START:STOP[:STEP] along the first axis, as NumPy's a[I].
Only the values shown are read, so large files print quickly. With several
files (or archive members) each is preceded by a "LABEL:" line.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		fs.IntVar(&e.threads, "threads", 0, "frames of .npy.zst files decompressed at once (`N`, default: all cores)")
		po := numprint.Defaults
		fs.Int64Var(&po.Threshold, "limit", po.Threshold, "summarise arrays with more than `N` elements (-1: never)")
		fs.IntVar(&po.EdgeItems, "edgeitems", po.EdgeItems, "`N` values shown at each end of a summarised axis")
		fs.IntVar(&po.LineWidth, "linewidth", po.LineWidth, "wrap lines at `N` characters")
		index := fs.String("index", "", "print only `I`: an index or START:STOP[:STEP] slice of the first axis")
		return func(args []string) int {
			if len(args) == 0 {
				return e.usageError("no FILE given")
			}
			if po.EdgeItems < 0 || po.LineWidth < 1 {
				return e.usageError("--edgeitems must be >= 0 and --linewidth >= 1")
			}
			if po.Threshold < 0 {
				po.Threshold = math.MaxInt64
			}
			status := exitOK
			labels := len(args) > 1
			for _, name := range args {
				err := e.show(name, po, *index, &labels)
				if errors.Is(err, errIndex) {
					return e.usageError("%v", err)
				}
				if err != nil {
					e.fail(name, err)
					status = exitError
				}
			}
			return status
		}
	},
}

func (e *env) show(name string, po numprint.Options, idx string, labels *bool) error {
	hs, err := openArrays(name, openOptions{threads: e.threads})
	if err != nil {
		return err
	}
	defer closeAll(hs)
	if len(hs) > 1 {
		*labels = true
	}
	for _, a := range hs {
		var text bytes.Buffer
		err := a.do(func(r io.ReaderAt, _ []byte) error {
			v := wholeArray(a.header, r)
			if idx != "" {
				var err error
				if v, err = index(v, idx); err != nil {
					return err
				}
			}
			return numprint.Fprint(&text, v, po)
		})
		if err != nil {
			return err
		}
		if *labels {
			fmt.Fprintf(e.stdout, "%s:\n", a.label)
		}
		text.WriteTo(e.stdout)
	}
	return closeAll(hs)
}
