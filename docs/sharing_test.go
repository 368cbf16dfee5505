//go:build linux

// Package docs_test runs the Python snippets of docs/sharing.md against
// real Go processes and files, so that the documentation cannot drift from
// what works. Every ```python block in the file must be preceded by a
// "<!-- doctest: KIND -->" comment naming the check below that runs it
// (or by a "<!-- pattern:... -->" comment: those blocks are mmfile's
// pattern tests).
package docs_test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// snippet is one ```python block of a document.
type snippet struct {
	kind, code string
	line       int // of the opening fence
}

var directive = regexp.MustCompile(`^\s*<!-- doctest: (\w+) -->\s*$`)

// elsewhere marks blocks that another test runs: the "<!-- pattern:NAME:LANG
// -->" blocks of the multi-process patterns, which mmfile's
// patterns_linux_test.go extracts and runs.
var elsewhere = regexp.MustCompile(`^\s*<!-- pattern:[\w:-]+ -->\s*$`)

// pythonSnippets returns the ```python blocks of the Markdown file at
// path, dedented to their fence, with the kind of their directive ("" for
// a block without one).
func pythonSnippets(t *testing.T, path string) []snippet {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	var out []snippet
	kind := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := directive.FindStringSubmatch(l); m != nil {
			kind = m[1]
			continue
		}
		if elsewhere.MatchString(l) {
			kind = "elsewhere"
			continue
		}
		trimmed := strings.TrimSpace(l)
		if trimmed == "" {
			continue
		}
		if trimmed != "```python" {
			if strings.HasPrefix(trimmed, "```") { // another block: skip it whole
				for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				}
			}
			kind = ""
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
		s := snippet{kind: kind, line: i + 1}
		var code []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			code = append(code, strings.TrimPrefix(lines[i], indent))
		}
		s.code = strings.Join(code, "\n") + "\n"
		out = append(out, s)
		kind = ""
	}
	return out
}

// env is what the snippets run in: a folder of their own as $ARRFILE_DIR,
// python/ on PYTHONPATH, and arr (built once) on PATH.
type env struct {
	py, dir, path string
}

var (
	arrOnce sync.Once
	arrDir  string
	arrErr  error
)

// buildArr builds cmd/arr once for the gc snippet.
func buildArr(t *testing.T) string {
	t.Helper()
	arrOnce.Do(func() {
		arrDir, arrErr = os.MkdirTemp("", "docs-arr-")
		if arrErr != nil {
			return
		}
		var out []byte
		out, arrErr = exec.Command("go", "build", "-o", filepath.Join(arrDir, "arr"), "../cmd/arr").CombinedOutput()
		if arrErr != nil {
			arrErr = &exec.Error{Name: "go build: " + string(out), Err: arrErr}
		}
	})
	require.NoError(t, arrErr)
	return arrDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if arrDir != "" {
		os.RemoveAll(arrDir)
	}
	os.Exit(code)
}

// run runs a snippet with args and returns its standard output.
func (e *env) run(t *testing.T, s snippet, args ...string) string {
	t.Helper()
	script := filepath.Join(t.TempDir(), "snippet.py")
	require.NoError(t, os.WriteFile(script, []byte(s.code), 0o644))
	cmd := exec.Command(e.py, append([]string{script}, args...)...)
	pyDir, err := filepath.Abs("../python")
	require.NoError(t, err)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pyDir, "ARRFILE_DIR="+e.dir, "PATH="+e.path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "docs/sharing.md:%d (%s): %s", s.line, s.kind, stderr.String())
	return stdout.String()
}

// frames is the array of the Go producer of docs/sharing.md: float32
// (1000, 640), element i is i%640.
func frames() ([]float32, *npy.Header) {
	v := make([]float32, 1000*640)
	for i := range v {
		v[i] = float32(i % 640)
	}
	return v, &npy.Header{Shape: []int{1000, 640}}
}

const framesLine = "float32 (1000, 640) 204480000.0\n"

// checks run a snippet of each kind and check what it did.
var checks = map[string]func(t *testing.T, e *env, s snippet){
	// A consumer reads the Go producer's array.
	"consumer": func(t *testing.T, e *env, s snippet) {
		name := filepath.Join(e.dir, "frames.npy")
		v, h := frames()
		require.NoError(t, mmfile.Write(name, v, h, nil))
		assert.Equal(t, framesLine, e.run(t, s, name))
	},
	// A receiver gets the Go producer's array as a sealed memfd through
	// mmfile.Send.
	"recv": func(t *testing.T, e *env, s snippet) {
		sock := filepath.Join(e.dir, "producer.sock")
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		require.NoError(t, err)
		defer l.Close()
		sent := make(chan error, 1)
		go func() {
			conn, err := l.AcceptUnix()
			if err != nil {
				sent <- err
				return
			}
			defer conn.Close()
			v, h := frames()
			a, err := mmfile.WriteAnon("frames", v, h, nil)
			if err != nil {
				sent <- err
				return
			}
			defer a.Close()
			sent <- mmfile.Send(conn, a)
			conn.Read(make([]byte, 1)) // until the receiver is done
		}()
		assert.Equal(t, framesLine, e.run(t, s, sock))
		require.NoError(t, <-sent)
	},
	// A producer publishes float64 (1000, 3) = arange while RemoveStale(dir,
	// 0) runs in a loop: it must never remove the producer's temporary.
	"producer": func(t *testing.T, e *env, s snippet) {
		name := filepath.Join(e.dir, "from-python.npy")
		var removed atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, _ := mmfile.RemoveStale(e.dir, 0)
				removed.Add(int64(len(r)))
			}
		}()
		e.run(t, s, name)
		close(stop)
		wg.Wait()
		assert.Zero(t, removed.Load(), "gc removed a running Python producer's temporary")
		a, err := mmfile.Open(name, mmfile.ReadOnly, nil)
		require.NoError(t, err)
		defer a.Close()
		assert.Equal(t, []int{1000, 3}, a.Header().Shape)
		v, err := mmfile.Slice[float64](a)
		require.NoError(t, err)
		for i, x := range v {
			if x != float64(i) {
				t.Fatalf("element %d is %v", i, x)
			}
		}
		umask := syscall.Umask(0)
		syscall.Umask(umask)
		fi, err := os.Stat(name)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o666&^umask), fi.Mode().Perm())
		left, err := filepath.Glob(filepath.Join(e.dir, ".*.arrtmp"))
		require.NoError(t, err)
		assert.Empty(t, left, "temporaries left behind")
	},
	// Python writes through "r+" while Go has the file mapped read-write.
	"readwrite": func(t *testing.T, e *env, s snippet) {
		name := filepath.Join(e.dir, "shared.npy")
		require.NoError(t, mmfile.Write(name, make([]float64, 12), &npy.Header{Shape: []int{4, 3}}, nil))
		a, err := mmfile.Open(name, mmfile.ReadWrite, nil)
		require.NoError(t, err)
		defer a.Close()
		v, err := mmfile.Slice[float64](a)
		require.NoError(t, err)
		e.run(t, s, name)
		for i, x := range v {
			require.Equal(t, float64(i)*2, x, "Go's mapping, element %d", i)
		}
	},
	// The locks exclude a Go holder of the file lock, and the range lock
	// guards an update.
	"locks": func(t *testing.T, e *env, s snippet) {
		name := filepath.Join(e.dir, "locked.npy")
		require.NoError(t, mmfile.Write(name, make([]float64, 10), nil, nil))
		a, err := mmfile.Open(name, mmfile.ReadWrite, nil)
		require.NoError(t, err)
		defer a.Close()
		ok, err := a.Lock(true, false)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "busy: a writer holds the file lock\n", e.run(t, s, name))
		require.NoError(t, a.Unlock())
		assert.Equal(t, "shared lock taken\n", e.run(t, s, name))
		v, err := mmfile.Slice[float64](a)
		require.NoError(t, err)
		assert.Equal(t, 2.0, v[0])
	},
	// The cleanup job removes a crashed producer's temporary and leaves a
	// running Go producer's alone.
	"gc": func(t *testing.T, e *env, s snippet) {
		e.path = buildArr(t) + string(os.PathListSeparator) + os.Getenv("PATH")
		stale := filepath.Join(e.dir, ".old.npy.42.arrtmp")
		require.NoError(t, os.WriteFile(stale, []byte("\x93NUMPY"), 0o644))
		old := time.Now().Add(-2 * time.Hour)
		require.NoError(t, os.Chtimes(stale, old, old))
		live, err := mmfile.Create(filepath.Join(e.dir, "live.npy"), &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{3}}, nil)
		require.NoError(t, err)
		defer live.Close()
		f, err := live.File()
		require.NoError(t, err)
		require.NoError(t, os.Chtimes(f.Name(), old, old))
		e.run(t, s, e.dir)
		_, err = os.Stat(stale)
		assert.ErrorIs(t, err, os.ErrNotExist, "stale temporary not removed")
		_, err = os.Stat(f.Name())
		assert.NoError(t, err, "running producer's temporary removed")
	},
}

// TestSharingPythonSnippets runs every Python snippet of docs/sharing.md.
func TestSharingPythonSnippets(t *testing.T) {
	py := pytest.Require(t)
	snippets := pythonSnippets(t, "sharing.md")
	require.GreaterOrEqual(t, len(snippets), 7, "docs/sharing.md has fewer Python snippets than it had")
	for _, s := range snippets {
		if s.kind == "elsewhere" {
			continue
		}
		check := checks[s.kind]
		require.NotNil(t, check, "docs/sharing.md:%d: a ```python block needs a <!-- doctest: KIND --> line before it (one of the checks in sharing_test.go); got %q", s.line, s.kind)
		t.Run(s.kind+"_line"+strconv.Itoa(s.line), func(t *testing.T) {
			e := &env{py: py, dir: t.TempDir(), path: os.Getenv("PATH")}
			check(t, e, s)
		})
	}
}
