package numprint

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// FuzzDragon4 checks the shortest ("unique") digits of float64 and float32
// values against strconv's shortest formatting, which is correct by a
// different algorithm.
func FuzzDragon4(f *testing.F) {
	for _, v := range []float64{0, 1, 0.1, 1e-300, 5e-324, math.MaxFloat64, 123456789, 2.5, 1.0 / 3} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		check := func(p floatParts, want string) {
			digits, exp := dragon4(&p, false, -1, -1)
			// strconv 'e' with -1 precision: d[.ddd]e±XX
			mant, e, _ := strings.Cut(want, "e")
			wantDigits := strings.TrimRight(strings.Replace(mant, ".", "", 1), "0")
			if wantDigits == "" {
				wantDigits = "0"
			}
			wantExp, _ := strconv.Atoi(e)
			if string(digits) != wantDigits || (wantDigits != "0" && exp != wantExp) {
				t.Fatalf("%s: dragon4 gives %s e%d", want, digits, exp)
			}
		}
		p := decodeIEEE(bits, 11, 52)
		if p.finite() {
			check(p, strconv.FormatFloat(math.Abs(math.Float64frombits(bits)), 'e', -1, 64))
		}
		b32 := uint32(bits)
		p = decodeIEEE(uint64(b32), 8, 23)
		if p.finite() {
			check(p, strconv.FormatFloat(float64(float32(math.Abs(float64(math.Float32frombits(b32))))), 'e', -1, 32))
		}
	})
}
