package mmfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/arrfile/arrfile/npy"
)

// Open maps an existing .npy file (written by this package, by NumPy or by
// anything else that follows the format) in the given mode.
//
// Open reads and validates the header (bounded by opt.MaxHeaderSize) and
// checks with fstat, before mapping, that the file holds all the data the
// header declares; a short file is an error wrapping npy.ErrTruncated and is
// never extended. Only the header and the data are mapped; trailing bytes are
// ignored (or refused with opt.Strict). Without opt.Populate the
// cost of Open does not depend on the array's size.
//
// A file that an Appender (in any process) is appending to opens with the
// shape before an Append or the one after it, never a mix and never as a
// truncated file: the header is read before the size and read again after
// it (see Appender). No lock is needed for that.
func Open(name string, mode Mode, opt *Options) (*Array, error) {
	return openPath(name, 0, mode, opt)
}

// openPath opens the regular file name in mode and maps the .npy that
// starts at off (0 for Open, the section's offset for OpenSection).
func openPath(name string, off int64, mode Mode, opt *Options) (*Array, error) {
	o := optionsOf(opt)
	flag := os.O_RDONLY
	switch mode {
	case ReadOnly, CopyOnWrite:
	case ReadWrite:
		flag = os.O_RDWR
	default:
		return nil, wrap("open", name, fmt.Errorf("invalid mode %d", mode))
	}
	if off < 0 {
		return nil, wrap("open", name, fmt.Errorf("negative section offset %d", off))
	}
	// Refuse FIFOs and devices before opening: opening a FIFO blocks.
	if fi, err := os.Stat(name); err != nil {
		return nil, wrap("open", name, err)
	} else if !fi.Mode().IsRegular() {
		return nil, wrap("open", name, fmt.Errorf("not a regular file (%s)", fi.Mode().Type()))
	}
	f, err := os.OpenFile(name, flag, 0)
	if err != nil {
		return nil, wrap("open", name, err)
	}
	a, err := openMapped(f, name, off, mode, &o, false)
	if err != nil {
		f.Close()
		return nil, wrap("open", name, err)
	}
	return a, nil
}

// OpenSection maps the .npy array that starts at byte off of the file name
// rather than at its start: an array embedded in a container, such as a
// stored (uncompressed) member of an .npz archive (its offset from
// npz.Reader.DataOffset), read in place without copying.
//
// The mapping starts at the page boundary at or below off (the 64 KiB
// allocation granularity on Windows) and covers the header and the data;
// the Array behaves as one from Open (Bytes, Slice, the guarded accessors,
// locks, hints, populating). The header is read and validated at off
// (bounded by opt.MaxHeaderSize), and the data it declares must lie within
// the file (npy.ErrTruncated otherwise). Bytes after the array are the rest
// of the container, and opt.Strict is ignored.
//
// The data's address is the mapping's page-aligned base plus its offset
// within the page, so its alignment is that of its file offset: Slice
// refuses element types the data is not aligned for (npy.ErrAlignment,
// naming the offset), while Bytes always works. Writers of containers can
// pad so that the data starts at a multiple of 64.
//
// ReadOnly and CopyOnWrite leave the file untouched. ReadWrite writes into
// the file's bytes in place, which changes the container (an archive's
// checksums then no longer match).
func OpenSection(name string, off int64, mode Mode, opt *Options) (*Array, error) {
	return openPath(name, off, mode, opt)
}

// OpenFile maps the .npy array in the open file f (for example a
// descriptor inherited from a parent process, os.NewFile(3, "array"), or
// one received with Receive), with the same checks as Open. f must be open
// for reading, and for writing if mode is ReadWrite. The Array takes
// ownership of f: Close closes it, also when OpenFile fails.
func OpenFile(f *os.File, mode Mode, opt *Options) (*Array, error) {
	o := optionsOf(opt)
	if mode < ReadOnly || mode > CopyOnWrite {
		f.Close()
		return nil, wrap("open", f.Name(), fmt.Errorf("invalid mode %d", mode))
	}
	a, err := openMapped(f, f.Name(), 0, mode, &o, true)
	if err != nil {
		f.Close()
		return nil, wrap("open", f.Name(), err)
	}
	return a, nil
}

// openMapped maps the .npy that starts at byte off of f (0 for a whole
// file; a section otherwise, see OpenSection).
func openMapped(f *os.File, name string, off int64, mode Mode, o *Options, anon bool) (*Array, error) {
	hdr, size, err := readStable(f, off, maxHeader(o.MaxHeaderSize))
	if err != nil {
		if off > 0 {
			err = fmt.Errorf("array at byte %d: %w", off, err)
		}
		return nil, err
	}
	if err := hdr.CheckFileSize(size-off, o.Strict && off == 0); err != nil {
		if off > 0 {
			err = fmt.Errorf("array at byte %d of the %d-byte file: %w", off, size, err)
		}
		return nil, err
	}
	need := hdr.DataOffset + hdr.DataSize()
	mapOff := off / mapAlignment() * mapAlignment()
	skew := off - mapOff
	if int64(int(skew+need)) != skew+need {
		return nil, fmt.Errorf("%w: %d bytes do not fit in this machine's address space", npy.ErrBadShape, need)
	}
	a := &Array{path: name, f: f, hdr: hdr, mode: mode, anon: anon, section: off, skew: int(skew)}
	pop := resolvePopulate(o.Populate, f, need)
	m, err := mapFileAt(f, mapOff, int(skew+need), mode, pop)
	if err != nil {
		return nil, err
	}
	a.m = m
	end := int(skew + need)
	a.data = m[int(skew+hdr.DataOffset):end:end]
	if o.Advice != AdviceNormal {
		if err := madvise(m, o.Advice); err != nil {
			unmap(m)
			return nil, err
		}
	}
	if pop == PopulateAhead {
		a.startAhead(false)
	}
	return a, nil
}

// stableTries bounds how often readStable reads a header that keeps
// changing under it.
const stableTries = 100

// readStable reads the header of the .npy that starts at byte off of f and
// f's size, consistent with each other while an Appender (in any process)
// appends to the file. An Append extends the file and writes the rows
// before it rewrites the header (one write of the whole fixed-size header),
// so the size is never short of what the current header declares; reading
// the header first and the size after, never the other way round, gives a
// size that covers the header's data. The header is read again after the
// size: if the bytes differ, an Append rewrote it meanwhile (and the first
// read may be torn, half old and half new), so both are read again, at
// most stableTries times.
func readStable(f *os.File, off int64, maxHdr int) (*npy.Header, int64, error) {
	// Refuse FIFOs and devices before reading: a read could block.
	if fi, err := f.Stat(); err != nil {
		return nil, 0, err
	} else if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	for try := 1; ; try++ {
		rec := &recorder{r: bufio.NewReaderSize(io.NewSectionReader(f, off, math.MaxInt64-off), 4096)}
		hdr, herr := npy.ReadHeader(rec, npy.WithMaxHeaderSize(maxHdr))
		fi, err := f.Stat()
		if err != nil {
			return nil, 0, err
		}
		size := fi.Size()
		if off > size {
			return nil, 0, fmt.Errorf("%w: section offset %d is beyond the end of the %d-byte file", npy.ErrTruncated, off, size)
		}
		again := make([]byte, len(rec.b))
		n, err := f.ReadAt(again, off)
		if err != nil && err != io.EOF {
			return nil, 0, err
		}
		if n == len(again) && bytes.Equal(again, rec.b) {
			return hdr, size, herr
		}
		if try == stableTries {
			return nil, 0, fmt.Errorf("%w: the header changed each of %d times it was read", npy.ErrBadHeader, stableTries)
		}
	}
}

// recorder keeps the bytes read through it.
type recorder struct {
	r io.Reader
	b []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.b = append(r.b, p[:n]...)
	return n, err
}
