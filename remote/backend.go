package remote

import (
	"context"
	"io"
)

// reply is a successful (2xx) answer to a GET.
type reply struct {
	status        int
	contentRange  string
	contentLength int64 // -1 if unknown
	etag          string
	lastModified  string
	body          io.ReadCloser
}

// validator identifies the version of the object seen at open.
type validator struct {
	etag         string // sent as If-Match
	lastModified string // sent as If-Unmodified-Since when there is no ETag
}

// backend sends requests for one object. get returns a *statusError for
// a non-2xx reply (its body consumed and closed).
type backend interface {
	get(ctx context.Context, rng string, v validator) (*reply, error)
}
