package mmfile

import (
	"fmt"
	"io"
	"os"

	"github.com/arrfile/arrfile/npy"
)

// Write writes data to a new .npy file name in C order with the given shape
// (nil means one dimension of len(data)) and publishes it, in one call.
//
// The bytes go from data to the file in one write call, without a mapping
// and without an intermediate copy; the file is created, reserved and
// published as by Create and Publish (temporary name, space check and
// reservation, fsync on disk-backed storage, atomic rename), so readers
// never see a partial file and a failure leaves no file behind and any
// existing file of that name untouched.
func Write[T npy.Elem](name string, data []T, shape []int, opt *Options) error {
	if shape == nil {
		shape = []int{len(data)}
	}
	return WriteBytes(name, &npy.Header{DType: npy.DTypeOf[T](), Shape: shape}, npy.Bytes(data), opt)
}

// WriteBytes is Write for raw data bytes described by h (dtype, order and
// shape; any dtype npy supports). len(data) must be h's data size.
func WriteBytes(name string, h *npy.Header, data []byte, opt *Options) error {
	o := optionsOf(opt)
	hb, hdr, err := headerBytes(h)
	if err != nil {
		return wrap("write", name, err)
	}
	if int64(len(data)) != hdr.DataSize() {
		return wrap("write", name, fmt.Errorf("%w: %d data bytes for shape %v of %s (%d bytes)",
			npy.ErrSize, len(data), hdr.Shape, hdr.DType, hdr.DataSize()))
	}
	f, tmp, err := newTemp(name, hb, hdr.DataOffset+hdr.DataSize(), &o)
	if err != nil {
		return wrap("write", name, err)
	}
	if _, err := f.WriteAt(data, hdr.DataOffset); err != nil {
		f.Close()
		os.Remove(tmp)
		return wrap("write", name, err)
	}
	return wrap("write", name, finish(f, tmp, name, &o))
}

// WriteFrom reads an .npy stream from r (any npy source: a file, a pipe, a
// network connection, npy.Writer output) and publishes it as name. The data
// is read straight into the new file's mapping. If r fails or ends early,
// nothing is published (npy.ErrTruncated for a short stream). Bytes after
// the array data in r are not read.
func WriteFrom(name string, r io.Reader, opt *Options) error {
	rd, err := npy.NewReader(r)
	if err != nil {
		return wrap("write", name, err)
	}
	h := *rd.Header
	h.Version = npy.Version{}
	a, err := Create(name, &h, opt)
	if err != nil {
		return err
	}
	err = a.Do(func(data []byte) error {
		_, err := io.ReadFull(rd, data)
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%w: stream ended before the %d data bytes", npy.ErrTruncated, len(data))
		}
		return err
	})
	if err == nil {
		err = a.Publish()
	}
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	return wrap("write", name, err)
}
