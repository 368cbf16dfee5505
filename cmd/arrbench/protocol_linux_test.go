package main

import (
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestFramePassesDescriptor sends a pipe's write end with a frame, as the
// memfd transport does, and writes through the received descriptor.
func TestFramePassesDescriptor(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socket")
		defer f.Close()
		c, err := net.FileConn(f)
		require.NoError(t, err)
		return c.(*net.UnixConn)
	}
	a, b := conn(fds[0]), conn(fds[1])
	defer a.Close()
	defer b.Close()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()

	frame, err := encodeFrame(request{Op: "run", FD: true})
	require.NoError(t, err)
	require.NoError(t, sendWithFD(a, frame, int(pw.Fd())))
	pw.Close()
	require.NoError(t, writeFrame(a, request{Op: "reset"})) // a second frame, no descriptor

	var req request
	got, err := readFrameFD(b, &req)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.True(t, req.FD)
	w := os.NewFile(uintptr(got[0]), "received")
	_, err = w.Write([]byte("hi"))
	require.NoError(t, err)
	w.Close()
	buf := make([]byte, 8)
	n, _ := pr.Read(buf)
	assert.Equal(t, "hi", string(buf[:n]))

	got, err = readFrameFD(b, &req)
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Equal(t, "reset", req.Op)
}
