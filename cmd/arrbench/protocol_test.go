package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := request{Op: "run", Transport: "pipe-raw", DType: "<f8", N: 1 << 40, Payload: 8 << 40, Path: "/dev/shm/x y.npy"}
	require.NoError(t, writeFrame(&buf, in))
	require.NoError(t, writeFrame(&buf, reply{Checksum: 1<<64 - 1, OpenNS: 5}))
	var out request
	require.NoError(t, readFrame(&buf, &out))
	assert.Equal(t, in, out)
	var rep reply
	require.NoError(t, readFrame(&buf, &rep))
	assert.Equal(t, uint64(1<<64-1), rep.Checksum, "uint64 survives JSON exactly")
	assert.ErrorIs(t, readFrame(&buf, &rep), io.EOF)
}

func TestFrameErrors(t *testing.T) {
	frame, err := encodeFrame(request{Op: "reset"})
	require.NoError(t, err)
	for cut := 1; cut < len(frame); cut++ {
		var r request
		err := readFrame(bytes.NewReader(frame[:cut]), &r)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "cut at %d", cut)
	}
	huge := binary.LittleEndian.AppendUint32(nil, maxFrame+1)
	var r request
	assert.ErrorContains(t, readFrame(bytes.NewReader(huge), &r), "exceeds")
	bad := append(binary.LittleEndian.AppendUint32(nil, 3), "{x}"...)
	assert.ErrorContains(t, readFrame(bytes.NewReader(bad), &r), "bad frame")
	_, err = encodeFrame(request{Path: string(make([]byte, maxFrame))})
	assert.ErrorContains(t, err, "exceeds")
}

// FuzzReadFrame checks that any byte stream gives frames or an error,
// never a panic or an allocation beyond maxFrame.
func FuzzReadFrame(f *testing.F) {
	good, _ := encodeFrame(request{Op: "run", Transport: "pipe-gob", N: 3})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add(append(binary.LittleEndian.AppendUint32(nil, 4), "null"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for range 4 {
			var req request
			if err := readFrame(r, &req); err != nil {
				return
			}
		}
	})
}
