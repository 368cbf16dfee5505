package npz

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/arrfile/arrfile/npy"
)

// Zip record signatures and sizes (APPNOTE.TXT).
const (
	zipLocalSig      = 0x04034b50
	zipCentralSig    = 0x02014b50
	zipEOCDSig       = 0x06054b50
	zip64EOCDSig     = 0x06064b50
	zip64LocatorSig  = 0x07064b50
	zipDescriptorSig = 0x08074b50

	zipLocalLen     = 30
	zipCentralLen   = 46
	zipEOCDLen      = 22
	zip64EOCDLen    = 56
	zip64LocatorLen = 20

	zipStored  = 0
	zipDeflate = 8

	zip64ExtraID = 0x0001
	alignExtraID = 0xD935

	// maxDeflateRatio bounds uncompressed/compressed for deflate: a
	// deflate stream cannot expand data more than about 1032:1.
	maxDeflateRatio = 1032
)

// dirEnd is what the end of central directory record (or its ZIP64 form)
// says about the central directory.
type dirEnd struct {
	count  uint64 // number of members
	offset int64  // where the directory starts
	size   int64  // its size in bytes
}

func zipErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadZip}, args...)...)
}

// readEnd reads the end of central directory record and, where its fields
// say so, the ZIP64 end record. archive/zip reads them too but does not
// expose the member count or the directory's place, which the checks on top
// of it need before it parses the directory: the member limit, a count that
// the directory's size cannot hold, and the directory's end as the bound
// for members. The record is found as archive/zip finds it (the last
// signature in the file's final 65 KiB), and must end the file exactly.
func readEnd(ra io.ReaderAt, size int64, maxMembers int) (dirEnd, error) {
	var d dirEnd
	if size < zipEOCDLen {
		return d, zipErr("%d-byte file is too short for a zip archive", size)
	}
	tailLen := min(size, 65*1024)
	tail := make([]byte, tailLen)
	if err := readFullAt(ra, tail, size-tailLen); err != nil {
		return d, readErr(err, "reading the zip directory end")
	}
	i := len(tail) - zipEOCDLen
	for i >= 0 && binary.LittleEndian.Uint32(tail[i:]) != zipEOCDSig {
		i--
	}
	if i < 0 {
		var magic [6]byte
		if readFullAt(ra, magic[:], 0) == nil && string(magic[:]) == npy.Magic {
			return d, zipErr("this is an .npy file, not an .npz archive")
		}
		return d, zipErr("no end of central directory record (not a zip file)")
	}
	e := tail[i:]
	if rest := len(e) - zipEOCDLen - int(binary.LittleEndian.Uint16(e[20:])); rest != 0 {
		if rest < 0 {
			return d, zipErr("the end of central directory record's comment runs %d bytes past the end of the file", -rest)
		}
		return d, zipErr("%d bytes follow the end of central directory record", rest)
	}
	if binary.LittleEndian.Uint16(e[4:]) != 0 || binary.LittleEndian.Uint16(e[6:]) != 0 {
		return d, zipErr("multi-disk archives are not supported")
	}
	eocdPos := size - tailLen + int64(i)
	count := uint64(binary.LittleEndian.Uint16(e[10:]))
	cdSize := uint64(binary.LittleEndian.Uint32(e[12:]))
	cdOff := uint64(binary.LittleEndian.Uint32(e[16:]))
	dirEndPos := eocdPos
	if count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOff == 0xFFFFFFFF {
		// ZIP64: the locator sits right before the EOCD record.
		var loc [zip64LocatorLen]byte
		if eocdPos >= zip64LocatorLen {
			if err := readFullAt(ra, loc[:], eocdPos-zip64LocatorLen); err != nil {
				return d, readErr(err, "reading the ZIP64 locator")
			}
		}
		if binary.LittleEndian.Uint32(loc[:]) == zip64LocatorSig {
			if binary.LittleEndian.Uint32(loc[4:]) != 0 || binary.LittleEndian.Uint32(loc[16:]) != 1 {
				return d, zipErr("multi-disk archives are not supported")
			}
			recOff := binary.LittleEndian.Uint64(loc[8:])
			if recOff > uint64(eocdPos-zip64LocatorLen) || uint64(eocdPos-zip64LocatorLen)-recOff < zip64EOCDLen {
				return d, zipErr("ZIP64 end record offset %d outside the archive", recOff)
			}
			var rec [zip64EOCDLen]byte
			if err := readFullAt(ra, rec[:], int64(recOff)); err != nil {
				return d, readErr(err, "reading the ZIP64 end record")
			}
			if binary.LittleEndian.Uint32(rec[:]) != zip64EOCDSig {
				return d, zipErr("bad ZIP64 end record signature at offset %d", recOff)
			}
			count = binary.LittleEndian.Uint64(rec[32:])
			cdSize = binary.LittleEndian.Uint64(rec[40:])
			cdOff = binary.LittleEndian.Uint64(rec[48:])
			dirEndPos = int64(recOff)
		} else if count == 0xFFFF && cdSize != 0xFFFFFFFF && cdOff != 0xFFFFFFFF {
			// Exactly 65535 members without ZIP64: a plain count.
		} else {
			return d, zipErr("ZIP64 sizes without a ZIP64 locator")
		}
	}
	// The directory must end where its end record starts: archive/zip
	// would otherwise take the difference as data prepended to the archive
	// and shift every offset by it.
	if cdOff > uint64(dirEndPos) || cdSize != uint64(dirEndPos)-cdOff {
		return d, zipErr("central directory (offset %d, %d bytes) does not end at its end record at %d", cdOff, cdSize, dirEndPos)
	}
	if count > uint64(maxMembers) {
		return d, fmt.Errorf("%w: %d members, limit %d (see WithMaxMembers)", ErrTooManyMembers, count, maxMembers)
	}
	if count > cdSize/zipCentralLen {
		return d, zipErr("%d members cannot fit in a %d-byte central directory", count, cdSize)
	}
	return dirEnd{count: count, offset: int64(cdOff), size: int64(cdSize)}, nil
}

// readFullAt reads len(p) bytes at off, or fails.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readErr maps a short read of a region whose size was already checked
// against the archive size to ErrTruncated (the file shrank or the
// ReaderAt lied about its size).
func readErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: %w", ErrTruncated, what, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("npz: %s: %w", what, err)
}
