//go:build linux

package mmfile

import (
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/arrfile/arrfile/npy"
)

// Tests of Receive with a hostile sender (issue 9).

func init() {
	// unsealedsender: over the Unix socket inherited as descriptor 3, send
	// an unsealed memfd holding a valid .npy of 512 float64 four times,
	// then, after a line on stdin, truncate it to 64 bytes and print
	// "truncated".
	helpers["unsealedsender"] = func(args []string) error {
		fd, err := unix.MemfdCreate("unsealed", unix.MFD_CLOEXEC)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), "unsealed")
		data := make([]float64, 512)
		for i := range data {
			data[i] = float64(i)
		}
		hb, hdr, err := dataHeader(data, nil)
		if err != nil {
			return err
		}
		if _, err := f.WriteAt(hb, 0); err != nil {
			return err
		}
		if _, err := f.WriteAt(npy.Bytes(data), hdr.DataOffset); err != nil {
			return err
		}
		for range 4 {
			if err := unix.Sendmsg(3, []byte{'A'}, unix.UnixRights(fd), nil, 0); err != nil {
				return err
			}
		}
		if _, err := readStdinLine(); err != nil {
			return err
		}
		if err := f.Truncate(64); err != nil {
			return err
		}
		fmt.Println("truncated")
		return nil
	}
}

// TestReceiveUnsealed (finding 8): a process sends an unsealed memfd. A
// ReadOnly or CopyOnWrite Receive refuses it (ErrUnsealed, descriptor
// closed); with AllowUnsealed, and in ReadWrite mode, it is mapped, and the
// sender's truncation then faults the mapping, which is why the default
// refuses.
func TestReceiveUnsealed(t *testing.T) {
	fds := fdCount(t)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	mine, theirs := os.NewFile(uintptr(pair[0]), "mine"), os.NewFile(uintptr(pair[1]), "theirs")
	cmd := helperCmd(t, "unsealedsender")
	cmd.ExtraFiles = []*os.File{theirs}
	c := startCmd(t, cmd)
	theirs.Close()
	fc, err := net.FileConn(mine)
	require.NoError(t, err)
	mine.Close()
	conn := fc.(*net.UnixConn)
	defer conn.Close()

	_, err = Receive(conn, ReadOnly, nil)
	require.ErrorIs(t, err, ErrUnsealed)
	assert.Contains(t, err.Error(), "AllowUnsealed")
	_, err = Receive(conn, CopyOnWrite, &Options{})
	require.ErrorIs(t, err, ErrUnsealed)
	a, err := Receive(conn, ReadOnly, &Options{AllowUnsealed: true})
	require.NoError(t, err)
	defer a.Close()
	b, err := Receive(conn, ReadWrite, nil)
	require.NoError(t, err)
	s, err := Slice[float64](b)
	require.NoError(t, err)
	assert.Equal(t, 511.0, s[511])
	require.NoError(t, b.Close())

	c.Send(t, "truncate")
	c.Expect(t, "truncated")
	c.Wait(t)
	_, err = a.ReadAt(make([]byte, 8), 4088)
	assert.ErrorIs(t, err, ErrFileShrunk, "what a raw read would have crashed on")
	require.NoError(t, a.Close())
	conn.Close()
	assert.Equal(t, fds, fdCount(t), "refused descriptors are closed")
}
