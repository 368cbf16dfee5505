// Package numprint prints arrays as NumPy 1.24 prints them: Fprint writes
// what print(a) writes for an array, or for a strided part of one such as
// a[5] or a[10:20:2], byte for byte, following numpy/core/arrayprint.py
// with the default print options except the three that Options carries
// (threshold, edgeitems and linewidth).
//
// Every dtype an .npy file can hold prints: booleans, integers, floats
// (float16, float32, float64 and x87 long double), complex numbers, bytes
// and str, void, structured types (nested, with sub-array fields),
// datetime64 and timedelta64. One formatter per array is fitted to all the
// values shown, so that columns line up as NumPy lines them up. Float
// digits are NumPy's Dragon4's, the shortest that read back to the value:
// from strconv for float32 and float64, from an exact Dragon4 for float16
// and long double, where strconv has no size.
//
// Only the elements shown are read: a summarised array reads EdgeItems
// values at each end of every long axis, however large it is. The one
// exception is EdgeItems 0, where NumPy fits the format to every element
// (its a[-0:] is the whole axis) and shows "..." and the last one: then
// every element is read, and an array of more than 64 MiB is an error.
package numprint

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

	"github.com/arrfile/arrfile/npy"
)

// Options are the print options of NumPy's np.set_printoptions that
// Fprint follows; the others keep their defaults. The zero Options
// summarises everything to "..." and the last element (and refuses
// arrays over 64 MiB: see EdgeItems); start from Defaults.
type Options struct {
	// Threshold is the number of elements above which an array is
	// summarised (NumPy's threshold); math.MaxInt64 never summarises.
	Threshold int64
	// EdgeItems is the number of values shown at each end of every axis
	// of a summarised array that is longer than 2*EdgeItems (NumPy's
	// edgeitems); at least 0. With 0, every element is read (see the
	// package doc) and arrays over 64 MiB are refused.
	EdgeItems int
	// LineWidth is the number of characters after which lines are
	// wrapped (NumPy's linewidth); at least 1.
	LineWidth int
}

// Defaults are NumPy's default print options.
var Defaults = Options{Threshold: 1000, EdgeItems: 3, LineWidth: 75}

// An Array is what Fprint prints: the elements of DType, Shape and
// Strides whose bytes are read from Data. Element [i0, i1, ...] is the
// DType.Size bytes at Offset + i0*Strides[0] + i1*Strides[1] + ... in
// Data; Strides has one entry per axis of Shape, in bytes, and may be
// negative. A whole array read from an .npy file has Offset 0 and the
// strides of its header (npy.Header.Strides); a NumPy index or slice of it
// has another Shape, Strides and Offset over the same Data.
type Array struct {
	DType   *npy.DType
	Shape   []int
	Strides []int64
	Offset  int64
	Data    io.ReaderAt
}

// Fprint writes a to w as NumPy's print(a) does: str(a) and a newline.
//
// It reads only the elements shown, once each, in increasing order of
// offset, so Data may be a stream that can only be read forwards. The
// text is built in memory and written with one Write; when reading fails
// (a short read is io.ErrUnexpectedEOF), Fprint returns that error and
// writes nothing.
func Fprint(w io.Writer, a Array, opt Options) error {
	s, err := format(&a, opt)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, s+"\n")
	return err
}

func (a *Array) size() int64 {
	n := int64(1)
	for _, d := range a.Shape {
		n *= int64(d)
	}
	return n
}

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

// format returns str(a), as NumPy's str(a) does.
func format(a *Array, opt Options) (string, error) {
	size := a.DType.Size
	if len(a.Shape) == 0 {
		b := make([]byte, size)
		if err := readFull(a.Data, b, a.Offset); err != nil {
			return "", err
		}
		if a.DType.Structured() {
			return buildFormat(a.DType, [][]byte{b}, true)(b), nil
		}
		return scalarStr(a.DType, b), nil
	}
	if a.size() == 0 {
		return "[]", nil
	}

	// The elements shown: on summarised axes (when the array is larger than
	// the threshold) only EdgeItems at each end.
	summary := a.size() > opt.Threshold
	edge := opt.EdgeItems
	nd := len(a.Shape)
	cshape := make([]int, nd)
	summ := make([]bool, nd)
	count := 1
	for k, d := range a.Shape {
		cshape[k] = d
		if summary && d > 2*edge {
			// With EdgeItems 0, NumPy's a[-0:] is the whole axis: every
			// element counts for the format, and only the last is shown.
			summ[k] = true
			if edge > 0 {
				cshape[k] = 2 * edge
			}
		}
		count *= cshape[k]
	}
	if summary && edge == 0 && int64(count)*int64(size) > maxWholeFormat {
		return "", fmt.Errorf("numprint: with edgeitems 0 NumPy formats every element of the %d-byte array, more than the %d bytes read for printing; use edgeitems 1 or more", int64(count)*int64(size), int64(maxWholeFormat))
	}

	// Read them, coalescing neighbours into single reads.
	buf := make([]byte, count*size)
	g := gatherer{r: a.Data, buf: buf}
	pos := 0
	var walk func(axis int, off int64)
	walk = func(axis int, off int64) {
		if axis == nd {
			g.add(off, pos, size)
			pos += size
			return
		}
		for c := 0; c < cshape[axis]; c++ {
			i := c
			if summ[axis] && edge > 0 && c >= edge {
				i = a.Shape[axis] - 2*edge + c
			}
			walk(axis+1, off+int64(i)*a.Strides[axis])
		}
	}
	walk(0, a.Offset)
	if err := g.flush(); err != nil {
		return "", err
	}

	elems := make([][]byte, count)
	for i := range elems {
		elems[i] = buf[i*size : (i+1)*size]
	}
	f := buildFormat(a.DType, elems, false)
	words := make([]string, count)
	for i, e := range elems {
		words[i] = f(e)
	}
	return layout(words, cshape, summ, edge, opt.LineWidth), nil
}

// maxWholeFormat bounds the bytes format reads when EdgeItems is 0 and
// NumPy's format depends on every element.
const maxWholeFormat = 64 << 20

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

func (g *gatherer) add(off int64, pos, n int) {
	if k := len(g.runs) - 1; k >= 0 {
		last := &g.runs[k]
		if off == last.off+last.len && int64(pos) == last.pos+last.len {
			last.len += int64(n)
			return
		}
	}
	g.runs = append(g.runs, readRun{off, int64(pos), int64(n)})
}

func (g *gatherer) flush() error {
	slices.SortFunc(g.runs, func(a, b readRun) int { return cmp.Compare(a.off, b.off) })
	for _, r := range g.runs {
		if err := readFull(g.r, g.buf[r.pos:r.pos+r.len], r.off); err != nil {
			return err
		}
	}
	g.runs = nil
	return nil
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
		start, lead := 0, 0
		if summ[axis] {
			lead = edge
			if edge == 0 {
				// "..." and the last element (see format).
				start, lead = n-1, n-1
			}
		}
		var s strings.Builder
		if nd-axis == 1 {
			elemWidth := width - 1
			line := hanging
			for i := start; i < n; i++ {
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
			for i := start; i < n; i++ {
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
