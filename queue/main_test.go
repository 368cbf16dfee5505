package queue

import (
	osexec "os/exec"
	"testing"

	"github.com/arrfile/arrfile/internal/childtest"
)

// Cross-process tests re-execute the test binary: with QUEUE_HELPER set,
// TestMain runs the named helper instead of the tests (internal/childtest).
const envHelper = "QUEUE_HELPER"

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
