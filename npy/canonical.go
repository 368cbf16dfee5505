package npy

import (
	"fmt"
	"io"
)

// canonicalChunk is the size of the pieces WriteCanonical converts at once.
const canonicalChunk = 1 << 20

// WriteCanonical writes the canonical bytes of an array to w: its elements
// in C (row-major) order, every multi-byte component little-endian,
// strings as stored ('S' bytes, 'U' UTF-32LE), records field by field at
// their offsets with padding bytes (unnamed void fields) set to zero. These
// are the bytes of NumPy's
// np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<'))).tobytes(),
// so a Fortran-order or big-endian array and its C-order little-endian
// twin give the same bytes (and the same checksum). (NumPy leaves the
// padding of that copy uninitialised in some paths; padding carries no
// value, so it counts as zero here.)
//
// data holds the array's data section as stored (h.DataSize() bytes; it
// may be a memory-mapped file). It is not modified: conversion happens in
// a bounded buffer, so the call uses little memory for any array size.
func WriteCanonical(w io.Writer, h *Header, data []byte) error {
	size := h.DataSize()
	if int64(len(data)) < size {
		return fmt.Errorf("%w: have %d data bytes, shape needs %d", ErrSize, len(data), size)
	}
	data = data[:size]
	item := h.DType.Size
	needSwap := h.DType.needsSwapping(func(t *DType) bool { return t.Order == '>' })
	padding := h.DType.hasPadding()
	perChunk := max(1, canonicalChunk/item)
	buf := make([]byte, 0, min(int64(perChunk*item), size))
	flush := func() error {
		if needSwap {
			h.DType.toLittle(buf)
		}
		if padding {
			h.DType.zeroPadding(buf)
		}
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	if !h.FortranOrder || len(h.Shape) < 2 {
		if !needSwap && !padding {
			_, err := w.Write(data)
			return err
		}
		for off := 0; off < len(data); off += perChunk * item {
			end := min(off+perChunk*item, len(data))
			buf = append(buf[:0], data[off:end]...)
			if err := flush(); err != nil {
				return err
			}
		}
		return nil
	}
	if size == 0 {
		return nil
	}
	// Fortran order: visit elements in C order (last index fastest) and
	// gather each from its column-major position.
	nd := len(h.Shape)
	strides := h.Strides()
	idx := make([]int, nd)
	last := nd - 1
	rowLen := h.Shape[last]
	rowStride := strides[last]
	base := 0
	for {
		off := base
		for j := 0; j < rowLen; j++ {
			buf = append(buf, data[off:off+item]...)
			off += rowStride
			if len(buf)+item > cap(buf) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		// advance the odometer over all axes but the last
		k := last - 1
		for ; k >= 0; k-- {
			idx[k]++
			base += strides[k]
			if idx[k] < h.Shape[k] {
				break
			}
			base -= strides[k] * idx[k]
			idx[k] = 0
		}
		if k < 0 {
			break
		}
	}
	if len(buf) > 0 {
		return flush()
	}
	return nil
}

// hasPadding reports whether a record type has unnamed padding fields.
func (d *DType) hasPadding() bool {
	for i := range d.Fields {
		if d.Fields[i].Name == "" || d.Fields[i].Type.hasPadding() {
			return true
		}
	}
	return false
}

// zeroPadding clears the padding bytes of every element in data.
func (d *DType) zeroPadding(data []byte) {
	n := len(data) / d.Size
	for i := range d.Fields {
		f := &d.Fields[i]
		fs := f.Type.Size * f.Len()
		switch {
		case f.Name == "":
			for e := 0; e < n; e++ {
				clear(data[e*d.Size+f.Offset : e*d.Size+f.Offset+fs])
			}
		case f.Type.hasPadding():
			for e := 0; e < n; e++ {
				f.Type.zeroPadding(data[e*d.Size+f.Offset : e*d.Size+f.Offset+fs])
			}
		}
	}
}
