package store

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/arrfile/arrfile/mmfile"
)

// BenchmarkCreate measures a Create, fill and Publish of one array when
// the store has room (plain), when a pooled file is reused (recycled),
// when it must evict the least recently used array (evict), and when it
// must move one to a spill folder on disk (spill).
func BenchmarkCreate(b *testing.B) {
	for _, size := range []int{1 << 20, 16 << 20} {
		for _, mode := range []string{"plain", "recycled", "evict", "spill"} {
			b.Run(mode+"/"+strconv.Itoa(size>>20)+"MiB", func(b *testing.B) {
				benchCreate(b, mode, size)
			})
		}
	}
}

func benchCreate(b *testing.B, mode string, size int) {
	n := size/8 - 16
	file := cost(int64(size))
	o := &Options{RecycleMin: 1 << 62}
	switch mode {
	case "recycled":
		o.RecycleMin = 4096
	case "evict":
		o.Capacity = 8 * file
	case "spill":
		o.Capacity = 8 * file
		o.SpillDir = b.TempDir()
	}
	s, err := Open(shmDir(b), o)
	require.NoError(b, err)
	defer s.Close()
	src := make([]uint64, n)
	fill(src, 1)
	put := func(key string) {
		w, err := s.Create(key, u8(n))
		require.NoError(b, err)
		v, err := mmfile.Slice[uint64](w.Array())
		require.NoError(b, err)
		copy(v, src)
		require.NoError(b, w.Publish())
	}
	for i := range 8 { // a full store for evict and spill
		put("warm" + strconv.Itoa(i))
	}
	if mode == "plain" || mode == "recycled" {
		require.NoError(b, s.Delete("warm0"))
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := range b.N {
		key := "k" + strconv.Itoa(i)
		put(key)
		if mode == "plain" || mode == "recycled" {
			b.StopTimer()
			require.NoError(b, s.Delete(key))
			b.StartTimer()
		}
	}
}
