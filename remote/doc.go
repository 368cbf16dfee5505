// Package remote reads and writes arrays on S3-compatible object stores
// (s3://BUCKET/KEY) and HTTP servers (http:// and https://) by range
// requests.
//
// A remote object is an io.ReaderAt with its size (Object), so packages
// npy, codec/npyzst and codec/npz read remote files through the same code
// as local ones. Fetch brings a remote .npy or .npy.zst onto the machine
// as a published mmfile array, so that every local process maps it by
// name; Put uploads a file; List lists the arrays under an S3 prefix.
//
// # Configuration
//
// s3:// URLs use the AWS SDK's standard configuration and nothing else:
// the default credential chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, shared config and credential files, AWS_PROFILE,
// web identity, instance roles), AWS_REGION, and AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL for stores other than AWS. Path-style addressing
// (ENDPOINT/BUCKET/KEY) is used whenever a custom endpoint is set;
// ARRFILE_S3_PATH_STYLE=true or false overrides that. http(s):// URLs use
// net/http with TLS verification on; ARRFILE_CA_BUNDLE (or WithCABundle)
// adds a PEM file of CA certificates, and AWS_CA_BUNDLE does for S3.
//
// # Requests
//
// Open costs one request: a range GET of the first 64 KiB, whose
// Content-Range gives the object's size (there is no HEAD) and whose bytes
// are kept, so that an .npy header is read from them. The first small read
// within the last 64 KiB fetches that suffix (one GET of bytes=-N) and
// keeps it: the seek table of an .npy.zst and the central directory of an
// .npz are read from it. For a key or path ending in .zst or .npz, Open
// sends that suffix GET along with the opening one, and keeps its reply
// when it agrees with the opening reply (status, Content-Range, length,
// ETag or Last-Modified); otherwise it is dropped and fetched again when
// read. A small read elsewhere (under half the merge
// gap, WithMergeGap) fetches a block of the merge gap's size from its
// offset and keeps the last few such blocks, because small reads come in
// runs (zip headers, a deflated member read through a small buffer, rows
// printed one by one). Other reads are single-range GETs; a large read
// is split into parts (8 MiB by default) sent in parallel, up to a
// concurrency limit (DefaultConcurrency) shared by all reads of the
// Object. ReadRanges merges ranges closer than a gap threshold into one
// request. A request never asks for several ranges: object stores answer
// that with the whole object.
//
// # Checks and consistency
//
// Every reply is checked before its bytes are used: a range must come back
// as 206 with a Content-Range of exactly the range asked for and the size
// seen at open, with a body of exactly that length (ErrBadResponse
// otherwise). The version seen at open is asked for on every later
// request: the ETag as If-Match (S3 and HTTP; an HTTP server with only
// Last-Modified gets If-Unmodified-Since and If-Range), and the reply's
// ETag, Last-Modified and size are compared as well. An object replaced
// under a reader is ErrChanged, never a mix of old and new bytes.
//
// A server that ignores Range and answers the opening request with the
// whole object (200) is accepted: the first 64 KiB are kept and the
// connection dropped, and each later read streams the object from its
// start, dropping the bytes before the range, without buffering them
// (RangeIgnored reports it). That is correct but slow for random access;
// Fetch reads such an object once, front to back.
//
// # Faults
//
// Failed requests are retried with exponential backoff and full jitter
// (WithRetries, WithBackoff) on HTTP 5xx and 429 (S3's SlowDown is 503),
// timeouts (WithTimeout bounds each attempt) and broken connections; a body
// cut midway is resumed from the first missing byte. Every call takes a
// context.Context and stops when it is cancelled. 404 is ErrNotFound,
// 401/403 ErrAccessDenied, 416 ErrRange, name resolution and refused
// connections ErrUnreachable, certificate failures ErrTLS: one line each,
// as a *fs.PathError whose Path is the URL without user information and
// query string. Credentials and signatures never appear in errors.
package remote
