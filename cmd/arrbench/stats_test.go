package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSummarize(t *testing.T) {
	assert.Equal(t, summary{}, summarize(nil))
	assert.Equal(t, summary{N: 1, Median: 5, Min: 5, Max: 5}, summarize([]time.Duration{5}))
	assert.Equal(t, summary{N: 3, Median: 2, Min: 1, Max: 9}, summarize([]time.Duration{9, 1, 2}))
	assert.Equal(t, summary{N: 4, Median: 3, Min: 1, Max: 10}, summarize([]time.Duration{10, 4, 1, 2}))
	in := []time.Duration{3, 1, 2}
	summarize(in)
	assert.Equal(t, []time.Duration{3, 1, 2}, in, "input must not be reordered")
}

func TestMedian(t *testing.T) {
	assert.Equal(t, int64(0), median(nil))
	assert.Equal(t, int64(7), median([]int64{7}))
	assert.Equal(t, int64(4), median([]int64{8, 1, 4}))
	assert.Equal(t, int64(5), median([]int64{8, 1, 4, 6}))
	assert.Equal(t, int64(1<<62), median([]int64{1 << 62, 1 << 62}), "no overflow")
}

func TestGBPerSec(t *testing.T) {
	assert.Equal(t, 0.0, gbPerSec(100, 0))
	assert.InDelta(t, 2.0, gbPerSec(2e9, time.Second), 1e-12)
	assert.InDelta(t, 1.0, gbPerSec(1e6, time.Millisecond), 1e-12)
}
