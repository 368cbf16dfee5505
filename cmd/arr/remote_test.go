package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrfile/arrfile/codec/npyzst"
	"github.com/arrfile/arrfile/codec/zstdseek"
	"github.com/arrfile/arrfile/internal/descr"
	"github.com/arrfile/arrfile/internal/servertest"
	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/require"
)

// remoteFixtures copies the NumPy fixtures, an .npy.zst made from one and
// the NumPy .npz archives into dir, and returns the local paths by name.
func remoteFixtures(t *testing.T, dir string) map[string]string {
	t.Helper()
	local := map[string]string{}
	put := func(name, src string) {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
		local[name] = src
	}
	for _, n := range []string{"f8_le_2d_c.npy", "f8_le_2d_f.npy", "f8_be_1d.npy", "U3_le_1d.npy"} {
		if _, err := os.Stat(fixture(n)); err == nil {
			put(n, fixture(n))
		}
	}
	require.NotEmpty(t, local)
	zst := filepath.Join(t.TempDir(), "z.npy.zst")
	for n := range local {
		if strings.HasSuffix(n, ".npy") {
			require.NoError(t, npyzst.CompressFile(zst, fixture(n), zstdseek.WithFrameSize(4096)))
			put("z.npy.zst", zst)
			break
		}
	}
	put("savez.npz", "../../testdata/npz/savez.npz")
	put("savez_compressed.npz", "../../testdata/npz/savez_compressed.npz")
	return local
}

// sameOutput runs the command on the local file and on the URL and
// requires the same output with the label replaced.
func sameOutput(t *testing.T, base string, local map[string]string, cmds ...[]string) {
	t.Helper()
	for name, path := range local {
		for _, c := range cmds {
			for _, suffix := range []string{"", ":floats"} {
				if suffix != "" && !strings.HasSuffix(name, ".npz") {
					continue
				}
				wantOut, wantErr, wantCode := runArr(t, append(c, path+suffix)...)
				url := base + "/" + name
				gotOut, gotErr, gotCode := runArr(t, append(c, url+suffix)...)
				gotOut = strings.ReplaceAll(gotOut, url, path)
				gotErr = strings.ReplaceAll(gotErr, url, path)
				require.Equal(t, wantCode, gotCode, "%v %s%s: %s", c, url, suffix, gotErr)
				require.Equal(t, wantOut, gotOut, "%v %s%s", c, url, suffix)
				require.Equal(t, wantErr, gotErr, "%v %s%s", c, url, suffix)
			}
		}
	}
}

var remoteCmds = [][]string{{"info"}, {"info", "--json"}, {"checksum"}, {"show"}, {"verify"}}

func TestRemoteCommandsHTTP(t *testing.T) {
	h := servertest.StartHTTP(t)
	local := remoteFixtures(t, h.Root)
	sameOutput(t, h.URL, local, remoteCmds...)
	_, stderr, code := runArr(t, "info", h.URL+"/none.npy?sig=SECRET")
	require.Equal(t, 1, code)
	require.Equal(t, "arr: "+h.URL+"/none.npy: no such object (HTTP 404)\n", stderr)
}

func TestRemoteCommandsS3(t *testing.T) {
	s := servertest.StartS3(t)
	s.Env(t, s.Endpoint)
	local := remoteFixtures(t, s.Bucket(t, "arr"))
	// The posix backend serves files copied in; upload one too.
	_, stderr, code := runArr(t, "put", local["f8_le_2d_c.npy"], "s3://arr/up/x.npy")
	require.Equal(t, 0, code, stderr)
	sameOutput(t, "s3://arr", local, remoteCmds...)

	out, stderr, code := runArr(t, "ls", "s3://arr/up/")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "x.npy")
	// Every array with its header, the .npy.zst's from its first frame.
	out, stderr, code = runArr(t, "ls", "--json", "s3://arr/")
	require.Equal(t, 0, code, stderr)
	var ls []lsJSON
	require.NoError(t, json.Unmarshal([]byte(out), &ls))
	_, xh, err := npy.ReadFile[float64](local["f8_le_2d_c.npy"])
	require.NoError(t, err)
	zr, err := npyzst.Open(local["z.npy.zst"])
	require.NoError(t, err)
	defer zr.Close()
	want := map[string]*npy.Header{"up/x.npy": xh, "z.npy.zst": zr.Header}
	for _, e := range ls {
		h, ok := want[strings.TrimPrefix(e.Path, "s3://arr/")]
		if !ok {
			continue
		}
		delete(want, strings.TrimPrefix(e.Path, "s3://arr/"))
		require.True(t, e.Complete, e.Error)
		require.Equal(t, h.Shape, e.Shape, e.Path)
		wd, _ := json.Marshal(descr.JSON(h.DType))
		gd, _ := json.Marshal(e.DType)
		require.Equal(t, string(wd), string(gd), e.Path)
	}
	require.Empty(t, want, out)

	dir := t.TempDir()
	for _, src := range []string{"s3://arr/up/x.npy", "s3://arr/z.npy.zst", "s3://arr/savez.npz:floats", "s3://arr/savez_compressed.npz:floats"} {
		_, stderr, code := runArr(t, "get", "--quiet", src, dir)
		require.Equal(t, 0, code, "%s: %s", src, stderr)
	}
	for name, want := range map[string]string{"x.npy": local["f8_le_2d_c.npy"], "z.npy": local["z.npy.zst"]} {
		wantSum, _, _ := runArr(t, "checksum", want)
		gotSum, _, _ := runArr(t, "checksum", filepath.Join(dir, name))
		require.Equal(t, strings.Fields(wantSum)[0], strings.Fields(gotSum)[0], name)
	}
	wantSum, _, _ := runArr(t, "checksum", local["savez.npz"]+":floats")
	gotSum, _, _ := runArr(t, "checksum", filepath.Join(dir, "floats.npy"))
	require.Equal(t, strings.Fields(wantSum)[0], strings.Fields(gotSum)[0])
	_, _, err = npy.ReadFile[float64](filepath.Join(dir, "x.npy"))
	require.NoError(t, err)
}

// TestRemotePutHTTP puts a file to a real nginx with `arr put` (an HTTP
// PUT) and reads it back: the same checksum as the local file.
func TestRemotePutHTTP(t *testing.T) {
	h := servertest.StartHTTP(t)
	local := fixture("f8_le_2d_c.npy")
	u := h.PutURL + "/sub/x.npy"
	_, stderr, code := runArr(t, "put", "--quiet", local, u)
	require.Equal(t, 0, code, stderr)
	want, _, _ := runArr(t, "checksum", local)
	got, stderr, code := runArr(t, "checksum", u)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, strings.Fields(want)[0], strings.Fields(got)[0])
	b, err := os.ReadFile(filepath.Join(h.Root, "put", "sub", "x.npy"))
	require.NoError(t, err)
	lb, err := os.ReadFile(local)
	require.NoError(t, err)
	require.True(t, bytes.Equal(lb, b), "stored file differs")

	// Outside the PUT location: refused, one line naming the file.
	_, stderr, code = runArr(t, "put", "--quiet", local, h.URL+"/x.npy")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "HTTP 405")
	t.Log(stderr)
	require.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
}
