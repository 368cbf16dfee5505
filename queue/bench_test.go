package queue

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkHandoff pushes b.N files of each size from one producer to 4
// consumers waiting in Claim (each with its own Queue, as separate
// processes would have), and reports hand-offs per second and the
// push-to-claim latency (median and 99th percentile).
func BenchmarkHandoff(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) { benchHandoff(b, size) })
	}
}

func benchHandoff(b *testing.B, size int) {
	root := shmDir(b)
	dir := filepath.Join(root, "q")
	stage := filepath.Join(root, "stage")
	require.NoError(b, os.MkdirAll(stage, 0o755))
	q, err := Open(dir, nil)
	require.NoError(b, err)
	defer q.Close()
	const consumers = 4
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lat := make(chan time.Duration, b.N)
	var wg sync.WaitGroup
	for range consumers {
		cq, err := Open(dir, nil)
		require.NoError(b, err)
		defer cq.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 8)
			for {
				c, err := cq.Claim(ctx)
				if err != nil {
					return
				}
				got := time.Now()
				if f, err := os.Open(c.Path()); err == nil {
					f.Read(buf)
					f.Close()
				}
				lat <- got.Sub(time.Unix(0, int64(binary.LittleEndian.Uint64(buf))))
				c.Done()
			}
		}()
	}
	data := make([]byte, size)
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		p := filepath.Join(stage, "f"+strconv.Itoa(i))
		binary.LittleEndian.PutUint64(data, uint64(time.Now().UnixNano()))
		require.NoError(b, os.WriteFile(p, data, 0o644))
		_, err := q.Push(p, false)
		require.NoError(b, err)
	}
	ls := make([]time.Duration, 0, b.N)
	for range b.N {
		ls = append(ls, <-lat)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	wg.Wait()
	slices.Sort(ls)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "handoffs/s")
	b.ReportMetric(float64(ls[len(ls)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(ls[len(ls)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPushToClaim measures the latency of one hand-off on an idle
// queue: push one file, wait until one of 4 waiting consumers has claimed
// it, repeat (median and 99th percentile of push start to claim).
func BenchmarkPushToClaim(b *testing.B) {
	root := shmDir(b)
	dir := filepath.Join(root, "q")
	stage := filepath.Join(root, "stage")
	require.NoError(b, os.MkdirAll(stage, 0o755))
	q, err := Open(dir, nil)
	require.NoError(b, err)
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	claimed := make(chan time.Time)
	var wg sync.WaitGroup
	for range 4 {
		cq, err := Open(dir, nil)
		require.NoError(b, err)
		defer cq.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := cq.Claim(ctx)
				if err != nil {
					return
				}
				t := time.Now()
				c.Done()
				select {
				case claimed <- t:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	data := make([]byte, 1<<10)
	ls := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		p := filepath.Join(stage, "f"+strconv.Itoa(i))
		require.NoError(b, os.WriteFile(p, data, 0o644))
		t0 := time.Now()
		_, err := q.Push(p, false)
		require.NoError(b, err)
		ls = append(ls, (<-claimed).Sub(t0))
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	slices.Sort(ls)
	b.ReportMetric(float64(ls[len(ls)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(ls[len(ls)*99/100].Microseconds()), "p99-µs")
}
