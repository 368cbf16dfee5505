package main

import (
	"math"
	"runtime"
	"testing"

	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerateDeterministic(t *testing.T) {
	n := 2*genChunk + 12345
	for _, k := range dataKinds {
		a := generate(k, n)
		prev := runtime.GOMAXPROCS(1)
		b := generate(k, n)
		runtime.GOMAXPROCS(prev)
		assert.Equal(t, a.Bytes(n), b.Bytes(n), "%s: same bytes whatever the number of cores", k.Name)
		small := generate(k, genChunk+7)
		assert.Equal(t, a.Bytes(genChunk+7), small.Bytes(genChunk+7), "%s: a smaller array is a prefix of a larger one", k.Name)
		assert.Equal(t, n, a.Len())
		assert.Len(t, a.Bytes(n), n*k.Size)
	}
}

func TestGenerateNormal(t *testing.T) {
	d := generate(dataKinds[0], 1<<20)
	var sum, sq float64
	for _, v := range d.f64 {
		sum += v
		sq += v * v
	}
	mean := sum / float64(len(d.f64))
	std := math.Sqrt(sq/float64(len(d.f64)) - mean*mean)
	assert.InDelta(t, 0, mean, 0.01)
	assert.InDelta(t, 1, std, 0.01)
}

func TestGenerateSmooth(t *testing.T) {
	d := generate(dataKinds[1], genChunk+1000)
	for i, v := range d.f64 {
		if math.Round(v*1000)/1000 != v {
			t.Fatalf("element %d = %v is not rounded to 3 decimals", i, v)
		}
		if i > 0 && math.Abs(v-d.f64[i-1]) >= 0.05 {
			t.Fatalf("element %d jumps from %v to %v", i, d.f64[i-1], v)
		}
	}
}

func TestGenerateWalk(t *testing.T) {
	d := generate(dataKinds[2], 3*genChunk+5)
	prev := int32(0)
	seen := map[int32]int{}
	for i, v := range d.i32 {
		step := v - prev
		if step < -2 || step > 2 {
			t.Fatalf("step %d at element %d", step, i)
		}
		seen[step]++
		prev = v
	}
	assert.Len(t, seen, 5, "every step in [-2, 2] occurs")
}

func TestChecksum(t *testing.T) {
	one, two := math.Float64bits(1), math.Float64bits(2)
	assert.Equal(t, one+two, sumFloat64Bits([]float64{1, 2}))
	// Wrapping: -0.0 is 1<<63; two of them sum to 0.
	assert.Equal(t, uint64(0), sumFloat64Bits([]float64{math.Copysign(0, -1), math.Copysign(0, -1)}))
	assert.Equal(t, uint64(math.MaxUint64-2), sumInt32([]int32{-1, -2}))
	// The unrolled loops agree with a plain one for every tail length.
	for n := range 19 {
		f := make([]float64, n)
		s := make([]int32, n)
		var wf, ws uint64
		for i := range n {
			f[i] = float64(i)*1.5 - 3
			s[i] = int32(i*7919) - 20000
			wf += math.Float64bits(f[i])
			ws += uint64(int64(s[i]))
		}
		assert.Equal(t, wf, sumFloat64Bits(f), "n=%d", n)
		assert.Equal(t, ws, sumInt32(s), "n=%d", n)
		if n > 0 {
			got, err := checksumBytes("<f8", npy.Bytes(f))
			require.NoError(t, err)
			assert.Equal(t, wf, got)
			got, err = checksumBytes("<i4", npy.Bytes(s))
			require.NoError(t, err)
			assert.Equal(t, ws, got)
		}
	}
}

func TestChecksumBytesErrors(t *testing.T) {
	buf := make([]float64, 4)
	b := npy.Bytes(buf)
	_, err := checksumBytes("<f4", b)
	assert.ErrorContains(t, err, "unsupported dtype")
	_, err = checksumBytes("<f8", b[:12])
	assert.ErrorContains(t, err, "whole number")
	_, err = checksumBytes("<f8", b[1:25])
	assert.ErrorContains(t, err, "aligned")
	got, err := checksumBytes("<i4", b[:0])
	assert.NoError(t, err)
	assert.Equal(t, uint64(0), got)
}

func TestParseDataKinds(t *testing.T) {
	k, err := parseDataKinds("walk,normal,walk")
	require.NoError(t, err)
	require.Len(t, k, 2)
	assert.Equal(t, "walk", k[0].Name)
	assert.Equal(t, "normal", k[1].Name)
	k, err = parseDataKinds("all")
	require.NoError(t, err)
	assert.Len(t, k, 3)
	_, err = parseDataKinds("gauss")
	assert.ErrorContains(t, err, `unknown data set "gauss"`)
	_, err = parseDataKinds(" , ")
	assert.Error(t, err)
}
