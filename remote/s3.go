package remote

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// newS3Client makes an S3 client from the standard AWS configuration:
// the SDK's default credential chain (environment, shared files,
// profiles, web identity, instance roles), AWS_REGION, AWS_ENDPOINT_URL_S3
// or AWS_ENDPOINT_URL for a non-AWS store. Path-style addressing is used
// whenever a custom endpoint is set, unless ARRFILE_S3_PATH_STYLE says
// otherwise. The SDK's own retries are off: this package retries (the
// same way for S3 and HTTP, resuming cut bodies).
func newS3Client(ctx context.Context, c *config) (*s3.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithHTTPClient(c.client),
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil && *o.BaseEndpoint != "" {
			o.UsePathStyle = true
			if o.Region == "" {
				// Stores other than AWS accept any region in the signature;
				// the SDK needs one.
				o.Region = "us-east-1"
			}
		}
		switch strings.ToLower(os.Getenv(EnvS3PathStyle)) {
		case "true", "1", "yes":
			o.UsePathStyle = true
		case "false", "0", "no":
			o.UsePathStyle = false
		}
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	}), nil
}

// s3Backend reads an object with GetObject.
type s3Backend struct {
	client      *s3.Client
	bucket, key string
}

func (s *s3Backend) get(ctx context.Context, rng string, v validator) (*reply, error) {
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &s.key}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	if v.etag != "" {
		in.IfMatch = aws.String(v.etag)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, s3Error(err)
	}
	status := http.StatusOK
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
		status = raw.StatusCode
	} else if out.ContentRange != nil {
		status = http.StatusPartialContent
	}
	var lm string
	if out.LastModified != nil {
		lm = out.LastModified.UTC().Format(http.TimeFormat)
	}
	cl := int64(-1)
	if out.ContentLength != nil {
		cl = *out.ContentLength
	}
	return &reply{
		status:        status,
		contentRange:  aws.ToString(out.ContentRange),
		contentLength: cl,
		etag:          aws.ToString(out.ETag),
		lastModified:  lm,
		body:          out.Body,
	}, nil
}

// s3Error turns an SDK error for a reply into a *statusError (the SDK's
// messages carry request ids and operation names, never credentials, but
// are long); transport errors are returned as they are.
func s3Error(err error) error {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.HTTPStatusCode() != 0 {
		se := &statusError{code: re.HTTPStatusCode(), contentRange: re.Response.Header.Get("Content-Range")}
		var ae smithy.APIError
		if errors.As(err, &ae) {
			se.detail = ae.ErrorCode()
		}
		if re.Response.Body != nil {
			io.Copy(io.Discard, io.LimitReader(re.Response.Body, 64<<10))
		}
		return se
	}
	return err
}
