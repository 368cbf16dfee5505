//go:build linux

package mmfile

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/internal/pytest"
	"github.com/arrfile/arrfile/npy"
)

// The patterns of docs/sharing.md ("Many processes: fan-out, gather,
// update"), run with real processes. The Go functions below are the
// page's Go blocks (TestPatternsDocMatches checks they are identical); the
// Python blocks are taken from the page and run as they are.

// fanoutWorker is one of K readers: it maps the published array by name
// and sums it in place.
func fanoutWorker(name string) (float64, error) {
	a, err := Open(name, ReadOnly, nil)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	s, err := Slice[float64](a)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, v := range s {
		sum += v
	}
	return sum, nil
}

// gatherParent creates the result of n float64 elements as name, starts
// one worker process per range (start makes its command) and waits for
// all of them: K exits with status 0 mean every row is written.
func gatherParent(name string, n, k int, start func(i int, r Range) *exec.Cmd) (*Array, error) {
	a, err := Create(name, &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{n}}, nil)
	if err != nil {
		return nil, err
	}
	ranges, err := Split(a.Header(), k)
	if err == nil {
		err = a.Publish()
	}
	var cmds []*exec.Cmd
	for i, r := range ranges {
		if err != nil {
			break
		}
		cmd := start(i, r)
		if err = cmd.Start(); err == nil {
			cmds = append(cmds, cmd)
		}
	}
	for _, cmd := range cmds {
		if werr := cmd.Wait(); werr != nil && err == nil {
			err = fmt.Errorf("worker %v: %w", cmd.Args, werr)
		}
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// gatherWorker writes elements [lo, hi) of the result: element i is i*1.5.
func gatherWorker(name string, lo, hi int64) error {
	a, err := Open(name, ReadWrite, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	s, err := Slice[float64](a)
	if err != nil {
		return err
	}
	for i := lo; i < hi; i++ {
		s[i] = float64(i) * 1.5
	}
	return nil
}

// updateWorker adds 1 to the counters at idx of the int64 array name:
// atomically, or under an exclusive lock on the block of 64 counters
// around each one, which Python workers take with fcntl.lockf.
func updateWorker(name string, idx []int, useAtomic bool) error {
	a, err := Open(name, ReadWrite, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	s, err := Slice[int64](a)
	if err != nil {
		return err
	}
	for _, i := range idx {
		if useAtomic {
			atomic.AddInt64(&s[i], 1)
			continue
		}
		off := int64(i/64) * 64 * 8
		n := min(64*8, int64(len(s))*8-off)
		if _, err := a.LockRange(off, n, true, true); err != nil {
			return err
		}
		s[i]++
		if err := a.UnlockRange(off, n); err != nil {
			return err
		}
	}
	return nil
}

func init() {
	helpers["pattern-fanout"] = func(args []string) error {
		sum, err := fanoutWorker(args[0])
		fmt.Println(sum)
		return err
	}
	helpers["pattern-gather"] = func(args []string) error {
		lo, _ := strconv.ParseInt(args[1], 10, 64)
		hi, _ := strconv.ParseInt(args[2], 10, 64)
		return gatherWorker(args[0], lo, hi)
	}
	helpers["pattern-update"] = func(args []string) error {
		seed, _ := strconv.ParseUint(args[1], 10, 64)
		count, _ := strconv.Atoi(args[2])
		n, _ := strconv.Atoi(args[3])
		return updateWorker(args[0], updateIndices(seed, count, n), args[4] == "atomic")
	}
}

// updateIndices are count random counter indices below n.
func updateIndices(seed uint64, count, n int) []int {
	r := rand.New(rand.NewPCG(seed, 1))
	idx := make([]int, count)
	for i := range idx {
		idx[i] = r.IntN(n)
	}
	return idx
}

// docPattern returns the code block of docs/sharing.md marked
// "<!-- pattern:NAME:LANG -->".
func docPattern(t *testing.T, name, lang string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "sharing.md"))
	require.NoError(t, err)
	re := regexp.MustCompile("(?s)<!-- pattern:" + name + ":" + lang + " -->\n```" + lang + "\n(.*?)```\n")
	m := re.FindSubmatch(b)
	require.NotNil(t, m, "docs/sharing.md has no %s block for pattern %s", lang, name)
	return string(m[1])
}

// TestPatternsDocMatches checks that the Go blocks of the page are this
// file's functions, letter for letter (but for the package qualifier,
// which code inside package mmfile does not write).
func TestPatternsDocMatches(t *testing.T) {
	src, err := os.ReadFile("patterns_linux_test.go")
	require.NoError(t, err)
	for _, p := range []string{"fanout", "gather", "update"} {
		block := strings.ReplaceAll(docPattern(t, p, "go"), "mmfile.", "")
		assert.Contains(t, string(src), block, "the %s block of docs/sharing.md differs from patterns_linux_test.go", p)
	}
}

// pyWorker returns the command running the page's Python block of
// pattern with args.
func pyWorker(t *testing.T, py, pattern string, args ...string) *exec.Cmd {
	return exec.Command(py, append([]string{"-c", docPattern(t, pattern, "python")}, args...)...)
}

func TestPatternsFanout(t *testing.T) {
	py := pytest.Require(t)
	name := filepath.Join(t.TempDir(), "x.npy")
	data := make([]float64, 100000)
	var want float64
	for i := range data {
		data[i] = float64(i % 1000)
		want += data[i]
	}
	require.NoError(t, Write(name, data, nil, nil))
	cmds := []*exec.Cmd{helperCmd(t, "pattern-fanout", name), helperCmd(t, "pattern-fanout", name), pyWorker(t, py, "fanout", name), pyWorker(t, py, "fanout", name)}
	outs := make([][]byte, len(cmds))
	errs := make([]error, len(cmds))
	done := make(chan int)
	for i, c := range cmds {
		go func() { outs[i], errs[i] = c.Output(); done <- i }()
	}
	for range cmds {
		<-done
	}
	for i := range cmds {
		require.NoError(t, errs[i], "worker %d", i)
		got, err := strconv.ParseFloat(strings.TrimSpace(string(outs[i])), 64)
		require.NoError(t, err)
		assert.Equal(t, want, got, "worker %d's sum", i)
	}
}

func TestPatternsGather(t *testing.T) {
	py := pytest.Require(t)
	name := filepath.Join(t.TempDir(), "result.npy")
	const n = 400000
	a, err := gatherParent(name, n, 4, func(i int, r Range) *exec.Cmd {
		lo, hi := strconv.FormatInt(r.Off/8, 10), strconv.FormatInt((r.Off+r.Len)/8, 10)
		if i%2 == 1 {
			return pyWorker(t, py, "gather", name, lo, hi)
		}
		return helperCmd(t, "pattern-gather", name, lo, hi)
	})
	require.NoError(t, err)
	defer a.Close()
	s, err := Slice[float64](a)
	require.NoError(t, err)
	wrong := 0
	for i, v := range s {
		if v != float64(i)*1.5 {
			wrong++
		}
	}
	assert.Zero(t, wrong, "elements not written by the Go and Python workers")
}

func TestPatternsUpdate(t *testing.T) {
	py := pytest.Require(t)
	const counters, count = 300, 3000 // the last block holds 44 counters
	for _, mode := range []string{"atomic", "locks"} {
		t.Run(mode, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "counters.npy")
			a, err := Create(name, &npy.Header{DType: npy.DTypeOf[int64](), Shape: []int{counters}}, nil)
			require.NoError(t, err)
			defer a.Close()
			require.NoError(t, a.Publish())
			cmds := []*exec.Cmd{
				helperCmd(t, "pattern-update", name, "1", strconv.Itoa(count), strconv.Itoa(counters), mode),
				helperCmd(t, "pattern-update", name, "2", strconv.Itoa(count), strconv.Itoa(counters), mode),
			}
			if mode == "locks" { // Python's lockf excludes Go's range locks, not atomics
				cmds = append(cmds, pyWorker(t, py, "update", name, "3", strconv.Itoa(count)), pyWorker(t, py, "update", name, "4", strconv.Itoa(count)))
			}
			for _, c := range cmds {
				require.NoError(t, c.Start())
			}
			for i, c := range cmds {
				require.NoError(t, c.Wait(), "worker %d", i)
			}
			s, err := Slice[int64](a)
			require.NoError(t, err)
			var sum int64
			for _, v := range s {
				sum += v
			}
			assert.Equal(t, int64(len(cmds)*count), sum, "lost updates")
		})
	}
}
