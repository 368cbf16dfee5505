package remote

import (
	"fmt"
	"net/url"
	"strings"
)

// IsURL reports whether name is a URL this package opens: s3://, http://
// or https://.
func IsURL(name string) bool {
	for _, p := range []string{"s3://", "http://", "https://"} {
		if len(name) > len(p) && strings.EqualFold(name[:len(p)], p) {
			return true
		}
	}
	return false
}

// location is a parsed URL.
type location struct {
	scheme      string // "s3", "http", "https"
	bucket, key string // s3
	url         *url.URL
	label       string // the URL without user information and query
}

func parseURL(raw string) (*location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &badURL{label: Redact(raw), err: fmt.Errorf("%w: %s", ErrUnsupportedURL, "malformed URL")}
	}
	l := &location{scheme: strings.ToLower(u.Scheme), url: u, label: Redact(raw)}
	switch l.scheme {
	case "s3":
		l.bucket = u.Host
		l.key = strings.TrimPrefix(u.Path, "/")
		if l.bucket == "" {
			return nil, &badURL{label: l.label, err: fmt.Errorf("%w: no bucket (s3://BUCKET/KEY)", ErrUnsupportedURL)}
		}
	case "http", "https":
		if u.Host == "" {
			return nil, &badURL{label: l.label, err: fmt.Errorf("%w: no host", ErrUnsupportedURL)}
		}
	default:
		return nil, &badURL{label: l.label, err: fmt.Errorf("%w: scheme %q (s3, http or https)", ErrUnsupportedURL, u.Scheme)}
	}
	return l, nil
}

type badURL struct {
	label string
	err   error
}

func (b *badURL) Error() string { return b.err.Error() }
func (b *badURL) Unwrap() error { return b.err }

// Redact returns the URL as errors and output show it: without user
// information (user:password@) and without the query string (which holds
// the signature of a presigned URL).
func Redact(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		host := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			host = rest[:j]
		}
		if k := strings.LastIndexByte(host, '@'); k >= 0 {
			raw = raw[:i+3] + rest[k+1:]
		}
	}
	return raw
}

// Base returns the last element of the URL's path ("x.npy" for
// s3://b/dir/x.npy), "" if it has none.
func Base(raw string) string {
	s := Redact(raw)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return ""
	}
	s = s[i+1:]
	if j := strings.LastIndexByte(s, '/'); j >= 0 {
		s = s[j+1:]
	}
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	return s
}
