package numprint

import (
	"encoding/binary"
	"flag"
	"math"
	"math/rand/v2"
	"testing"
)

var digitsN = flag.Int("digits", 5000, "random float32 and float64 values TestDigitsMatchDragon4 checks (each)")

// floatOf decodes v as the float32 (bitSize 32) or float64 that the
// printer sees in an 'f4' or 'f8' array.
func floatOf(v float64, bitSize int) floatParts {
	var b [8]byte
	if bitSize == 32 {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(v)))
		return floatAt(b[:], 4, '<')
	}
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
	return floatAt(b[:], 8, '<')
}

// cutoffs are the (fraction, cutMax, cutMin) the printer passes: shortest
// (scalars), NumPy's precision 8 positional and scientific probes, the
// positional format, and the scientific format for every fraction length.
var cutoffs = func() [][3]int {
	c := [][3]int{{0, -1, -1}, {1, 8, -1}, {1, 8, 0}, {0, 9, -1}}
	for k := 0; k <= 17; k++ {
		c = append(c, [3]int{0, k + 1, k + 1})
	}
	return c
}()

// checkDigits compares strconvDigits for p with dragon4.
func checkDigits(t *testing.T, p floatParts, fraction bool, cutMax, cutMin int) {
	t.Helper()
	if !p.finite() {
		return
	}
	wd, we := dragon4(&p, fraction, cutMax, cutMin)
	gd, ge := strconvDigits(math.Abs(p.v), p.bitSize, fraction, cutMax, cutMin)
	if string(gd) != string(wd) || ge != we {
		t.Fatalf("%v (float%d) fraction=%v cutMax=%d cutMin=%d: digits %s e%d, dragon4 %s e%d",
			p.v, p.bitSize, fraction, cutMax, cutMin, gd, ge, wd, we)
	}
}

// TestDigitsMatchDragon4 checks that the digits strconvDigits gives for
// float32 and float64 values are dragon4's, for random bit patterns,
// random decimal-looking values and values at the printer's boundaries,
// with the cutoffs the printer uses and random others.
func TestDigitsMatchDragon4(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	special := []float64{0, 1, 0.1, 0.3, 0.5, 1.5, 2.5, 1.0 / 3, 2.0 / 3, 1e-4, 1e8, 1e16, 1e15, 99999999, 1e23, 9.5, 0.95,
		5e-324, math.SmallestNonzeroFloat32, math.MaxFloat32, math.MaxFloat64, 2.2250738585072014e-308, 1.1754943508222875e-38,
		123456.789, 99999992, 1e-8, 1e-9, 4.9999999e-9, 5e-9, 5.0000001e-9, 0.000123456789}
	for e := -320; e <= 308; e++ {
		p := math.Pow(10, float64(e))
		special = append(special, p, math.Nextafter(p, 0), math.Nextafter(p, math.Inf(1)))
	}
	value := func(i, bitSize int) float64 {
		if i < len(special) {
			return special[i]
		}
		switch i % 4 {
		case 0: // any bit pattern
			if bitSize == 32 {
				return float64(math.Float32frombits(rng.Uint32()))
			}
			return math.Float64frombits(rng.Uint64())
		case 1: // a short decimal: k/10^m at any scale
			return float64(rng.IntN(100000)) / math.Pow(10, float64(rng.IntN(10))) * math.Pow(10, float64(rng.IntN(40)-20))
		case 2: // what the printer sees most: normal values of moderate size
			return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(24)-12))
		}
		return math.Exp(rng.Float64()*60 - 30)
	}
	for _, bitSize := range []int{32, 64} {
		for i := 0; i < len(special)+*digitsN; i++ {
			p := floatOf(value(i, bitSize), bitSize)
			for _, c := range cutoffs {
				checkDigits(t, p, c[0] == 1, c[1], c[2])
			}
			fraction := rng.IntN(2) == 0
			cutMax := rng.IntN(25) - 1
			checkDigits(t, p, fraction, cutMax, rng.IntN(cutMax+2)-1)
		}
	}
}

// FuzzDigits checks strconvDigits for float64 and float32 values against
// dragon4, with any cutoffs.
func FuzzDigits(f *testing.F) {
	for _, v := range []float64{0, 1, 0.1, 1e-300, 5e-324, math.MaxFloat64, 123456789, 2.5, 1.0 / 3, 1e23, 99999992} {
		f.Add(math.Float64bits(v), false, int8(-1), int8(-1))
		f.Add(math.Float64bits(v), true, int8(8), int8(0))
	}
	f.Fuzz(func(t *testing.T, bits uint64, fraction bool, cutMax, cutMin int8) {
		if cutMax > 40 || cutMin > 40 {
			return // only more digits of the same kind
		}
		checkDigits(t, floatOf(math.Float64frombits(bits), 64), fraction, int(cutMax), int(cutMin))
		checkDigits(t, floatOf(float64(math.Float32frombits(uint32(bits))), 32), fraction, int(cutMax), int(cutMin))
	})
}

// TestDigitsThroughStrconv: float32 and float64 elements take their digits
// from strconv, float16 and long double from dragon4.
func TestDigitsThroughStrconv(t *testing.T) {
	one := map[int][]byte{ // 1.5, little-endian
		2: {0x00, 0x3e}, 4: {0, 0, 0xc0, 0x3f}, 8: {0, 0, 0, 0, 0, 0, 0xf8, 0x3f},
		16: {0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0x3f, 0, 0, 0, 0, 0, 0},
	}
	for size, bitSize := range map[int]int{2: 0, 4: 32, 8: 64, 16: 0} {
		p := floatAt(one[size], size, '<')
		if p.bitSize != bitSize {
			t.Errorf("size %d: bitSize %d, want %d", size, p.bitSize, bitSize)
		}
		if d, e := p.digits(false, -1, -1); string(d) != "15" || e != 0 {
			t.Errorf("size %d: 1.5 gives digits %s e%d", size, d, e)
		}
	}
}
