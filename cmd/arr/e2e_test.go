package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildArr builds the arr binary into a temporary folder.
func buildArr(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "arr")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// TestBinary runs the built command for a few end-to-end cases, checking
// output, exit statuses and that nothing resembling a Go panic appears.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildArr(t)
	exe := func(stdin []byte, args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Stdin = bytes.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return out.String(), errb.String(), code
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "z.npy")

	out, stderr, code := exe(nil, "create", p, "--dtype", "float32", "--shape", "2,3")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, out)

	out, _, code = exe(nil, "show", p)
	require.Equal(t, 0, code)
	assert.Equal(t, "[[0. 0. 0.]\n [0. 0. 0.]]\n", out)

	out, _, code = exe(nil, "info", "--json", p)
	require.Equal(t, 0, code)
	assert.Contains(t, out, `"dtype": "<f4"`)

	raw, err := os.ReadFile(p)
	require.NoError(t, err)
	fromFile, _, code := exe(nil, "checksum", p)
	require.Equal(t, 0, code)
	fromStdin, _, code := exe(raw, "checksum", "-")
	require.Equal(t, 0, code)
	assert.Equal(t, strings.Fields(fromFile)[0], strings.Fields(fromStdin)[0])

	// Every bad fixture through the real binary: status 1, one line, no
	// panic or stack trace.
	bad, err := filepath.Glob(filepath.Join(badDir, "*.npy"))
	require.NoError(t, err)
	args := append([]string{"show"}, bad...)
	out, stderr, code = exe(nil, args...)
	assert.Equal(t, exitError, code)
	assert.NotContains(t, stderr, "goroutine")
	assert.NotContains(t, stderr, "panic")
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		assert.True(t, strings.HasPrefix(line, "arr: "+badDir+"/"), line)
	}
	_ = out

	_, stderr, code = exe(nil, "show", "--limit")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "usage: arr show")

	_, _, code = exe(nil)
	assert.Equal(t, exitUsage, code)
}
