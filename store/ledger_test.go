package store

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ledgerBytes(vals ...uint64) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// FuzzLedger: any contents of .arrstore either open (a bad count is
// recounted from the folder, a missing capacity is the default) or fail
// with an *fs.PathError naming the ledger and wrapping ErrBadLedger; never
// a panic, and the store then counts exactly what its folder holds.
func FuzzLedger(f *testing.F) {
	f.Add([]byte{})
	f.Add(ledgerBytes(0))
	f.Add(ledgerBytes(4096))
	f.Add(ledgerBytes(8192, 1<<20))
	f.Add(ledgerBytes(1<<63, 1<<20))       // a negative count
	f.Add(ledgerBytes(12288, 1<<63))       // a negative capacity
	f.Add(ledgerBytes(0, 0))               // no capacity recorded
	f.Add(ledgerBytes(1<<62+1, 1<<62))     // past the largest size
	f.Add([]byte("garbage in the ledger")) // short and long text
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		used, capacity, err := parseLedger(b)
		if err != nil {
			require.ErrorIs(t, err, ErrBadLedger)
		} else {
			assert.True(t, used == -1 || used >= 0 && used <= maxBytes, "used %d", used)
			assert.True(t, capacity >= 0 && capacity <= maxBytes, "capacity %d", capacity)
		}
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "k.npy"), make([]byte, 100), 0o644))
		ledger := filepath.Join(dir, ledgerName)
		require.NoError(t, os.WriteFile(ledger, b, 0o644))
		s, err := Open(dir, nil)
		if err != nil {
			var pe *fs.PathError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, ledger, pe.Path)
			require.ErrorIs(t, err, ErrBadLedger)
			assert.Contains(t, err.Error(), ledger)
			// A capacity given at Open replaces the damaged one.
			s, err = Open(dir, &Options{Capacity: 1 << 20})
			require.NoError(t, err)
		}
		defer s.Close()
		assert.Positive(t, s.Capacity())
		assert.Equal(t, int64(pageSize), s.readUsed(), "the count of the folder")
	})
}

// FuzzSpillFile: any contents of .arrspill give one clean absolute path or
// an error naming the file that wraps ErrBadLedger.
func FuzzSpillFile(f *testing.F) {
	f.Add([]byte("/var/tmp/spill\n"))
	f.Add([]byte("/var/tmp/spill"))
	f.Add([]byte("relative/spill\n"))
	f.Add([]byte("/a/../b\n"))
	f.Add([]byte("/a\n/b\n"))
	f.Add([]byte("/a\x00b\n"))
	f.Add([]byte("\n"))
	f.Add([]byte("/" + strings.Repeat("x", 5000) + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		name := filepath.Join(dir, SpillFile)
		require.NoError(t, os.WriteFile(name, b, 0o644))
		p, err := RecordedSpillDir(dir)
		if err != nil {
			var pe *fs.PathError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, name, pe.Path)
			require.True(t, errors.Is(err, ErrBadLedger), "%v", err)
			return
		}
		assert.True(t, filepath.IsAbs(p))
		assert.Equal(t, filepath.Clean(p), p)
		assert.Equal(t, p+"\n", string(b))
	})
}

// TestLedgerRecount: a ledger damaged by hand (a count past any size, a
// truncated file) is recounted, a damaged capacity names the ledger; a
// missing spill file records no spill folder.
func TestLedgerRecount(t *testing.T) {
	dir := shmDir(t)
	s, err := Open(dir, &Options{Capacity: 1 << 20})
	require.NoError(t, err)
	putChecked(t, s, "a", 1000, 1)
	require.NoError(t, s.Close())
	cost := cost(int64(8000 + 128))
	ledger := filepath.Join(dir, ledgerName)
	for _, b := range [][]byte{ledgerBytes(1<<63, 1<<20), ledgerBytes(1 << 63), {7}} {
		require.NoError(t, os.WriteFile(ledger, b, 0o644))
		s, err := Open(dir, &Options{Capacity: 1 << 20})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(ledger, b, 0o644)) // damaged while open
		assert.Equal(t, cost, s.readUsed())
		putChecked(t, s, "b", 1000, 2)
		require.NoError(t, s.Delete("b"))
		u, err := s.Usage()
		require.NoError(t, err)
		assert.Equal(t, cost, u.Used)
		s.Close()
	}
	require.NoError(t, os.WriteFile(ledger, ledgerBytes(0, 1<<63), 0o644))
	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrBadLedger)
	assert.Contains(t, err.Error(), ledger)
	p, err := RecordedSpillDir(dir)
	require.NoError(t, err)
	assert.Empty(t, p)
}
