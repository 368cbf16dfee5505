package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv makes the test binary act as a producer that crashes: it creates
// an array with mmfile and exits without publishing or closing it.
const childEnv = "ARR_TEST_CRASHING_PRODUCER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		dt, _ := npy.ParseDType("<f8")
		if _, err := mmfile.Create(filepath.Join(dir, "crashed.npy"), &npy.Header{DType: dt, Shape: []int{100}}, nil); err != nil {
			os.Exit(2)
		}
		os.Exit(3) // crash: no Publish, no Close
	}
	os.Exit(m.Run())
}

// crashProducer runs a real process that leaves a temporary file in dir.
func crashProducer(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 3, ee.ExitCode(), "producer did not get to create the array")
}

func TestLsRmGc(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, writeNpyFile(filepath.Join(dir, "a.npy"), []float32{1, 2, 3}, 3))
	require.NoError(t, writeNpyFile(filepath.Join(dir, "b.npy"), make([]int64, 6), 2, 3))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an array"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.npy"), []byte("\x93NUMPY\x01\x00"), 0o644))
	crashProducer(t, dir)
	z := filepath.Join(dir, "c.npy.zst")
	_, stderr, code := runArr(t, "convert", fixture("i2_be_3d_f.npy"), z)
	require.Equal(t, 0, code, stderr)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fake.npz"), []byte("PK\x03\x04 not really"), 0o644))

	// A producer still at work in this process.
	dt, _ := npy.ParseDType("<u2")
	live, err := mmfile.Create(filepath.Join(dir, "inprogress.npy"), &npy.Header{DType: dt, Shape: []int{5}}, nil)
	require.NoError(t, err)
	defer live.Close()

	out, stderr, code := runArr(t, "ls", dir)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 8, out) // header + a, b, broken, c.npy.zst, fake.npz, 2 temporaries
	assert.Regexp(t, `^NAME\s+DTYPE\s+SHAPE\s+SIZE\s+AGE\s+NOTE$`, lines[0])
	assert.Regexp(t, `(?m)^\.crashed\.npy\.\S+\.arrtmp\s.*temporary for crashed\.npy \(stale: producer gone\)$`, out)
	assert.Regexp(t, `(?m)^\.inprogress\.npy\.\S+\.arrtmp\s.*temporary for inprogress\.npy \(producer running\)$`, out)
	assert.Regexp(t, `(?m)^a\.npy\s+<f4\s+\(3,\)\s+140 B\s+\d+s\s*$`, out)
	assert.Regexp(t, `(?m)^b\.npy\s+<i8\s+\(2, 3\)\s+176 B\s+\d+s\s*$`, out)
	assert.Regexp(t, `(?m)^broken\.npy\s+-\s+-\s+8 B\s+\d+s\s+truncated`, out)
	assert.NotContains(t, out, "notes.txt")
	assert.Regexp(t, `(?m)^c\.npy\.zst\s+>i2\s+\(3, 2, 4\) F\s+\d+ B\s+\d+s\s+npy\.zst, 2 frames$`, out)
	assert.Regexp(t, `(?m)^fake\.npz\s+-\s+-\s+.*bad zip`, out)

	out, stderr, code = runArr(t, "ls", "--json", dir)
	require.Equal(t, 0, code, stderr)
	var entries []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &entries))
	require.Len(t, entries, 7)
	byName := map[string]map[string]any{}
	for _, e := range entries {
		byName[e["name"].(string)] = e
	}
	assert.Equal(t, "<f4", byName["a.npy"]["dtype"])
	assert.Equal(t, true, byName["a.npy"]["complete"])
	assert.Contains(t, byName["broken.npy"]["error"], "truncated")
	assert.Equal(t, "npy.zst", byName["c.npy.zst"]["format"])

	// gc: the young crashed temporary survives the default age, goes with 0s;
	// the live one stays.
	out, _, code = runArr(t, "gc", dir)
	require.Equal(t, 0, code)
	assert.Empty(t, out)
	out, _, code = runArr(t, "gc", "--older-than", "0s", "--dry-run", dir)
	require.Equal(t, 0, code)
	assert.Regexp(t, `^would remove .*\.crashed\.npy\.\S+\.arrtmp\n$`, out)
	out, _, code = runArr(t, "gc", "--older-than", "0s", dir)
	require.Equal(t, 0, code)
	assert.Regexp(t, `^removed .*\.crashed\.npy\.\S+\.arrtmp\n$`, out)
	m, _ := filepath.Glob(filepath.Join(dir, ".crashed*"))
	assert.Empty(t, m)
	m, _ = filepath.Glob(filepath.Join(dir, ".inprogress*"))
	assert.Len(t, m, 1, "a running producer's file is kept")

	// rm: arrays go, other files are refused.
	out, stderr, code = runArr(t, "rm", "-v", filepath.Join(dir, "a.npy"), filepath.Join(dir, "notes.txt"), z)
	assert.Equal(t, exitError, code)
	assert.Equal(t, "removed "+filepath.Join(dir, "a.npy")+"\nremoved "+z+"\n", out)
	requireOneErrorLine(t, stderr, filepath.Join(dir, "notes.txt"))
	assert.Contains(t, stderr, "not an .npy array")
	_, stderr, code = runArr(t, "rm", filepath.Join(dir, "fake.npz"))
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, filepath.Join(dir, "fake.npz"))
	_, err = os.Stat(filepath.Join(dir, "notes.txt"))
	assert.NoError(t, err, "non-array kept")
	_, err = os.Stat(filepath.Join(dir, "a.npy"))
	assert.True(t, os.IsNotExist(err))
}

// TestRmSharedFolder resolves a bare name in the shared folder.
func TestRmSharedFolder(t *testing.T) {
	shared := t.TempDir()
	t.Setenv("ARRFILE_DIR", shared)
	require.NoError(t, writeNpyFile(filepath.Join(shared, "x.npy"), []uint8{1}, 1))
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.NoError(t, os.Chdir(t.TempDir()))
	defer os.Chdir(wd)

	out, stderr, code := runArr(t, "ls")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "x.npy")
	out, stderr, code = runArr(t, "rm", "-v", "x.npy")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "removed "+filepath.Join(shared, "x.npy")+"\n", out)
	_, stderr, code = runArr(t, "rm", "x.npy")
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, "x.npy")
}

func TestLsMissingDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope")
	_, stderr, code := runArr(t, "ls", p)
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, p)
	_, stderr, code = runArr(t, "gc", p)
	assert.Equal(t, exitError, code)
	requireOneErrorLine(t, stderr, p)
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 42 * time.Second: "42s", 5 * time.Minute: "5m",
		3 * time.Hour: "3h", 47 * time.Hour: "47h", 72 * time.Hour: "3d",
	} {
		assert.Equal(t, want, age(d), d.String())
	}
}
