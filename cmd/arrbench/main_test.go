package main

import (
	"os"
	"strings"
	"testing"
)

// testMainEnv makes the test binary run arrbench's main program with the
// arguments in the variable (separated by spaces), so that tests can start
// a real producer process (TestInterrupt).
const testMainEnv = "ARRBENCH_TEST_MAIN"

// TestMain lets the test binary act as arrbench: the producer re-executes
// os.Executable() as its worker, which in tests is this binary.
func TestMain(m *testing.M) {
	if addr := os.Getenv(workerEnv); addr != "" {
		os.Exit(workerMain(addr))
	}
	if args, ok := os.LookupEnv(testMainEnv); ok {
		os.Exit(run(strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
