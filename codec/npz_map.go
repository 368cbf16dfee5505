package codec

import (
	"fmt"
	"os"

	"github.com/arrfile/arrfile/mmfile"
)

// Map memory-maps the stored array member key of the archive in place,
// through mmfile.OpenSection: nothing is read or copied, and every process
// that maps the same member shares the same page cache pages. NumPy cannot
// do this (np.load(..., mmap_mode="r") loads .npz members into memory).
//
// mode is mmfile.ReadOnly or mmfile.CopyOnWrite (private changes);
// ReadWrite is refused, as writing would change the archive behind its
// CRC-32. opt is passed to mmfile (populating, hints; nil for defaults).
// The archive must be a file: one opened with OpenNpz, or NewNpzReader
// over an *os.File. Deflated members (np.savez_compressed, WithDeflate)
// have no bytes to map and are refused with ErrUnsupported; read them with
// Open or ReadNpz instead.
//
// The member's data has the alignment of its offset in the archive.
// Archives written with WithAlignment(64) align every stored member's data
// to 64 bytes, so mmfile.Slice works for every element type. np.savez does
// not align: mmfile.Bytes always works, and mmfile.Slice works when the
// offset happens to suit the element type (always for 1-byte types) and
// otherwise fails with npy.ErrAlignment, naming the offset and suggesting
// WithAlignment(64).
//
// Map checks the member's local header, its .npy header and that the data
// lies inside the archive; it does not read the data, so the member's
// CRC-32 is not checked (Verify does that). The caller closes the Array;
// it stays valid after the NpzReader is closed.
func (z *NpzReader) Map(key string, mode mmfile.Mode, opt *mmfile.Options) (*mmfile.Array, error) {
	m, err := z.Member(key)
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("member %q", m.Name)
	if mode == mmfile.ReadWrite {
		return nil, nameErr(z.name, fmt.Errorf("codec: %s: mapping an archive member read-write would change the archive behind its CRC-32; map it ReadOnly or CopyOnWrite", label))
	}
	if m.Deflated {
		return nil, nameErr(z.name, fmt.Errorf("%w: %s is deflated (np.savez_compressed) and has no bytes to map in place; read it with Open or ReadNpz, or store it (np.savez, or an NpzWriter without WithDeflate)", ErrUnsupported, label))
	}
	f, ok := z.ra.(*os.File)
	if !ok {
		return nil, nameErr(z.name, fmt.Errorf("codec: %s: Map needs an archive file (OpenNpz, or NewNpzReader over an *os.File)", label))
	}
	dataOff, h, err := z.ArrayOffset(key)
	if err != nil {
		return nil, err
	}
	start := dataOff - h.DataOffset
	a, err := mmfile.OpenSection(f.Name(), start, mode, opt)
	if err != nil {
		return nil, nameErr(z.name, fmt.Errorf("%s: %w", label, err))
	}
	// The name must still refer to the archive that was read, and the
	// mapped header must be the one the member holds.
	af, err := a.File()
	var same bool
	if err == nil {
		fi1, err1 := f.Stat()
		fi2, err2 := af.Stat()
		same = err1 == nil && err2 == nil && os.SameFile(fi1, fi2)
	}
	if !same {
		a.Close()
		return nil, nameErr(z.name, fmt.Errorf("codec: %s: %s is no longer the archive that was opened (replaced since OpenNpz)", label, f.Name()))
	}
	if got := a.Header(); got.DataOffset != h.DataOffset || got.DataSize() != h.DataSize() || got.String() != h.String() {
		a.Close()
		return nil, nameErr(z.name, fmt.Errorf("%w: %s: header changed under the reader (%s, was %s)", ErrBadZip, label, got, h))
	}
	return a, nil
}
