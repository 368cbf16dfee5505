package remote

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"
)

// Entry is one object listed by List.
type Entry struct {
	// URL is the object's s3:// URL.
	URL string
	// Size is its size in bytes.
	Size int64
	// Format is "npy" or "npy.zst"; "" for other objects.
	Format string
	// Header is the array's header (nil for other objects or on error).
	Header *npy.Header
	// Err is the error reading the header, if any.
	Err error
}

// List lists the objects under the prefix of an s3://BUCKET/PREFIX URL
// whose names end in .npy or .npy.zst, and reads their headers in
// parallel, one request each: the opening GET of the first 64 KiB
// (WithHeadSize) holds the header of an .npy and, for an .npy.zst made by
// codec/npyzst's Writer (or arr convert), the first zstd frame, which
// holds the .npy header alone; it is decompressed from those bytes. The
// listing itself costs one ListObjectsV2 request per 1000 keys, so N
// arrays cost N + 1 requests (more pages for over 1000 keys).
//
// An .npy.zst whose first frame is not the header alone (a file made by
// stock zstd, or by other writers) or does not lie wholly in the first
// bytes is opened as npyzst.NewReader opens it: the seek table from the
// end of the object (one more request, two when the table is larger than
// the suffix read), or for a file without seek table its frame headers
// from the start. An .npy header larger than the first bytes costs one
// more request too.
//
// Each entry's object size is checked against its header: an .npy must
// hold the header's data (npy.ErrTruncated otherwise; bytes after it are
// accepted, as NumPy accepts them); an .npy.zst must be at least as large
// as the header's data could compress to (zstd decodes at most 128 KiB
// from every 4 bytes). The exact decompressed size of an .npy.zst is in
// its seek table, which List does not read: Open with npyzst.NewReader
// (arr info, arr verify) checks it. Errors about one object are in its
// Entry; List fails only when the listing does. Entries come in key
// order.
func List(ctx context.Context, rawURL string, opts ...Option) ([]Entry, error) {
	loc, err := parseURL(rawURL)
	if err != nil {
		var bu *badURL
		errors.As(err, &bu)
		return nil, pathError("list", bu.label, bu.err)
	}
	if loc.scheme != "s3" {
		return nil, pathError("list", loc.label, fmt.Errorf("%w: listing needs an s3:// URL", ErrUnsupportedURL))
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, pathError("list", loc.label, err)
	}
	c, err := newS3Client(ctx, cfg)
	if err != nil {
		return nil, pathError("list", loc.label, fmt.Errorf("%w: AWS configuration: %s", ErrAccessDenied, innermost(err)))
	}
	o := &Object{ctx: ctx, loc: loc, label: loc.label, cfg: cfg, sem: make(chan struct{}, cfg.concurrency)}
	var entries []Entry
	var token *string
	for {
		var out *s3.ListObjectsV2Output
		err := o.retry(ctx, func(actx context.Context) (bool, error) {
			var err error
			out, err = c.ListObjectsV2(actx, &s3.ListObjectsV2Input{Bucket: &loc.bucket, Prefix: &loc.key, ContinuationToken: token})
			return false, s3Error(err)
		})
		if err != nil {
			return nil, pathError("list", loc.label, err)
		}
		for _, obj := range out.Contents {
			k := *obj.Key
			if !strings.HasSuffix(k, ".npy") && !strings.HasSuffix(k, ".npy.zst") {
				continue
			}
			e := Entry{URL: "s3://" + loc.bucket + "/" + k}
			if obj.Size != nil {
				e.Size = *obj.Size
			}
			entries = append(entries, e)
		}
		if out.IsTruncated == nil || !*out.IsTruncated || out.NextContinuationToken == nil {
			break
		}
		token = out.NextContinuationToken
	}
	dec, err := newHeadDecoder(cfg.concurrency)
	if err != nil {
		return nil, pathError("list", loc.label, err)
	}
	defer dec.Close()
	hopts := append(append([]Option(nil), opts...), WithConcurrency(1), withoutTailGuess())
	var wg sync.WaitGroup
	sem := make(chan struct{}, cfg.concurrency)
	for i := range entries {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			e := &entries[i]
			e.Format, e.Header, e.Err = readHeader(ctx, dec, e.URL, hopts...)
		}()
	}
	wg.Wait()
	return entries, nil
}

// readHeader opens the object at u and reads its .npy or .npy.zst header,
// from the opening request's bytes where they hold it, and checks the
// object's size against it.
func readHeader(ctx context.Context, dec *zstd.Decoder, u string, opts ...Option) (string, *npy.Header, error) {
	o, err := Open(ctx, u, opts...)
	if err != nil {
		return "", nil, err
	}
	defer o.Close()
	if bytes.HasPrefix(o.head, []byte(npy.Magic)) {
		h, err := npy.ReadHeader(io.NewSectionReader(o, 0, o.size))
		if err == nil {
			err = h.CheckFileSize(o.size, false)
		}
		if err != nil {
			return "npy", nil, pathError("read", o.label, err)
		}
		return "npy", h, nil
	}
	if h, end, ok := headerFromHead(dec, o.head); ok {
		if err := checkZstSize(h, end, o.size); err != nil {
			return "npy.zst", nil, pathError("read", o.label, err)
		}
		return "npy.zst", h, nil
	}
	r, err := npyzst.NewReader(o, o.size, zstdseek.WithName(o.label), zstdseek.WithConcurrency(1))
	if err != nil {
		return "npy.zst", nil, err
	}
	defer r.Close()
	return "npy.zst", r.Header, nil
}

// Limits of the header frame decoded from an object's first bytes.
const (
	// maxHeaderFrame is the most a header frame may decompress to: the
	// longest .npy header package npy reads (its 12-byte prefix and
	// npy.DefaultMaxHeaderSize).
	maxHeaderFrame = 12 + npy.DefaultMaxHeaderSize
	// headWindowLimit is the largest zstd window accepted, as
	// codec/zstdseek accepts for small frames: DecodeAll writes into a
	// buffer of at most maxHeaderFrame bytes, so a declared window costs
	// no memory.
	headWindowLimit = 8 << 20
	// maxBlockSize is zstd's largest block content (Block_Maximum_Size).
	maxBlockSize = 128 << 10
)

// newHeadDecoder returns the decoder of header frames: DecodeAll only,
// its output capped at the destination's capacity (headerFromHead gives
// it at most maxHeaderFrame).
func newHeadDecoder(concurrency int) (*zstd.Decoder, error) {
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(max(1, concurrency)),
		zstd.WithDecoderMaxMemory(maxHeaderFrame),
		zstd.WithDecoderMaxWindow(headWindowLimit),
		zstd.WithDecodeAllCapLimit(true),
	)
	if err != nil {
		return nil, fmt.Errorf("remote: creating zstd decoder: %w", err)
	}
	return dec, nil
}

// headerFromHead returns the .npy header of an .npy.zst from its first
// bytes, when they start with a zstd frame that lies wholly in them and
// decompresses (its checksum verified) to exactly one complete .npy
// header, as codec/npyzst's Writer writes it, and end, the frame's
// compressed size. It decompresses nothing but that frame and at most
// maxHeaderFrame bytes of it. ok is false otherwise: the header must then
// be read through the seek table (npyzst.NewReader), which also reports
// what is wrong with a damaged file.
func headerFromHead(dec *zstd.Decoder, head []byte) (h *npy.Header, end int64, ok bool) {
	if len(head) < 4 || binary.LittleEndian.Uint32(head) != 0xFD2FB528 {
		return nil, 0, false
	}
	var fh zstd.Header
	if err := fh.Decode(head); err != nil || fh.Skippable || fh.DictionaryID != 0 {
		return nil, 0, false
	}
	if fh.HasFCS && fh.FrameContentSize > maxHeaderFrame {
		return nil, 0, false
	}
	// Follow the block headers to the end of the frame.
	off := fh.HeaderSize
	for {
		if off < 0 || off+3 > len(head) {
			return nil, 0, false
		}
		bh := uint32(head[off]) | uint32(head[off+1])<<8 | uint32(head[off+2])<<16
		last, typ, size := bh&1 != 0, (bh>>1)&3, int(bh>>3)
		if size > maxBlockSize {
			return nil, 0, false
		}
		off += 3
		switch typ {
		case 0, 2: // raw, compressed: size bytes of content
			off += size
		case 1: // RLE: one byte, repeated size times
			off++
		default: // reserved
			return nil, 0, false
		}
		if off > len(head) {
			return nil, 0, false
		}
		if last {
			break
		}
	}
	if fh.HasCheckSum {
		off += 4
		if off > len(head) {
			return nil, 0, false
		}
	}
	n := uint64(maxHeaderFrame)
	if fh.HasFCS {
		n = fh.FrameContentSize
	}
	out, err := dec.DecodeAll(head[:off], make([]byte, 0, n))
	if err != nil {
		return nil, 0, false
	}
	h, err = npy.ReadHeader(bytes.NewReader(out))
	if err != nil || h.DataOffset != int64(len(out)) {
		return nil, 0, false
	}
	return h, int64(off), true
}

// checkZstSize checks the size of an .npy.zst whose header frame of
// frameSize compressed bytes holds h: the data frames after it cannot be
// smaller than a frame header (6 bytes) and 4 bytes for each 128 KiB of
// data (an RLE block, zstd's densest), whatever the compression. The
// seek table, which a file need not have, is not counted.
func checkZstSize(h *npy.Header, frameSize, size int64) error {
	d := h.DataSize()
	if d < 0 {
		return fmt.Errorf("%w: the header's data size overflows", npy.ErrBadHeader)
	}
	least := frameSize
	if d > 0 {
		blocks := d / maxBlockSize
		if d%maxBlockSize != 0 {
			blocks++
		}
		least += 6 + 4*blocks
	}
	if size < least {
		return fmt.Errorf("%w: %w: the header promises %d data bytes, which take at least %d compressed bytes after the %d-byte header frame; the object has %d bytes",
			zstdseek.ErrTruncated, npy.ErrTruncated, d, least-frameSize, frameSize, size)
	}
	return nil
}
