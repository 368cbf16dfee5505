package remote

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// httpBackend reads an object from an HTTP server.
type httpBackend struct {
	client *http.Client
	url    string
}

func (h *httpBackend) get(ctx context.Context, rng string, v validator) (*reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return nil, err
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	switch {
	case v.etag != "" && !strings.HasPrefix(v.etag, "W/"):
		req.Header.Set("If-Match", v.etag)
	case v.etag != "":
		// A weak ETag cannot be used in If-Match or If-Range: the reply's
		// ETag is compared instead (see check).
	case v.lastModified != "":
		req.Header.Set("If-Unmodified-Since", v.lastModified)
		req.Header.Set("If-Range", v.lastModified)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &statusError{code: resp.StatusCode, contentRange: resp.Header.Get("Content-Range")}
	}
	return &reply{
		status:        resp.StatusCode,
		contentRange:  resp.Header.Get("Content-Range"),
		contentLength: resp.ContentLength,
		etag:          resp.Header.Get("ETag"),
		lastModified:  resp.Header.Get("Last-Modified"),
		body:          resp.Body,
	}, nil
}
