package mmfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/arrfile/arrfile/internal/atomicfile"
	"github.com/arrfile/arrfile/npy"
)

// Appender grows a published .npy file along its growth axis (axis 0 for
// C order, the last axis for Fortran order, as NumPy's header padding
// assumes), for producers that stream rows.
//
// Each Append writes the new rows after the data and then rewrites the
// shape in the header in place, with one write of the whole fixed-size
// header, inside the spare space NumPy (>= 1.24) and npy leave for it, so
// the file is a valid .npy that NumPy loads after every Append, and it
// never moves. The file never holds less data than its header declares. A
// reader that opens the file with Open during an Append sees the old shape
// (the new rows are then trailing bytes) or the new one, with no lock (Open
// reads the header before the file's size, and again after it). Append
// holds the exclusive file lock (flock) while it runs, which serializes
// Appenders in several processes; a reader that holds a shared Lock keeps
// Appends out meanwhile.
//
// Append fails with ErrReplaced once the name no longer gives the file the
// Appender opened (another file was published under it, or it was removed),
// rather than append rows nobody will see.
//
// Arrays already mapped keep the shape they were opened with; reopen to see
// new rows. An Appender is safe for concurrent use.
type Appender struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	hdr      *npy.Header
	axis     int
	rowBytes int64
	opt      CreateOptions
	closed   bool
}

// OpenAppender opens the .npy file name for appending. The file must have
// at least one dimension and a non-empty row (every dimension but the
// growth axis non-zero). To start an array to grow, Create and Publish it
// with a growth axis of length 0, for example shape (0, 3) for rows of 3.
// opt.Sparse, opt.NoSync and opt.MaxHeaderSize apply.
func OpenAppender(name string, opt *CreateOptions) (*Appender, error) {
	o := createOptionsOf(opt)
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, wrap("append", name, err)
	}
	ap := &Appender{path: name, f: f, opt: o}
	h, _, err := ap.readHeader()
	if err == nil && len(h.Shape) == 0 {
		err = fmt.Errorf("%w: a 0-d array has no axis to grow", npy.ErrBadShape)
	}
	if err != nil {
		f.Close()
		return nil, wrap("append", name, err)
	}
	ap.hdr = h
	if h.FortranOrder {
		ap.axis = len(h.Shape) - 1
	}
	ap.rowBytes = int64(h.DType.Size)
	for i, d := range h.Shape {
		if i != ap.axis {
			ap.rowBytes *= int64(d)
		}
	}
	if ap.rowBytes == 0 {
		f.Close()
		return nil, wrap("append", name, fmt.Errorf("%w: rows of shape %v hold no bytes", npy.ErrBadShape, h.Shape))
	}
	return ap, nil
}

// readHeader reads the file's current header and size (see readStable).
func (ap *Appender) readHeader() (*npy.Header, int64, error) {
	h, size, err := readStable(ap.f, 0, maxHeader(ap.opt.MaxHeaderSize))
	if err != nil {
		return nil, 0, err
	}
	if need := h.DataOffset + h.DataSize(); size < need {
		return nil, 0, fmt.Errorf("%w: file has %d bytes, header declares %d", npy.ErrTruncated, size, need)
	}
	return h, size, nil
}

// checkSame returns ErrReplaced if ap's name no longer gives ap's file.
func (ap *Appender) checkSame() error {
	named, err := os.Stat(ap.path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (the name no longer exists)", ErrReplaced)
	}
	if err != nil {
		return err
	}
	mine, err := ap.f.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(named, mine) {
		return fmt.Errorf("%w (the name now gives another file)", ErrReplaced)
	}
	return nil
}

// spaceError makes err, from reserving or writing n bytes of rows, a
// *SpaceError if it is ENOSPC.
func (ap *Appender) spaceError(err error, n int64) error {
	if !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	dir := filepath.Dir(ap.path)
	free, ok := freeSpace(dir)
	if !ok {
		free = -1
	}
	return &SpaceError{Dir: dir, Need: n, Free: free, Err: err}
}

// Append adds rows to the end of ap's array: a whole number of rows along
// the growth axis, as Go values of the array's dtype (npy.ErrTypeMismatch,
// npy.ErrByteOrder otherwise) or, for T byte, as raw bytes in the file's
// dtype and byte order.
//
// The new space is reserved first (unless CreateOptions.Sparse), so a full
// disk or tmpfs fails here with nothing changed, with a *SpaceError as from
// Create. On disk-backed storage the data is fsynced before the header
// names it (unless CreateOptions.NoSync), so after a crash the file holds
// the old array or the new one, plus at most some trailing bytes that the
// next Append removes.
//
// If the name no longer gives the Appender's file (see Appender), Append
// fails with ErrReplaced before writing; if the file is replaced while
// Append runs, the rows went to the old file and Append returns
// ErrReplaced too.
func Append[T npy.Elem](ap *Appender, rows []T) error {
	if _, isByte := any(*new(T)).(byte); !isByte {
		if _, err := npy.View[T](npy.Bytes(rows), ap.Header().DType); err != nil {
			return wrap("append", ap.path, err)
		}
	}
	return ap.append(npy.Bytes(rows))
}

// append appends raw rows.
func (ap *Appender) append(rows []byte) error {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	if ap.closed {
		return wrap("append", ap.path, fs.ErrClosed)
	}
	if int64(len(rows))%ap.rowBytes != 0 {
		return wrap("append", ap.path, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte rows", npy.ErrSize, len(rows), ap.rowBytes))
	}
	if len(rows) == 0 {
		return nil
	}
	locked, err := flock(ap.f, true, true)
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return wrap("append", ap.path, err)
	}
	if locked {
		defer funlock(ap.f)
	}
	if err := ap.checkSame(); err != nil {
		return wrap("append", ap.path, err)
	}
	h, size, err := ap.readHeader()
	if err != nil {
		return wrap("append", ap.path, err)
	}
	if !h.DType.Equal(ap.hdr.DType) || h.FortranOrder != ap.hdr.FortranOrder || len(h.Shape) != len(ap.hdr.Shape) {
		return wrap("append", ap.path, fmt.Errorf("%w: the file was replaced by a different array (%s)", npy.ErrBadHeader, h))
	}
	n := int64(len(rows)) / ap.rowBytes
	shape := slices.Clone(h.Shape)
	if int64(shape[ap.axis])+n > int64(^uint(0)>>1) {
		return wrap("append", ap.path, npy.ErrBadShape)
	}
	shape[ap.axis] += int(n)
	hb, err := headerInPlace(h, shape)
	if err != nil {
		return wrap("append", ap.path, err)
	}
	end := h.DataOffset + h.DataSize()
	newEnd := end + int64(len(rows))
	if !ap.opt.Sparse {
		if err := reserve(ap.f, end, newEnd); err != nil {
			if size < newEnd {
				ap.f.Truncate(size) // a reservation made in pieces may have extended the file
			}
			return wrap("append", ap.path, ap.spaceError(err, int64(len(rows))))
		}
	}
	durable := !ap.opt.NoSync && !atomicfile.InMemory(ap.f)
	if _, err := ap.f.WriteAt(rows, end); err != nil {
		return wrap("append", ap.path, ap.spaceError(err, int64(len(rows))))
	}
	if durable {
		if err := syncFile(ap.f); err != nil {
			return wrap("append", ap.path, err)
		}
	}
	if _, err := ap.f.WriteAt(hb, 0); err != nil {
		return wrap("append", ap.path, err)
	}
	if size > newEnd {
		// Bytes left by an interrupted Append: nobody's data.
		if err := ap.f.Truncate(newEnd); err != nil {
			return wrap("append", ap.path, err)
		}
	}
	if durable {
		if err := syncFile(ap.f); err != nil {
			return wrap("append", ap.path, err)
		}
	}
	nh, err := npy.ReadHeader(bytes.NewReader(hb))
	if err != nil {
		return wrap("append", ap.path, err)
	}
	ap.hdr = nh
	if err := ap.checkSame(); err != nil {
		return wrap("append", ap.path, fmt.Errorf("rows appended to the old file: %w", err))
	}
	return nil
}

// Header returns a copy of the header as of the last Append (or the open).
func (ap *Appender) Header() *npy.Header {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	h := *ap.hdr
	h.Shape = slices.Clone(ap.hdr.Shape)
	return &h
}

// Close closes the file. Calling it twice returns fs.ErrClosed.
func (ap *Appender) Close() error {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	if ap.closed {
		return wrap("append", ap.path, fs.ErrClosed)
	}
	ap.closed = true
	return wrap("append", ap.path, ap.f.Close())
}

// headerInPlace returns the header for h with a new shape, exactly
// h.DataOffset bytes long (the spare spaces absorb the longer shape), or
// ErrNoHeaderRoom.
func headerInPlace(h *npy.Header, shape []int) ([]byte, error) {
	hb, err := npy.AppendHeader(nil, &npy.Header{Version: h.Version, DType: h.DType, FortranOrder: h.FortranOrder, Shape: shape})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoHeaderRoom, err)
	}
	if int64(len(hb)) == h.DataOffset {
		return hb, nil
	}
	prefix := 10 // magic, version, 2-byte length
	if h.Version.Major != 1 {
		prefix = 12
	}
	body := bytes.TrimRight(hb[prefix:len(hb)-1], " ")
	room := int(h.DataOffset) - prefix - 1
	if len(body) > room {
		return nil, fmt.Errorf("%w: the header needs %d bytes, the file has %d", ErrNoHeaderRoom, prefix+len(body)+1, h.DataOffset)
	}
	out := make([]byte, 0, h.DataOffset)
	out = append(out, hb[:prefix]...)
	out = append(out, body...)
	out = append(out, bytes.Repeat([]byte{' '}, room-len(body))...)
	out = append(out, '\n')
	if prefix == 10 {
		binary.LittleEndian.PutUint16(out[8:], uint16(room+1))
	} else {
		binary.LittleEndian.PutUint32(out[8:], uint32(room+1))
	}
	if _, err := npy.ReadHeader(bytes.NewReader(out)); err != nil {
		return nil, err
	}
	return out, nil
}
