package mmfile

import (
	"bufio"
	"fmt"
	"io"
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
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	size := fi.Size()
	if off > size {
		return nil, fmt.Errorf("%w: section offset %d is beyond the end of the %d-byte file", npy.ErrTruncated, off, size)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, off, size-off), 4096)
	hdr, err := npy.ReadHeader(br, npy.WithMaxHeaderSize(maxHeader(o.MaxHeaderSize)))
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
