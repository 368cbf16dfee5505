package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/remote"
)

// The remote transports (--remote): the array is held by an object store
// (versitygw, S3) or a web server (nginx), both started by arrbench on
// 127.0.0.1 (remote_servers.go). The producer puts the array there before
// the clock starts, as a remote store holds it; the hand-off is the URL;
// the consumer fetches it into --shm-dir (remote.Fetch: parallel range
// GETs written straight into the new file's mapping, or .npy.zst frames
// decompressed straight into it), maps it and sums it.

func init() {
	consumers["s3-get-map"] = consumeRemote
	consumers["http-get-map"] = consumeRemote
	consumers["s3-npyzst"] = consumeRemote
	rt := []*transport{
		{
			Name:        "s3-get-map",
			Folder:      folderShm,
			Kind:        kindGo,
			Remote:      true,
			Desc:        "array put in an S3 bucket (versitygw on 127.0.0.1) before the clock, URL passed, consumer fetches it into --shm-dir (remote.Fetch) and maps it; needs --remote",
			MemNeed:     func(s int64) int64 { return s },
			Unavailable: remoteUnavailable,
			Run:         runRemote("s3-get-map"),
		},
		{
			Name:        "http-get-map",
			Folder:      folderShm,
			Kind:        kindGo,
			Remote:      true,
			Desc:        "as s3-get-map from nginx on 127.0.0.1 (the .npy in its folder); needs --remote",
			MemNeed:     func(s int64) int64 { return s },
			Unavailable: remoteUnavailable,
			Run:         runRemote("http-get-map"),
		},
		{
			Name:        "s3-npyzst",
			Folder:      folderShm,
			Kind:        kindGo,
			Remote:      true,
			Compressed:  true,
			Desc:        "seekable .npy.zst put in the S3 bucket before the clock, consumer fetches and decompresses it in parallel straight into a mapped .npy in --shm-dir; needs --remote",
			MemNeed:     func(s int64) int64 { return s + 64<<20 },
			Unavailable: remoteUnavailable,
			Run:         runRemote("s3-npyzst"),
		},
	}
	allTransports = append(allTransports, rt...)
}

// remoteUnavailable says why the remote transports cannot run.
func remoteUnavailable(b *bench) string {
	switch {
	case !b.cfg.remote:
		return "needs --remote"
	case b.servers == nil:
		return "the servers are not running"
	}
	return ""
}

// runRemote returns the Run function of a remote transport.
func runRemote(name string) func(*bench, *dataSet, int) (measurement, error) {
	return func(b *bench, ds *dataSet, n int) (measurement, error) {
		w, err := b.worker()
		if err != nil {
			return measurement{}, err
		}
		size := int64(n) * int64(ds.Kind.Size)
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout(size))
		defer cancel()
		srv := b.servers
		b.seq++
		key := fmt.Sprintf("a%d.npy", b.seq)
		var url, stored string // the object's URL and its file on the server
		switch name {
		case "http-get-map":
			stored = filepath.Join(srv.httpRoot, key)
			url = srv.httpURL + "/" + key
			if err := writeSlice(ds, n, stored); err != nil {
				return measurement{}, err
			}
		default:
			local := filepath.Join(b.disk, key)
			if name == "s3-npyzst" {
				key += ".zst"
				local += ".zst"
				err = writeNpyZst(ds, n, local, b.cfg.zstdLevel)
			} else {
				err = writeSlice(ds, n, local)
			}
			if err != nil {
				os.Remove(local)
				return measurement{}, err
			}
			url = "s3://" + srv.bucket + "/" + key
			stored = filepath.Join(srv.bucketDir, key)
			err = remote.Put(ctx, local, url)
			os.Remove(local)
			if err != nil {
				os.Remove(stored)
				return measurement{}, err
			}
		}
		defer os.Remove(stored)
		st, err := os.Stat(stored)
		if err != nil {
			return measurement{}, err
		}
		dest := b.newPath(b.shmRun)
		defer os.Remove(dest)
		req := request{Op: "run", Transport: name, DType: ds.Kind.DType, N: int64(n), Path: dest, URL: url, Populate: b.cfg.populate}
		t0 := time.Now()
		rep, err := w.exchange(req, nil, b.timeout(size))
		t1 := time.Now()
		if err != nil {
			return measurement{}, err
		}
		return fromReply(rep, 0, t1.Sub(t0), st.Size()), nil
	}
}

// consumeRemote fetches req.URL into req.Path as a published array, maps
// it and sums it; open time covers the fetch and the mapping.
func consumeRemote(w *worker, req *request, _ io.Reader) (reply, error) {
	opt, err := consumerOptions(req)
	if err != nil {
		return reply{}, err
	}
	t0 := time.Now()
	if _, err := remote.Fetch(context.Background(), req.URL, req.Path); err != nil {
		return reply{}, err
	}
	a, err := mmfile.Open(req.Path, mmfile.ReadOnly, opt)
	if err != nil {
		return reply{}, err
	}
	w.release = append(w.release, func() { a.Close() })
	return sumMapped(a, req, t0)
}
