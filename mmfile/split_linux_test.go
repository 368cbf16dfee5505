//go:build linux

package mmfile

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/npy"
)

// gatherValue is element i of the result the gather workers compute.
func gatherValue(i int) float64 { return float64(i)*1.5 + 1 }

func init() {
	// splitworker: open the array named args[0] read-write and write
	// gatherValue into the elements [args[1], args[2]), then exit 0, which
	// tells the parent this range is done.
	helpers["splitworker"] = func(args []string) error {
		lo, _ := strconv.Atoi(args[1])
		hi, _ := strconv.Atoi(args[2])
		a, err := Open(args[0], ReadWrite, nil)
		if err != nil {
			return err
		}
		s, err := Slice[float64](a)
		if err != nil {
			return err
		}
		for i := lo; i < hi; i++ {
			s[i] = gatherValue(i)
		}
		return a.Close()
	}
}

// TestSplitGather runs the documented protocol with real processes: the
// parent creates and publishes the result, one worker process per range
// opens it by name read-write and writes its rows, and after K successful
// exits the parent sees every element.
func TestSplitGather(t *testing.T) {
	name := filepath.Join(t.TempDir(), "result.npy")
	const n = 300000
	a, err := Create(name, &npy.Header{DType: npy.DTypeOf[float64](), Shape: []int{n}}, nil)
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, a.Publish())
	rs, err := Split(a.Header(), 4)
	require.NoError(t, err)
	require.Len(t, rs, 4)
	var cmds []*exec.Cmd
	for _, r := range rs {
		lo, hi := r.Off/8, (r.Off+r.Len)/8
		cmd := helperCmd(t, "splitworker", name, strconv.FormatInt(lo, 10), strconv.FormatInt(hi, 10))
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "worker %d", i)
	}
	s, err := Slice[float64](a)
	require.NoError(t, err)
	wrong := 0
	for i, v := range s {
		if v != gatherValue(i) {
			wrong++
		}
	}
	assert.Zero(t, wrong, "elements the parent does not see written")
}
