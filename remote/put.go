package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// minS3Part is S3's smallest part of a multipart upload (but the last).
const minS3Part = 5 << 20

// Put uploads the local file to rawURL. For s3:// a file larger than the
// part size (WithPartSize, at least 5 MiB for S3) is sent as a multipart
// upload in parallel parts; the object appears only when the upload
// completes (S3's atomic publish), and an upload that fails or is
// cancelled is aborted, so that no parts remain stored. Smaller files are
// one PutObject. For http(s):// the file is sent with one plain PUT,
// sent again from the start when retried; whether readers can see a
// partly received object is the server's (nginx's DAV module publishes
// the whole body by a rename: see docs/remote.md). Requests are retried
// as reads are.
func Put(ctx context.Context, file, rawURL string, opts ...Option) error {
	loc, err := parseURL(rawURL)
	if err != nil {
		var bu *badURL
		errors.As(err, &bu)
		return pathError("put", bu.label, bu.err)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return pathError("put", loc.label, err)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	o := &Object{ctx: ctx, loc: loc, label: loc.label, cfg: cfg, sem: make(chan struct{}, cfg.concurrency)}
	if loc.scheme != "s3" {
		return pathError("put", loc.label, o.putHTTP(ctx, f, st.Size()))
	}
	c, err := newS3Client(ctx, cfg)
	if err != nil {
		return pathError("put", loc.label, fmt.Errorf("%w: AWS configuration: %s", ErrAccessDenied, innermost(err)))
	}
	o.s3 = c
	return pathError("put", loc.label, o.putS3(ctx, f, st.Size()))
}

func (o *Object) putHTTP(ctx context.Context, f *os.File, size int64) error {
	return o.retry(ctx, func(actx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(actx, http.MethodPut, o.loc.url.String(), io.NewSectionReader(f, 0, size))
		if err != nil {
			return false, err
		}
		req.ContentLength = size
		resp, err := o.cfg.client.Do(req)
		if err != nil {
			return false, err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return false, &statusError{code: resp.StatusCode}
		}
		if o.cfg.progress != nil {
			o.cfg.progress(size)
		}
		return false, nil
	})
}

func (o *Object) putS3(ctx context.Context, f *os.File, size int64) error {
	bucket, key := o.loc.bucket, o.loc.key
	ps := max(o.cfg.partSize, minS3Part)
	if size <= ps {
		err := o.retry(ctx, func(actx context.Context) (bool, error) {
			_, err := o.s3.PutObject(actx, &s3.PutObjectInput{
				Bucket: &bucket, Key: &key, Body: io.NewSectionReader(f, 0, size), ContentLength: aws.Int64(size),
			})
			return false, s3Error(err)
		})
		if err == nil && o.cfg.progress != nil {
			o.cfg.progress(size)
		}
		return err
	}
	var uploadID string
	err := o.retry(ctx, func(actx context.Context) (bool, error) {
		out, err := o.s3.CreateMultipartUpload(actx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
		if err != nil {
			return false, s3Error(err)
		}
		uploadID = aws.ToString(out.UploadId)
		return false, nil
	})
	if err != nil {
		return err
	}
	abort := func(cause error) error {
		// Abort even when ctx is cancelled: parts left behind stay stored
		// (and billed) until a lifecycle rule removes them.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		aerr := o.retry(actx, func(actx context.Context) (bool, error) {
			_, err := o.s3.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &uploadID})
			return false, s3Error(err)
		})
		if ctx.Err() != nil {
			cause = ctx.Err()
		}
		if aerr != nil {
			return fmt.Errorf("%w: %w (and aborting the multipart upload failed: %v)", ErrUpload, cause, aerr)
		}
		if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
			return cause
		}
		return fmt.Errorf("%w: %w (multipart upload aborted)", ErrUpload, cause)
	}
	nparts := int((size + ps - 1) / ps)
	if nparts > 10000 {
		return abort(fmt.Errorf("%d parts of %d bytes, S3 allows 10000 (use a larger part size)", nparts, ps))
	}
	parts := make([]types.CompletedPart, nparts)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	var next atomic.Int64
	for w := 0; w < min(o.cfg.concurrency, nparts); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= nparts || pctx.Err() != nil {
					return
				}
				off := int64(i) * ps
				n := min(ps, size-off)
				num := int32(i + 1)
				err := o.retry(pctx, func(actx context.Context) (bool, error) {
					out, err := o.s3.UploadPart(actx, &s3.UploadPartInput{
						Bucket: &bucket, Key: &key, UploadId: &uploadID, PartNumber: &num,
						Body: io.NewSectionReader(f, off, n), ContentLength: aws.Int64(n),
					})
					if err != nil {
						return false, s3Error(err)
					}
					parts[i] = types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)}
					return false, nil
				})
				if err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
				if o.cfg.progress != nil {
					o.cfg.progress(n)
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		return abort(first)
	}
	sort.Slice(parts, func(a, b int) bool { return *parts[a].PartNumber < *parts[b].PartNumber })
	err = o.retry(ctx, func(actx context.Context) (bool, error) {
		_, err := o.s3.CompleteMultipartUpload(actx, &s3.CompleteMultipartUploadInput{
			Bucket: &bucket, Key: &key, UploadId: &uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
		return false, s3Error(err)
	})
	if err != nil {
		return abort(err)
	}
	return nil
}
