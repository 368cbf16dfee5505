package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/arrfile/arrfile/npy"
)

// arrayView is an array (or a slice of one) whose elements are read from r:
// element [i0, i1, ...] of dtype dt is at byte offset + Σ ik*strides[k].
type arrayView struct {
	dt      *npy.DType
	shape   []int
	strides []int64
	offset  int64
	r       io.ReaderAt
}

// newView describes the whole array of h whose data section is r.
func newView(h *npy.Header, r io.ReaderAt) *arrayView {
	v := &arrayView{dt: h.DType, shape: append([]int(nil), h.Shape...), r: r}
	for _, s := range h.Strides() {
		v.strides = append(v.strides, int64(s))
	}
	return v
}

func (v *arrayView) size() int64 {
	n := int64(1)
	for _, d := range v.shape {
		n *= int64(d)
	}
	return n
}

// errIndex marks a bad --index; the command reports it as a usage error.
var errIndex = errors.New("bad index")

// index applies a Python-style index or slice along the first axis:
// "5", "-1", "10:20", ":3", "::2". An integer removes the axis (a[5]);
// a slice keeps it (a[10:20]).
func (v *arrayView) index(spec string) (*arrayView, error) {
	if len(v.shape) == 0 {
		return nil, fmt.Errorf("%w: a 0-d array cannot be indexed", errIndex)
	}
	n := int64(v.shape[0])
	parts := strings.Split(spec, ":")
	if len(parts) > 3 {
		return nil, fmt.Errorf("%w %q: want I, START:STOP or START:STOP:STEP", errIndex, spec)
	}
	num := func(s string) (int64, bool, error) {
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, false, nil
		}
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%w %q: %q is not an integer", errIndex, spec, s)
		}
		return x, true, nil
	}
	if len(parts) == 1 {
		i, ok, err := num(parts[0])
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: empty index", errIndex)
		}
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return nil, fmt.Errorf("%w: index %s is out of bounds for axis 0 with size %d", errIndex, parts[0], n)
		}
		return &arrayView{dt: v.dt, shape: v.shape[1:], strides: v.strides[1:], offset: v.offset + i*v.strides[0], r: v.r}, nil
	}
	step := int64(1)
	if len(parts) == 3 {
		s, ok, err := num(parts[2])
		if err != nil {
			return nil, err
		}
		if ok {
			step = s
		}
		if step == 0 {
			return nil, fmt.Errorf("%w %q: slice step cannot be zero", errIndex, spec)
		}
	}
	start, hasStart, err := num(parts[0])
	if err != nil {
		return nil, err
	}
	stop, hasStop, err := num(parts[1])
	if err != nil {
		return nil, err
	}
	// Python's slice.indices(n).
	clamp := func(x int64, lo, hi int64) int64 {
		if x < 0 {
			x += n
			if x < lo {
				x = lo
			}
		} else if x > hi {
			x = hi
		}
		return x
	}
	var lo, hi int64 = 0, n
	if step < 0 {
		lo, hi = -1, n-1
	}
	if hasStart {
		start = clamp(start, lo, hi)
	} else if step < 0 {
		start = n - 1
	} else {
		start = 0
	}
	if hasStop {
		stop = clamp(stop, lo, hi)
	} else if step < 0 {
		stop = -1
	} else {
		stop = n
	}
	var count int64
	if step > 0 && stop > start {
		count = (stop - start + step - 1) / step
	} else if step < 0 && stop < start {
		count = (start - stop - step - 1) / -step
	}
	shape := append([]int{int(count)}, v.shape[1:]...)
	strides := append([]int64{v.strides[0] * step}, v.strides[1:]...)
	off := v.offset
	if count > 0 {
		off += start * v.strides[0]
	}
	return &arrayView{dt: v.dt, shape: shape, strides: strides, offset: off, r: v.r}, nil
}

// printOptions are NumPy's print options that arr show exposes.
type printOptions struct {
	threshold int64 // summarise arrays with more elements than this
	edgeItems int   // elements shown at each end of a summarised axis
	lineWidth int   // characters per line
}

var defaultPrint = printOptions{threshold: 1000, edgeItems: 3, lineWidth: 75}

// readFull reads len(p) bytes at off, accepting io.EOF with a full read.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// formatView prints v as NumPy's str(v) does (what print(a) shows).
func formatView(v *arrayView, po printOptions) (string, error) {
	size := v.dt.Size
	if len(v.shape) == 0 {
		b := make([]byte, size)
		if err := readFull(v.r, b, v.offset); err != nil {
			return "", err
		}
		if v.dt.Structured() {
			return buildFormat(v.dt, [][]byte{b}, true)(b), nil
		}
		return scalarStr(v.dt, b), nil
	}
	if v.size() == 0 {
		return "[]", nil
	}

	// The elements shown: on summarised axes (when the array is larger than
	// the threshold) only edgeItems at each end.
	summary := v.size() > po.threshold
	edge := po.edgeItems
	nd := len(v.shape)
	cshape := make([]int, nd)
	summ := make([]bool, nd)
	count := 1
	for k, d := range v.shape {
		cshape[k] = d
		if summary && d > 2*edge {
			cshape[k], summ[k] = 2*edge, true
		}
		count *= cshape[k]
	}

	// Read them, coalescing neighbours into single reads.
	buf := make([]byte, count*size)
	g := gatherer{r: v.r, buf: buf}
	pos := 0
	var walk func(axis int, off int64) error
	walk = func(axis int, off int64) error {
		if axis == nd {
			err := g.add(off, pos, size)
			pos += size
			return err
		}
		for c := 0; c < cshape[axis]; c++ {
			i := c
			if summ[axis] && c >= edge {
				i = v.shape[axis] - 2*edge + c
			}
			if err := walk(axis+1, off+int64(i)*v.strides[axis]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(0, v.offset); err != nil {
		return "", err
	}
	if err := g.flush(); err != nil {
		return "", err
	}

	elems := make([][]byte, count)
	for i := range elems {
		elems[i] = buf[i*size : (i+1)*size]
	}
	f := buildFormat(v.dt, elems, false)
	words := make([]string, count)
	for i, e := range elems {
		words[i] = f(e)
	}
	return layout(words, cshape, summ, edge, po.lineWidth), nil
}

// gatherer collects elements from an io.ReaderAt into a buffer. Elements
// next to each other both in the source and in the buffer are merged into
// one read, and the reads are made in increasing source order, so that a
// forward-only source (a decompressing stream) serves them too.
type gatherer struct {
	r    io.ReaderAt
	buf  []byte
	runs []readRun
}

type readRun struct{ off, pos, len int64 }

func (g *gatherer) add(off int64, pos, n int) error {
	if k := len(g.runs) - 1; k >= 0 {
		last := &g.runs[k]
		if off == last.off+last.len && int64(pos) == last.pos+last.len {
			last.len += int64(n)
			return nil
		}
	}
	g.runs = append(g.runs, readRun{off, int64(pos), int64(n)})
	return nil
}

func (g *gatherer) flush() error {
	sort.Slice(g.runs, func(i, j int) bool { return g.runs[i].off < g.runs[j].off })
	for _, r := range g.runs {
		if err := readFull(g.r, g.buf[r.pos:r.pos+r.len], r.off); err != nil {
			return err
		}
	}
	g.runs = nil
	return nil
}

// forwardReaderAt serves ReadAt calls at non-decreasing offsets from a
// stream, skipping what lies between: random access for printing from
// data that can only be read front to back.
type forwardReaderAt struct {
	r   io.Reader
	pos int64
}

func (f *forwardReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.pos {
		return 0, fmt.Errorf("internal error: backward read at %d after %d in a sequential stream", off, f.pos)
	}
	if off > f.pos {
		n, err := io.CopyN(io.Discard, f.r, off-f.pos)
		f.pos += n
		if err != nil {
			return 0, err
		}
	}
	n, err := io.ReadFull(f.r, p)
	f.pos += int64(n)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// layout arranges formatted elements (in C order over the shown shape
// cshape) as NumPy's _formatArray does: nested brackets, blank lines
// between blocks of more than one dimension, "..." where an axis is
// summarised, and lines wrapped at lineWidth.
func layout(words []string, cshape []int, summ []bool, edge, lineWidth int) string {
	nd := len(cshape)
	strides := make([]int, nd)
	st := 1
	for k := nd - 1; k >= 0; k-- {
		strides[k] = st
		st *= cshape[k]
	}
	var rec func(axis, base int, hanging string, width int) string
	rec = func(axis, base int, hanging string, width int) string {
		if axis == nd {
			return words[base]
		}
		nextHanging := hanging + " "
		nextWidth := width - 1
		n := cshape[axis]
		lead := 0
		if summ[axis] {
			lead = edge
		}
		var s strings.Builder
		if nd-axis == 1 {
			elemWidth := width - 1
			line := hanging
			for i := 0; i < n; i++ {
				if summ[axis] && i == lead {
					line = extendLine(&s, line, "...", elemWidth, hanging) + " "
				}
				word := rec(axis+1, base+i*strides[axis], nextHanging, nextWidth)
				line = extendLine(&s, line, word, elemWidth, hanging)
				if i < n-1 {
					line += " "
				}
			}
			s.WriteString(line)
		} else {
			sep := strings.Repeat("\n", nd-axis-1)
			for i := 0; i < n; i++ {
				if summ[axis] && i == lead {
					s.WriteString(hanging + "..." + sep)
				}
				s.WriteString(hanging + rec(axis+1, base+i*strides[axis], nextHanging, nextWidth))
				if i < n-1 {
					s.WriteString(sep)
				}
			}
		}
		return "[" + s.String()[len(hanging):] + "]"
	}
	return rec(0, 0, " ", lineWidth)
}

// extendLine is NumPy's _extendLine: start a new line when word does not
// fit (unless the line holds nothing but the indent), then append word.
func extendLine(s *strings.Builder, line, word string, width int, indent string) string {
	if runeLen(line)+runeLen(word) > width && runeLen(line) > runeLen(indent) {
		s.WriteString(strings.TrimRightFunc(line, unicode.IsSpace) + "\n")
		line = indent
	}
	return line + word
}
