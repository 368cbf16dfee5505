//go:build linux

package mmfile

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/npy"
)

func init() {
	// anonchild: map the array inherited as descriptor 3 read-write, print
	// its sum, whether it is sealed and whether truncating it fails, then
	// set element 0 to -1.
	helpers["anonchild"] = func(args []string) error {
		a, err := OpenFile(os.NewFile(3, "inherited"), ReadWrite, nil)
		if err != nil {
			return err
		}
		defer a.Close()
		s, err := Slice[int64](a)
		if err != nil {
			return err
		}
		var sum int64
		for _, v := range s {
			sum += v
		}
		f, _ := a.File()
		terr := f.Truncate(8)
		fmt.Println(sum, sealed(a), terr != nil)
		s[0] = -1
		return nil
	}
	// sockchild: receive an array over the Unix socket inherited as
	// descriptor 3 and print its shape and sum.
	helpers["sockchild"] = func(args []string) error {
		fc, err := net.FileConn(os.NewFile(3, "socket"))
		if err != nil {
			return err
		}
		conn := fc.(*net.UnixConn)
		defer conn.Close()
		fmt.Println("ready")
		a, err := Receive(conn, ReadOnly, nil)
		if err != nil {
			return err
		}
		defer a.Close()
		s, err := Slice[float64](a)
		if err != nil {
			return err
		}
		var sum float64
		for _, v := range s {
			sum += v
		}
		fmt.Println(a.Header().Shape, sum, sealed(a))
		_, err = a.WriteAt([]byte{1}, 0)
		fmt.Println(err != nil)
		return nil
	}
}

// TestAnonInherited hands an anonymous array to a child process as an
// inherited descriptor: the child reads what the parent wrote, cannot
// shrink it, and its writes are seen by the parent; when both close it,
// nothing is left (no file, no descriptor, no mapping).
func TestAnonInherited(t *testing.T) {
	fds := fdCount(t)
	a, err := CreateAnon("inherit", f8Int(1000), nil)
	require.NoError(t, err)
	assert.True(t, sealed(a))
	assert.ErrorIs(t, a.Publish(), ErrPublished, "an anonymous array has no name to publish")
	s, err := Slice[int64](a)
	require.NoError(t, err)
	for i := range s {
		s[i] = int64(i)
	}
	f, err := a.File()
	require.NoError(t, err)
	cmd := helperCmd(t, "anonchild")
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "499500 true true\n", string(out))
	assert.EqualValues(t, -1, s[0], "the child's write is visible")
	assert.Equal(t, 1, mappedCount(t, "arrfile:inherit"))
	require.NoError(t, a.Close())
	assert.Equal(t, 0, mappedCount(t, "arrfile:inherit"))
	assert.Equal(t, fds, fdCount(t))
}

// TestAnonOverSocket sends an anonymous array to a running process over a
// Unix socket (SCM_RIGHTS).
func TestAnonOverSocket(t *testing.T) {
	fds := fdCount(t)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	mine, theirs := os.NewFile(uintptr(pair[0]), "mine"), os.NewFile(uintptr(pair[1]), "theirs")
	cmd := helperCmd(t, "sockchild")
	cmd.ExtraFiles = []*os.File{theirs}
	c := startCmd(t, cmd)
	theirs.Close()
	c.Expect(t, "ready")

	a, err := CreateAnon("sock", f8(3, 4), nil)
	require.NoError(t, err)
	s, _ := Slice[float64](a)
	for i := range s {
		s[i] = 0.5
	}
	fc, err := net.FileConn(mine)
	require.NoError(t, err)
	mine.Close()
	conn := fc.(*net.UnixConn)
	require.NoError(t, Send(conn, a))
	c.Expect(t, "[3 4] 6 true")
	c.Expect(t, "true")
	c.Wait(t)
	require.NoError(t, conn.Close())
	require.NoError(t, a.Close())
	assert.Equal(t, fds, fdCount(t))
	assert.Equal(t, 0, mappedCount(t, "arrfile:sock"))
}

// TestReceiveWithoutDescriptor: a message without a descriptor is an error.
func TestReceiveWithoutDescriptor(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	conns := make([]*net.UnixConn, 2)
	for i, fd := range pair {
		f := os.NewFile(uintptr(fd), "s")
		c, err := net.FileConn(f)
		require.NoError(t, err)
		f.Close()
		conns[i] = c.(*net.UnixConn)
		defer conns[i].Close()
	}
	_, err = conns[0].Write([]byte("A"))
	require.NoError(t, err)
	_, err = Receive(conns[1], ReadOnly, nil)
	assert.ErrorContains(t, err, "no array descriptor")

	// A descriptor that is not an array is refused by the header check.
	f, err := os.CreateTemp(t.TempDir(), "x")
	require.NoError(t, err)
	f.WriteString("not an array")
	_, _, err = conns[0].WriteMsgUnix([]byte("A"), unix.UnixRights(int(f.Fd())), nil)
	require.NoError(t, err)
	f.Close()
	_, err = Receive(conns[1], ReadOnly, nil)
	assert.Error(t, err)
}

func TestAnonSparseAndErrors(t *testing.T) {
	a, err := CreateAnon("sparse", f8(1<<20), &CreateOptions{Sparse: true})
	require.NoError(t, err)
	require.NoError(t, a.Close())
	_, err = CreateAnon("bad", f8(-3), nil)
	assert.Error(t, err)
}

func TestWriteAnon(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("memfd is Linux only")
	}
	data := make([]int32, 3<<20) // 12 MiB: split across cores
	for i := range data {
		data[i] = int32(i * 7)
	}
	h := &npy.Header{DType: npy.DTypeOf[int32](), Shape: []int{1 << 20, 3}}
	a, err := WriteAnon("written", npy.Bytes(data), h, nil)
	require.NoError(t, err)
	defer a.Close()
	assert.True(t, sealed(a))
	got, err := Slice[int32](a)
	require.NoError(t, err)
	assert.Equal(t, data, got)

	// Another open of the same memory sees a valid .npy.
	f, err := a.File()
	require.NoError(t, err)
	b, err := Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), ReadOnly, nil)
	require.NoError(t, err)
	got2, err := Slice[int32](b)
	require.NoError(t, err)
	assert.Equal(t, int32(7*(3<<20-1)), got2[len(got2)-1])
	require.NoError(t, b.Close())

	_, err = WriteAnon("short", npy.Bytes(data[:5]), h, nil)
	assert.ErrorIs(t, err, npy.ErrSize)
}
