package remote

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"time"
)

// Defaults of the options.
const (
	// DefaultHeadSize is how much the opening request asks for: the first
	// 64 KiB, which hold the header of any .npy file NumPy writes for
	// ordinary dtypes (and the first frame of an .npy.zst).
	DefaultHeadSize = 64 << 10
	// DefaultTailSize is the size of the suffix read the first time a small
	// read falls near the end of the object (the seek table of an .npy.zst,
	// the central directory of an .npz): 64 KiB hold the seek table of
	// 5000 frames.
	DefaultTailSize = 64 << 10
	// DefaultPartSize is the size of the parts a large read is split into,
	// each one GET (S3 favours 8-16 MiB parts).
	DefaultPartSize = 8 << 20
	// DefaultMergeGap is the largest gap between two ranges of ReadRanges
	// that are fetched with one GET (the gap's bytes are read and dropped).
	// See docs/remote.md for how it was chosen.
	DefaultMergeGap = 256 << 10
	// DefaultConcurrency is the least default number of requests in
	// flight (WithConcurrency; 3 per core where that is more). Over a
	// long-distance link each connection's rate is bounded by its TCP
	// window and round-trip time rather than by the cores, so a large
	// read needs many streams whatever the core count: 16 keep 16 parts of
	// 8 MiB in flight. Only large reads (Fetch, Put, a ReadAt or ReadRanges
	// of many parts) have that many requests to send.
	DefaultConcurrency = 16
	// DefaultRetries is how many times a failed request is retried.
	DefaultRetries = 5
	// DefaultTimeout bounds one request (one attempt), body included.
	DefaultTimeout = 60 * time.Second
)

// Environment variables read by Open.
const (
	// EnvCABundle names a PEM file of CA certificates trusted for https://
	// URLs and S3 endpoints, in addition to the system's. AWS_CA_BUNDLE,
	// the SDK's own variable, is honoured for S3 as well.
	EnvCABundle = "ARRFILE_CA_BUNDLE"
	// EnvS3PathStyle overrides the S3 addressing style: "true" forces
	// path-style URLs (ENDPOINT/BUCKET/KEY), "false" forces virtual-hosted
	// ones (BUCKET.ENDPOINT/KEY). Unset, path-style is used exactly when a
	// custom endpoint is configured (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL
	// or the shared config file).
	EnvS3PathStyle = "ARRFILE_S3_PATH_STYLE"
)

// Option configures Open, Fetch, Put and List. Options are fixed when the
// object is opened.
type Option func(*config) error

type config struct {
	concurrency int
	partSize    int64
	headSize    int64
	tailSize    int64
	mergeGap    int64
	retries     int
	timeout     time.Duration
	backoff     time.Duration
	caBundle    string
	client      *http.Client
	progress    func(n int64)
	// noTailGuess: Open does not fetch the tail of an .npy.zst or .npz
	// along with the head (List, which needs the head alone).
	noTailGuess bool
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		concurrency: max(DefaultConcurrency, 3*runtime.GOMAXPROCS(0)),
		partSize:    DefaultPartSize,
		headSize:    DefaultHeadSize,
		tailSize:    DefaultTailSize,
		mergeGap:    DefaultMergeGap,
		retries:     DefaultRetries,
		timeout:     DefaultTimeout,
		backoff:     50 * time.Millisecond,
		caBundle:    os.Getenv(EnvCABundle),
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.client == nil {
		cl, err := newHTTPClient(c.caBundle, c.concurrency)
		if err != nil {
			return nil, err
		}
		c.client = cl
	}
	return c, nil
}

// WithConcurrency sets how many requests an Object (or a Fetch or Put)
// has in flight at most. Range 1 to 1024; default DefaultConcurrency, or
// 3 per core where that is more.
func WithConcurrency(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1024 {
			return fmt.Errorf("remote: concurrency %d out of range 1-1024", n)
		}
		c.concurrency = n
		return nil
	}
}

// WithPartSize sets the size of the parts a large read or an upload is
// split into. Range 64 KiB to 1 GiB (5 MiB to 1 GiB for S3 uploads, S3's
// minimum part); default DefaultPartSize.
func WithPartSize(n int64) Option {
	return func(c *config) error {
		if n < 64<<10 || n > 1<<30 {
			return fmt.Errorf("remote: part size %d out of range 64 KiB-1 GiB", n)
		}
		c.partSize = n
		return nil
	}
}

// WithHeadSize sets how many bytes the opening GET asks for. Range 1 KiB
// to 64 MiB; default DefaultHeadSize.
func WithHeadSize(n int64) Option {
	return func(c *config) error {
		if n < 1<<10 || n > 64<<20 {
			return fmt.Errorf("remote: head size %d out of range 1 KiB-64 MiB", n)
		}
		c.headSize = n
		return nil
	}
}

// WithTailSize sets the size of the suffix read kept for small reads near
// the end of the object (sent along with the opening request for names
// ending in .zst or .npz, see Open). Range 1 KiB to 64 MiB; default DefaultTailSize.
func WithTailSize(n int64) Option {
	return func(c *config) error {
		if n < 1<<10 || n > 64<<20 {
			return fmt.Errorf("remote: tail size %d out of range 1 KiB-64 MiB", n)
		}
		c.tailSize = n
		return nil
	}
}

// WithMergeGap sets the largest gap between two ranges of ReadRanges that
// are fetched by one request. Range 0 to 64 MiB; default DefaultMergeGap.
func WithMergeGap(n int64) Option {
	return func(c *config) error {
		if n < 0 || n > 64<<20 {
			return fmt.Errorf("remote: merge gap %d out of range 0-64 MiB", n)
		}
		c.mergeGap = n
		return nil
	}
}

// WithRetries sets how many times a failed request is retried (on HTTP
// 5xx and 429, timeouts and broken connections), with exponential backoff
// and full jitter. Range 0 to 100; default DefaultRetries.
func WithRetries(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 100 {
			return fmt.Errorf("remote: retries %d out of range 0-100", n)
		}
		c.retries = n
		return nil
	}
}

// WithBackoff sets the first retry's backoff; each further retry doubles
// it, up to 64 times the first, and each wait is drawn uniformly below
// that (full jitter). Range 1 ms to 1 min; default 50 ms.
func WithBackoff(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond || d > time.Minute {
			return fmt.Errorf("remote: backoff %v out of range 1ms-1m", d)
		}
		c.backoff = d
		return nil
	}
}

// WithTimeout bounds each request (each attempt, body included). Range
// 1 ms to 24 h; default DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond || d > 24*time.Hour {
			return fmt.Errorf("remote: timeout %v out of range 1ms-24h", d)
		}
		c.timeout = d
		return nil
	}
}

// WithCABundle trusts the CA certificates of the PEM file name for https
// URLs and S3 endpoints, in addition to the system's (default:
// $ARRFILE_CA_BUNDLE). TLS verification is never turned off.
func WithCABundle(name string) Option {
	return func(c *config) error {
		c.caBundle = name
		return nil
	}
}

// WithHTTPClient makes requests through client instead of the package's
// own (which has no timeout of its own, no transparent compression, and
// the CA bundle).
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) error {
		c.client = client
		return nil
	}
}

// WithProgress calls fn with the number of bytes each time a part of a
// Fetch or Put completes. fn may be called from several goroutines at once.
func WithProgress(fn func(n int64)) Option {
	return func(c *config) error {
		c.progress = fn
		return nil
	}
}

// withoutTailGuess makes Open send the opening request alone, whatever
// the object's name.
func withoutTailGuess() Option {
	return func(c *config) error {
		c.noTailGuess = true
		return nil
	}
}

// newHTTPClient makes the client of http(s) URLs and of the S3 SDK:
// no gzip (a compressed reply to a range request would not be the bytes
// asked for), connections enough for the concurrency, and the CA bundle.
func newHTTPClient(caBundle string, conns int) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = conns
	if caBundle != "" {
		pem, err := os.ReadFile(caBundle)
		if err != nil {
			return nil, fmt.Errorf("remote: CA bundle: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("remote: CA bundle %s: no PEM certificates in it", caBundle)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}
