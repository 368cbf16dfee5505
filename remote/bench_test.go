package remote

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/internal/servertest"
	"github.com/arrfile/arrfile/npy"
)

// BenchmarkRangeGET measures one range GET of each size against
// versitygw: the per-request cost and the per-byte cost, whose ratio is
// the gap worth merging (see docs/remote.md).
func BenchmarkRangeGET(b *testing.B) {
	s := servertest.StartS3(b)
	s.Env(b, s.Endpoint)
	dir := s.Bucket(b, "arr")
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i)
	}
	os.WriteFile(filepath.Join(dir, "x"), data, 0o644)
	o, err := Open(context.Background(), "s3://arr/x", WithTailSize(1<<10))
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{4 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			p := make([]byte, size)
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				off := int64(1<<20 + (i*size)%(32<<20))
				if err := o.getRange(context.Background(), p, off); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRemoteBench measures the figures of docs/benchmarks.md (remote
// section) when ARRFILE_REMOTE_BENCH is set (it is not a timed test: it
// asserts nothing about speed). ARRFILE_REMOTE_BENCH_MIB sets the array
// size (default 1024); the files go to $ARRFILE_DIR or /dev/shm. Each
// loopback figure is the better of two runs; the WAN downloads are single
// runs; one-element reads are the median of seven.
func TestRemoteBench(t *testing.T) {
	if os.Getenv("ARRFILE_REMOTE_BENCH") == "" {
		t.Skip("set ARRFILE_REMOTE_BENCH=1 to run the remote benchmarks")
	}
	mib, _ := strconv.Atoi(os.Getenv("ARRFILE_REMOTE_BENCH_MIB"))
	if mib == 0 {
		mib = 1024
	}
	shm := os.Getenv("ARRFILE_DIR")
	if shm == "" {
		shm = "/dev/shm"
	}
	out, err := os.MkdirTemp(shm, "remotebench")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(out)
	s := servertest.StartS3(t)
	s.Env(t, s.Endpoint)
	dir := s.Bucket(t, "arr")

	// Incompressible float64 data.
	n := mib << 20 / 8
	v := make([]float64, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range v {
		v[i] = r.Float64()
	}
	var buf bytes.Buffer
	buf.Grow(n*8 + 128)
	npy.Write(&buf, v)
	v = nil
	raw := buf.Bytes()
	src := filepath.Join(dir, "big.npy")
	if err := os.WriteFile(src, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	if _, err := npyzst.Compress(&zb, bytes.NewReader(raw), zstdseek.WithLevel(1)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "big.npy.zst"), zb.Bytes(), 0o644)
	zb = bytes.Buffer{}
	// Compressible: small integers as float64.
	cv := make([]float64, n)
	for i := range cv {
		cv[i] = float64(i % 1000)
	}
	var cb bytes.Buffer
	npy.Write(&cb, cv)
	cv = nil
	var czb bytes.Buffer
	npyzst.Compress(&czb, bytes.NewReader(cb.Bytes()), zstdseek.WithLevel(1))
	os.WriteFile(filepath.Join(dir, "small.npy.zst"), czb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "small.npy"), cb.Bytes(), 0o644)
	cb, czb = bytes.Buffer{}, bytes.Buffer{}
	buf = bytes.Buffer{}
	raw = nil
	// Truly incompressible: random bytes, which zstd stores as raw blocks
	// (random float64 above gain about 6% from Huffman-coded literals,
	// as with the zstd command, and decode at the Huffman decoder's speed).
	rb := make([]uint8, n*8)
	rand.NewChaCha8([32]byte{1}).Read(rb)
	var rbuf, rzb bytes.Buffer
	npy.Write(&rbuf, rb)
	rb = nil
	npyzst.Compress(&rzb, bytes.NewReader(rbuf.Bytes()), zstdseek.WithLevel(1))
	os.WriteFile(filepath.Join(dir, "bytes.npy.zst"), rzb.Bytes(), 0o644)
	rbuf, rzb = bytes.Buffer{}, bytes.Buffer{}
	// The fixtures' write-back to disk would slow whichever read comes
	// first.
	exec.Command("sync").Run()

	ctx := context.Background()
	timeIt := func(name string, fn func() error) time.Duration {
		t0 := time.Now()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := time.Since(t0)
		t.Logf("%-40s %8.3f s", name, d.Seconds())
		return d
	}
	// best runs fn twice and returns the faster time: on a shared
	// machine the better of two is the steadier figure.
	best := func(name string, fn func() error) time.Duration {
		return min(timeIt(name, fn), timeIt(name, fn))
	}
	curl := func(endpoint, key, dest string) func() error {
		return func() error {
			c := exec.Command("curl", "-sS", "-f", "-o", dest, "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", s.Access+":"+s.Secret,
				"-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", endpoint+"/arr/"+key)
			if o, err := c.CombinedOutput(); err != nil {
				return fmt.Errorf("curl: %v: %s", err, o)
			}
			return nil
		}
	}
	fetch := func(u, dest string, opts ...Option) func() error {
		return func() error {
			res, err := Fetch(ctx, u, dest, opts...)
			os.Remove(dest)
			if err == nil {
				t.Logf("%s: %d requests", u, res.Requests)
			}
			return err
		}
	}
	t.Logf("array: %d MiB of float64", mib)
	dCurl := best("curl GET .npy -> shm", curl(s.Endpoint, "big.npy", filepath.Join(out, "curl.npy")))
	os.Remove(filepath.Join(out, "curl.npy"))
	dGet := best("Fetch .npy -> shm", fetch("s3://arr/big.npy", filepath.Join(out, "a.npy")))
	dZst := best("Fetch .npy.zst (incompressible) -> shm", fetch("s3://arr/big.npy.zst", filepath.Join(out, "b.npy")))
	dBytes := best("Fetch .npy.zst (random bytes) -> shm", fetch("s3://arr/bytes.npy.zst", filepath.Join(out, "e.npy")))
	dSmall := best("Fetch .npy (compressible) -> shm", fetch("s3://arr/small.npy", filepath.Join(out, "c.npy")))
	dSmallZ := best("Fetch .npy.zst (compressible) -> shm", fetch("s3://arr/small.npy.zst", filepath.Join(out, "d.npy")))
	t.Logf("curl/get %.2f, zst/npy incompressible %.2f (random bytes %.2f), zst/npy compressible %.2f", dCurl.Seconds()/dGet.Seconds(), dZst.Seconds()/dGet.Seconds(), dBytes.Seconds()/dGet.Seconds(), dSmallZ.Seconds()/dSmall.Seconds())

	// One element of the .npy.zst against downloading the object.
	p := servertest.NewProxy(t, s.Endpoint)
	s.Env(t, p.URL)
	// One element: a fresh Open each time (its own client), the median
	// of oneRuns runs, since one run of a few milliseconds is mostly noise.
	const oneRuns = 7
	oneElement := func(name string, at int64) time.Duration {
		ds := make([]time.Duration, oneRuns)
		for i := range ds {
			ds[i] = timeIt(name, func() error {
				o, err := Open(ctx, "s3://arr/big.npy.zst")
				if err != nil {
					return err
				}
				zr, err := npyzst.NewReader(o, o.Size())
				if err != nil {
					return err
				}
				_, err = npyzst.ReadElements[float64](zr, at, at+1)
				return err
			})
		}
		slices.Sort(ds)
		return ds[oneRuns/2]
	}
	one := oneElement("one element of .npy.zst (open+table+frame)", int64(n/2))
	t.Logf("one element: %d requests, median of %d runs %.4f s; download/one-element %.0fx", p.Requests()/oneRuns, oneRuns, one.Seconds(), dCurl.Seconds()/one.Seconds())

	// Through a simulated WAN: 20 ms per request, 50 MB/s per connection.
	wan := servertest.NewWAN(t, s.Endpoint, 20*time.Millisecond, 50e6)
	s.Env(t, wan.URL)
	wCurl := timeIt("WAN: curl GET .npy", curl(wan.URL, "big.npy", filepath.Join(out, "curl.npy")))
	os.Remove(filepath.Join(out, "curl.npy"))
	wGet := timeIt("WAN: Fetch .npy", fetch("s3://arr/big.npy", filepath.Join(out, "a.npy")))
	before := wan.Requests()
	wOne := oneElement("WAN: one element of .npy.zst", int64(n/3))
	t.Logf("WAN: curl/get %.2fx; one element %d requests, median of %d runs %.3f s", wCurl.Seconds()/wGet.Seconds(), (wan.Requests()-before)/oneRuns, oneRuns, wOne.Seconds())
}
