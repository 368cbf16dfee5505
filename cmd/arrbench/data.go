package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/arrfile/arrfile/npy"
)

// dataKind names one of the benchmark's data sets.
type dataKind struct {
	Name  string // flag value
	DType string // NumPy dtype string of the elements
	Size  int    // bytes per element
	Desc  string
}

// dataKinds are the three data sets of the codec issue, in the order the
// report lists them.
var dataKinds = []dataKind{
	{"normal", "<f8", 8, "standard normal float64 (incompressible)"},
	{"smooth", "<f8", 8, "smooth float64 signal rounded to 3 decimals"},
	{"walk", "<i4", 4, "int32 random walk, steps in [-2, 2]"},
}

// parseDataKinds parses a comma-separated list of data set names; "all"
// stands for every data set.
func parseDataKinds(s string) ([]dataKind, error) {
	var out []dataKind
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			continue
		case f == "all":
			for _, k := range dataKinds {
				if !seen[k.Name] {
					seen[k.Name] = true
					out = append(out, k)
				}
			}
			continue
		}
		found := false
		for _, k := range dataKinds {
			if k.Name == f {
				found = true
				if !seen[f] {
					seen[f] = true
					out = append(out, k)
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown data set %q (have normal, smooth, walk, all)", f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no data set in %q", s)
	}
	return out, nil
}

// dataSet is one generated array held by the producer. Exactly one of f64
// and i32 is set, according to Kind.DType.
type dataSet struct {
	Kind dataKind
	f64  []float64
	i32  []int32
}

// Len is the number of elements.
func (d *dataSet) Len() int {
	if d.f64 != nil {
		return len(d.f64)
	}
	return len(d.i32)
}

// Bytes returns the first n elements as their little-endian bytes (the
// machine's own layout: arrbench runs on little-endian machines only, see
// checkLittleEndian), without copying.
func (d *dataSet) Bytes(n int) []byte {
	if d.f64 != nil {
		return npy.Bytes(d.f64[:n])
	}
	return npy.Bytes(d.i32[:n])
}

// Checksum returns the checksum of the first n elements (see checksumBytes).
func (d *dataSet) Checksum(n int) uint64 {
	if d.f64 != nil {
		return sumFloat64Bits(d.f64[:n])
	}
	return sumInt32(d.i32[:n])
}

// checkLittleEndian returns an error on big-endian machines: the raw
// transports send the producer's memory as it is and the files say '<'.
func checkLittleEndian() error {
	if npy.DTypeOf[float64]().Order != '<' {
		return fmt.Errorf("arrbench needs a little-endian machine")
	}
	return nil
}

// genChunk is the number of elements generated from one random stream;
// the data are the same whatever the number of cores.
const genChunk = 1 << 20

// generate makes n elements of data set k, deterministically (the same
// bytes on every machine and every run), using every core.
func generate(k dataKind, n int) *dataSet {
	d := &dataSet{Kind: k}
	switch k.Name {
	case "normal":
		d.f64 = make([]float64, n)
		parallelChunks(n, func(c, lo, hi int) {
			r := rand.New(rand.NewPCG(0x6172726265, uint64(c)))
			for i := lo; i < hi; i++ {
				d.f64[i] = r.NormFloat64()
			}
		})
	case "smooth":
		d.f64 = make([]float64, n)
		parallelChunks(n, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				d.f64[i] = smoothAt(i)
			}
		})
	case "walk":
		d.i32 = make([]int32, n)
		ends := make([]int64, (n+genChunk-1)/genChunk)
		parallelChunks(n, func(c, lo, hi int) {
			r := rand.New(rand.NewPCG(0x77616c6b, uint64(c)))
			var v int32
			for i := lo; i < hi; i++ {
				v += int32(r.IntN(5)) - 2
				d.i32[i] = v
			}
			ends[c] = int64(v)
		})
		offs := make([]int32, len(ends))
		for c := 1; c < len(ends); c++ {
			offs[c] = offs[c-1] + int32(ends[c-1])
		}
		parallelChunks(n, func(c, lo, hi int) {
			if o := offs[c]; o != 0 {
				for i := lo; i < hi; i++ {
					d.i32[i] += o
				}
			}
		})
	default:
		panic("arrbench: unknown data set " + k.Name)
	}
	return d
}

// smoothAt is element i of the smooth data set: a sum of slow sines,
// rounded to 3 decimals as a measuring instrument would.
func smoothAt(i int) float64 {
	x := float64(i)
	v := 10*math.Sin(2*math.Pi*x/65536) + 3*math.Sin(2*math.Pi*x/4096+1) + 0.5*math.Sin(2*math.Pi*x/977)
	return math.Round(v*1000) / 1000
}

// parallelChunks calls f for every genChunk-sized chunk [lo, hi) of n
// elements, on up to GOMAXPROCS goroutines.
func parallelChunks(n int, f func(chunk, lo, hi int)) {
	chunks := (n + genChunk - 1) / genChunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	var wg sync.WaitGroup
	next := make(chan int, chunks)
	for c := range chunks {
		next <- c
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				lo := c * genChunk
				f(c, lo, min(lo+genChunk, n))
			}
		}()
	}
	wg.Wait()
}

// The checksum every consumer computes and the producer verifies: the sum,
// wrapping modulo 2^64, of every element. float64 elements are summed as
// their IEEE-754 bit patterns (uint64), int32 elements as int64 values, so
// the answer is exact and independent of the order of summation: Go and
// NumPy consumers must agree with the producer to the bit. NumPy computes
// the same with a.view(np.uint64).sum(dtype=np.uint64) and
// a.sum(dtype=np.int64).

// sumFloat64Bits returns the wrapping sum of the bit patterns of s. It
// reads s as uint64s, 16 at a time through an array pointer (one bounds
// check per 128 bytes), into four independent accumulators, which runs
// at memory speed on one core.
func sumFloat64Bits(s []float64) uint64 {
	u := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
	var a0, a1, a2, a3 uint64
	for len(u) >= 16 {
		v := (*[16]uint64)(u)
		a0 += v[0] + v[4] + v[8] + v[12]
		a1 += v[1] + v[5] + v[9] + v[13]
		a2 += v[2] + v[6] + v[10] + v[14]
		a3 += v[3] + v[7] + v[11] + v[15]
		u = u[16:]
	}
	for _, x := range u {
		a0 += x
	}
	return a0 + a1 + a2 + a3
}

// sumInt32 returns the sum of s as an int64, converted to uint64.
func sumInt32(s []int32) uint64 {
	var a0, a1, a2, a3, a4, a5, a6, a7 int64
	i := 0
	for ; i+8 <= len(s); i += 8 {
		v := s[i : i+8 : i+8]
		a0 += int64(v[0])
		a1 += int64(v[1])
		a2 += int64(v[2])
		a3 += int64(v[3])
		a4 += int64(v[4])
		a5 += int64(v[5])
		a6 += int64(v[6])
		a7 += int64(v[7])
	}
	for ; i < len(s); i++ {
		a0 += int64(s[i])
	}
	return uint64(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7)
}

// checksumBytes returns the checksum of raw little-endian elements of the
// given dtype ("<f8" or "<i4"). b must be aligned for the element type
// (every buffer and mapping arrbench uses is).
func checksumBytes(dtype string, b []byte) (uint64, error) {
	switch dtype {
	case "<f8":
		s, err := npy.View[float64](b, dtypeF8)
		if err != nil {
			return 0, err
		}
		return sumFloat64Bits(s), nil
	case "<i4":
		s, err := npy.View[int32](b, dtypeI4)
		if err != nil {
			return 0, err
		}
		return sumInt32(s), nil
	}
	return 0, fmt.Errorf("checksum: unsupported dtype %q", dtype)
}

// The machine's dtypes of the data sets' elements: '<f8' and '<i4' (see
// checkLittleEndian).
var dtypeF8, dtypeI4 = npy.DTypeOf[float64](), npy.DTypeOf[int32]()
