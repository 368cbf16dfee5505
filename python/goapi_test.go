//go:build linux

package python_test

// The only calls in this package into mmfile's API, which the redesign
// may rename: adapt them here.

import (
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/mmfile"
	"github.com/arrfile/arrfile/npy"
)

// goArray is a file opened read-write by Go's mmfile, for lock tests.
type goArray struct{ a *mmfile.Array }

func openGo(t *testing.T, name string) goArray {
	t.Helper()
	a, err := mmfile.Open(name, mmfile.ReadWrite, nil)
	require.NoError(t, err)
	return goArray{a}
}

// tryLockRange is mmfile's LockRange without waiting on data bytes [off, off+n).
func (g goArray) tryLockRange(t *testing.T, off, n int64, exclusive bool) bool {
	t.Helper()
	ok, err := g.a.LockRange(off, n, exclusive, false)
	require.NoError(t, err)
	return ok
}

// tryLock is mmfile's whole-file Lock without waiting.
func (g goArray) tryLock(t *testing.T, exclusive bool) bool {
	t.Helper()
	ok, err := g.a.Lock(exclusive, false)
	require.NoError(t, err)
	return ok
}

func (g goArray) close(t *testing.T) {
	t.Helper()
	require.NoError(t, g.a.Close())
}

// sendGo sends an anonymous float32 array of shape (4, 8) holding 0..31
// over the Unix socket sock with mmfile's CreateAnon and Send.
func sendGo(t *testing.T, sock *os.File) {
	t.Helper()
	a, err := mmfile.CreateAnon("from-go", &npy.Header{DType: npy.DTypeOf[float32](), Shape: []int{4, 8}}, nil)
	require.NoError(t, err)
	defer a.Close()
	s, err := mmfile.Slice[float32](a)
	require.NoError(t, err)
	for i := range s {
		s[i] = float32(i)
	}
	c, err := net.FileConn(sock)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, mmfile.Send(c.(*net.UnixConn), a))
}
