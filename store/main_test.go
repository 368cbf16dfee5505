package store

import (
	osexec "os/exec"
	"testing"

	"github.com/arrfile/arrfile/internal/childtest"
	"github.com/arrfile/arrfile/npy"
)

// Cross-process tests re-execute the test binary: with STORE_HELPER set,
// TestMain runs the named helper instead of the tests (internal/childtest).
const envHelper = "STORE_HELPER"

var helpers = map[string]func(args []string) error{}

func TestMain(m *testing.M) { childtest.Main(m, envHelper, helpers) }

func helperCmd(t testing.TB, name string, args ...string) *osexec.Cmd {
	t.Helper()
	return childtest.Command(t, envHelper, name, args...)
}

type child = childtest.Child

func startHelper(t testing.TB, name string, args ...string) *child {
	t.Helper()
	return childtest.Start(t, helperCmd(t, name, args...))
}

func startCmd(t testing.TB, cmd *osexec.Cmd) *child {
	t.Helper()
	return childtest.Start(t, cmd)
}

func readStdinLine() (string, error) { return childtest.ReadStdinLine() }

func shmDir(t testing.TB) string {
	t.Helper()
	return childtest.ShmDir(t)
}

// u8 is the header of a uint64 array of n elements.
func u8(n int) *npy.Header { return &npy.Header{DType: npy.DTypeOf[uint64](), Shape: []int{n}} }

// fill writes checksummed data: element i < n-1 from seed, the last the
// sum of the others plus one.
func fill(s []uint64, seed uint64) {
	var sum uint64
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := range len(s) - 1 {
		x ^= x >> 33
		x *= 0xff51afd7ed558ccd
		x ^= x >> 29
		s[i] = x | 1
		sum += s[i]
	}
	s[len(s)-1] = sum + 1
}

// intact reports whether s holds data from fill, whole.
func intact(s []uint64) bool {
	if len(s) < 2 {
		return false
	}
	var sum uint64
	for _, v := range s[:len(s)-1] {
		if v&1 == 0 {
			return false
		}
		sum += v
	}
	return s[len(s)-1] == sum+1
}
