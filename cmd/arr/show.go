package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
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
		po := defaultPrint
		fs.Int64Var(&po.threshold, "limit", po.threshold, "summarise arrays with more than `N` elements (-1: never)")
		fs.IntVar(&po.edgeItems, "edgeitems", po.edgeItems, "`N` values shown at each end of a summarised axis")
		fs.IntVar(&po.lineWidth, "linewidth", po.lineWidth, "wrap lines at `N` characters")
		index := fs.String("index", "", "print only `I`: an index or START:STOP[:STEP] slice of the first axis")
		return func(args []string) int {
			if len(args) == 0 {
				return e.usageError("no FILE given")
			}
			if po.edgeItems < 0 || po.lineWidth < 1 {
				return e.usageError("--edgeitems must be >= 0 and --linewidth >= 1")
			}
			if po.threshold < 0 {
				po.threshold = 1<<63 - 1
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

func (e *env) show(name string, po printOptions, index string, labels *bool) error {
	hs, err := openArrays(name, openOptions{threads: e.threads})
	if err != nil {
		return err
	}
	defer closeAll(hs)
	if len(hs) > 1 {
		*labels = true
	}
	for _, a := range hs {
		var text string
		err := a.do(func(r io.ReaderAt, _ []byte) error {
			v := newView(a.header, r)
			if index != "" {
				var err error
				if v, err = v.index(index); err != nil {
					return err
				}
			}
			var err error
			text, err = formatView(v, po)
			return err
		})
		if err != nil {
			return err
		}
		if *labels {
			fmt.Fprintf(e.stdout, "%s:\n", a.label)
		}
		fmt.Fprintln(e.stdout, text)
	}
	return closeAll(hs)
}
