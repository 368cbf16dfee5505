package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/npy"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
// parallel: one request each for an .npy (the opening GET), two for an
// .npy.zst (the opening GET and its seek table). Entries come in key
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
	hopts := append(append([]Option(nil), opts...), WithConcurrency(1))
	var wg sync.WaitGroup
	sem := make(chan struct{}, cfg.concurrency)
	for i := range entries {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			e := &entries[i]
			e.Format, e.Header, e.Err = readHeader(ctx, e.URL, hopts...)
		}()
	}
	wg.Wait()
	return entries, nil
}

// readHeader opens the object at u and reads its .npy or .npy.zst header.
func readHeader(ctx context.Context, u string, opts ...Option) (string, *npy.Header, error) {
	o, err := Open(ctx, u, opts...)
	if err != nil {
		return "", nil, err
	}
	defer o.Close()
	if bytes.HasPrefix(o.head, []byte(npy.Magic)) {
		h, err := npy.ReadHeader(io.NewSectionReader(o, 0, o.size))
		return "npy", h, pathError("read", o.label, err)
	}
	r, err := npyzst.NewReader(o, o.size, zstdseek.WithName(o.label), zstdseek.WithConcurrency(1))
	if err != nil {
		return "npy.zst", nil, err
	}
	defer r.Close()
	return "npy.zst", r.Header, nil
}
