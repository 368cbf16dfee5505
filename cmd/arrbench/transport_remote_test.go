package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// localTransports are the transports of a run without --remote.
func localTransports() []*transport {
	var ts []*transport
	for _, t := range allTransports {
		if !t.Remote {
			ts = append(ts, t)
		}
	}
	return ts
}

var remoteNames = []string{"s3-get-map", "http-get-map", "s3-npyzst"}

// TestRemote runs the remote transports at tiny sizes against the
// versitygw and nginx arrbench starts itself, next to npy-tmpfs, and
// checks that every row verified its data, that the servers are stopped,
// their folders (bucket included) removed and the AWS environment put
// back. Without the servers it skips on a developer's machine and fails
// under CI=true.
func TestRemote(t *testing.T) {
	if _, _, err := findServers(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the remote transports: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://192.0.2.1:1") // must be put back
	only := strings.Join(append([]string{"npy-tmpfs"}, remoteNames...), ",")
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "r.csv")
	code, stdout, stderr, doc := runArrbench(t, "--remote", "--sizes", "64KiB,200000", "--data", "normal,smooth", "--repeats", "2",
		"--only", only, "--csv", csvPath)
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", stderr, stdout)
	checkJSONShape(t, doc)
	res := resultsByName(doc)
	assert.Len(t, res, 4*2*2)
	for _, name := range append([]string{"npy-tmpfs"}, remoteNames...) {
		for _, k := range []string{"normal", "smooth"} {
			for _, size := range []string{"65536", "200000"} {
				key := name + "/" + k + "/" + size
				r, ok := res[key]
				require.True(t, ok, "no result for %s", key)
				assert.Equal(t, true, r["verified"], "%s: %v %v", key, r["error"], r["skipped"])
				assert.Equal(t, 2.0, r["repeats"], key)
				for _, run := range r["runs"].([]any) {
					m := run.(map[string]any)
					assert.Equal(t, r["checksum"], m["checksum"], "%s: the consumer's answer", key)
					assert.Greater(t, m["stored_bytes"], 0.0, key)
				}
			}
		}
	}
	for _, name := range remoteNames {
		assert.Contains(t, stdout, name)
	}
	b, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	for _, name := range remoteNames {
		assert.Contains(t, string(b), name)
	}
	assert.Equal(t, "http://192.0.2.1:1", os.Getenv("AWS_ENDPOINT_URL_S3"), "the environment is put back")
}

// TestRemoteOff checks that the remote transports stay out of a run
// without --remote, and that naming them alone asks for the flag.
func TestRemoteOff(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run([]string{"--only", "s3-get-map,http-get-map"}, &out, &errb))
	assert.Contains(t, errb.String(), "need --remote")
	code, stdout, stderr, doc := runArrbench(t, "--sizes", "64KiB", "--repeats", "1", "--only", "pipe-raw,s3-get-map")
	require.Equal(t, 0, code, stderr)
	res := resultsByName(doc)
	assert.Len(t, res, 1)
	assert.Contains(t, res, "pipe-raw/normal/65536")
	assert.NotContains(t, stdout, "s3-get-map")
}

// TestRemoteMissingServer checks the error naming the variables when a
// server binary is missing.
func TestRemoteMissingServer(t *testing.T) {
	t.Setenv(envNginx, filepath.Join(t.TempDir(), "no-nginx"))
	code, _, stderr, _ := runArrbench(t, "--remote", "--sizes", "64KiB", "--repeats", "1", "--only", "http-get-map")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--remote: "+envNginx+"=")
	assert.Contains(t, stderr, "no-nginx")
	assert.Contains(t, stderr, "apt-get install nginx-light")
}
