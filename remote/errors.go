package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"syscall"
)

// Errors about a remote object. Every error this package returns for an
// object is a *fs.PathError whose Path is the object's URL (without user
// information or query string, so no credentials or signatures) and whose
// Err wraps one of these; test with errors.Is.
var (
	// ErrUnsupportedURL means the URL is neither s3://BUCKET/KEY nor
	// http(s)://HOST/PATH.
	ErrUnsupportedURL = errors.New("remote: unsupported URL")
	// ErrNotFound means the server has no such object (HTTP 404).
	ErrNotFound = errors.New("remote: no such object")
	// ErrAccessDenied means the server refused the request (HTTP 401 or
	// 403): missing or wrong credentials, or no permission.
	ErrAccessDenied = errors.New("remote: access denied")
	// ErrRange means the server refused a range as not satisfiable (HTTP
	// 416) for an object that is not empty.
	ErrRange = errors.New("remote: range not satisfiable")
	// ErrChanged means the object was replaced or modified after it was
	// opened (a failed If-Match, another ETag, Last-Modified or size). No
	// bytes of the new object are returned.
	ErrChanged = errors.New("remote: object changed since it was opened")
	// ErrBadResponse means a reply did not match the request: a status
	// other than 206 for a range, a Content-Range other than the range
	// asked for, a body of another length. Its bytes are never used.
	ErrBadResponse = errors.New("remote: bad response from server")
	// ErrServer means the server kept failing (HTTP 5xx, 429) through all
	// retries.
	ErrServer = errors.New("remote: server error")
	// ErrUnreachable means the server could not be reached: the host name
	// does not resolve, the connection is refused or keeps breaking.
	ErrUnreachable = errors.New("remote: cannot reach server")
	// ErrTLS means the server's TLS certificate could not be verified
	// (see WithCABundle and ARRFILE_CA_BUNDLE for a private CA).
	ErrTLS = errors.New("remote: TLS verification failed")
	// ErrTimeout means a request took longer than the per-request timeout
	// (WithTimeout) through all retries.
	ErrTimeout = errors.New("remote: request timed out")
	// ErrClosed means the Object was closed.
	ErrClosed = errors.New("remote: object closed")
	// ErrUpload means an upload failed; a multipart upload was aborted so
	// that no parts remain.
	ErrUpload = errors.New("remote: upload failed")
)

// statusError is a reply with an HTTP status that is not a success.
type statusError struct {
	code         int
	contentRange string
	detail       string // the S3 error code, if any ("SlowDown")
}

func (e *statusError) Error() string {
	if e.detail != "" {
		return fmt.Sprintf("HTTP %d %s", e.code, e.detail)
	}
	return fmt.Sprintf("HTTP %d", e.code)
}

// badResponse is a reply that does not match its request.
type badResponse struct{ msg string }

func (e *badResponse) Error() string { return e.msg }

// changed is a reply showing the object was replaced.
type changed struct{ msg string }

func (e *changed) Error() string { return e.msg }

// retryable reports whether a failed attempt may succeed if repeated.
// parent is the caller's context: its cancellation is never retried.
func retryable(parent context.Context, err error) bool {
	if parent.Err() != nil {
		return false
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == 429
	}
	var br *badResponse
	var ch *changed
	if errors.As(err, &br) || errors.As(err, &ch) {
		return false
	}
	if isTLS(err) {
		return false
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return !de.IsNotFound
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func isTLS(err error) bool {
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ce x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	var ve *tls.CertificateVerificationError
	return errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ce) ||
		errors.As(err, &rh) || errors.As(err, &ve)
}

// classify turns the last error of a request into an error wrapping one
// of the package's sentinels, with a one-line detail that holds no URL
// query, header or credential.
func classify(parent context.Context, err error, attempts int) error {
	if cerr := parent.Err(); cerr != nil {
		return cerr
	}
	var se *statusError
	if errors.As(err, &se) {
		switch {
		case se.code == 404:
			return fmt.Errorf("%w (%v)", ErrNotFound, se)
		case se.code == 401 || se.code == 403:
			return fmt.Errorf("%w (%v)", ErrAccessDenied, se)
		case se.code == 412:
			return fmt.Errorf("%w (%v: If-Match failed)", ErrChanged, se)
		case se.code == 416:
			return fmt.Errorf("%w (%v)", ErrRange, se)
		case se.code >= 500 || se.code == 429:
			return fmt.Errorf("%w (%v, %d attempts)", ErrServer, se, attempts)
		}
		return fmt.Errorf("%w (unexpected %v)", ErrBadResponse, se)
	}
	var br *badResponse
	if errors.As(err, &br) {
		return fmt.Errorf("%w: %s", ErrBadResponse, br.msg)
	}
	var ch *changed
	if errors.As(err, &ch) {
		return fmt.Errorf("%w: %s", ErrChanged, ch.msg)
	}
	if isTLS(err) {
		return fmt.Errorf("%w: %s", ErrTLS, innermost(err))
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return fmt.Errorf("%w: %s", ErrUnreachable, de.Error())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%d attempts)", ErrTimeout, attempts)
	}
	return fmt.Errorf("%w: %s (%d attempts)", ErrUnreachable, innermost(err), attempts)
}

// innermost describes a transport error without the request URL that
// *url.Error and the SDK's operation errors add.
func innermost(err error) string {
	for {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
			continue
		}
		var oe *net.OpError
		if errors.As(err, &oe) {
			return oe.Error()
		}
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// pathError names the object in err, unless err is a context error or
// names it already.
func pathError(op, u string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == u {
		return err
	}
	return &fs.PathError{Op: op, Path: u, Err: err}
}
