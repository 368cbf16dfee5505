package numprint

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

	"github.com/arrfile/arrfile/npy"
)

// This file formats floating-point values as NumPy's dragon4_positional
// and dragon4_scientific do, with NumPy's trimming and padding rules, and
// fits one format to all the values of an array (NumPy's FloatingFormat).

// trimMode says what to do with trailing zeros and the decimal point, as
// NumPy's trim argument ('k', '.', '0', '-').
type trimMode int

const (
	trimNone         trimMode = iota // 'k': keep trailing zeros (and pad to min digits)
	trimZeros                        // '.': drop trailing zeros, keep the point
	trimLeaveOneZero                 // '0': drop trailing zeros but keep one after the point
	trimDptZeros                     // '-': drop trailing zeros and the point
)

// floatParts is a decoded floating-point value: sign, class, and for finite
// values mant * 2**exp, with the position of the highest mantissa bit and
// whether the gap to the next smaller value is half the gap to the next
// larger one (the value is a power of two above the smallest normal).
// float32 and float64 values also carry the value itself, in v, and their
// bitSize (32 or 64); bitSize is 0 for float16 and long double.
type floatParts struct {
	neg     bool
	inf     bool
	nan     bool
	mant    uint64
	exp     int
	mantBit int
	unequal bool
	v       float64
	bitSize int
}

func (p *floatParts) finite() bool { return !p.inf && !p.nan }

// floatAt decodes a float of the given size ('f2', 'f4', 'f8', or an x87
// long double stored in 12 or 16 bytes).
func floatAt(b []byte, size int, order byte) floatParts {
	switch size {
	case 2:
		return decodeIEEE(uintAt(b, 2, order), 5, 10)
	case 4:
		u := uintAt(b, 4, order)
		p := decodeIEEE(u, 8, 23)
		p.v, p.bitSize = float64(math.Float32frombits(uint32(u))), 32
		return p
	case 8:
		u := uintAt(b, 8, order)
		p := decodeIEEE(u, 11, 52)
		p.v, p.bitSize = math.Float64frombits(u), 64
		return p
	}
	// Long double: x87 80-bit extended, padded to 12 or 16 bytes.
	le := make([]byte, size)
	copy(le, b[:size])
	if order == '>' {
		for i, j := 0, size-1; i < j; i, j = i+1, j-1 {
			le[i], le[j] = le[j], le[i]
		}
	}
	return decodeX87(binary.LittleEndian.Uint64(le), binary.LittleEndian.Uint16(le[8:]))
}

// decodeIEEE splits the bits of an IEEE 754 binary number with the given
// exponent and fraction widths.
func decodeIEEE(u uint64, expBits, fracBits uint) floatParts {
	var p floatParts
	p.neg = u>>(expBits+fracBits)&1 == 1
	e := u >> fracBits & (1<<expBits - 1)
	f := u & (1<<fracBits - 1)
	bias := int(1)<<(expBits-1) - 1
	switch {
	case e == 1<<expBits-1:
		p.inf = f == 0
		p.nan = f != 0
	case e != 0:
		p.mant = 1<<fracBits | f
		p.exp = int(e) - bias - int(fracBits)
		p.mantBit = int(fracBits)
		p.unequal = e != 1 && f == 0
	default:
		p.mant = f
		p.exp = 1 - bias - int(fracBits)
		if f != 0 {
			p.mantBit = bits.Len64(f) - 1
		}
	}
	return p
}

// decodeX87 splits an x87 80-bit extended value (NumPy's longdouble on x86):
// lo holds the 64-bit mantissa with its explicit integer bit, hi the sign and
// the 15-bit exponent.
func decodeX87(lo uint64, hi uint16) floatParts {
	var p floatParts
	p.neg = hi>>15 == 1
	e := int(hi & 0x7fff)
	f := lo & (1<<63 - 1)
	switch {
	case e == 0x7fff:
		p.inf = f == 0
		p.nan = f != 0
	case e != 0:
		p.mant = 1<<63 | f
		p.exp = e - 16383 - 63
		p.mantBit = 63
		p.unequal = e != 1 && f == 0
	default:
		p.mant = f
		p.exp = 1 - 16383 - 63
		if f != 0 {
			p.mantBit = bits.Len64(f) - 1
		}
	}
	return p
}

// rat returns the exact value of a finite p (without its sign) as a
// big.Float, for comparisons.
func (p *floatParts) rat() *big.Float {
	f := new(big.Float).SetPrec(128).SetUint64(p.mant)
	return f.SetMantExp(f, p.exp)
}

// digits returns the decimal digits of the finite value |p| and the
// decimal exponent of the first digit as NumPy's Dragon4 gives them in its
// "unique" mode (see dragon4 for the cutoffs): from strconv for float32
// and float64, from dragon4 for the others.
func (p *floatParts) digits(fraction bool, cutMax, cutMin int) ([]byte, int) {
	if p.bitSize != 0 {
		return strconvDigits(math.Abs(p.v), p.bitSize, fraction, cutMax, cutMin)
	}
	return dragon4(p, fraction, cutMax, cutMin)
}

// strconvDigits is dragon4 for a finite v >= 0 of the given bitSize (32 or
// 64), through strconv. Dragon4's digits are those of the value rounded
// to nearest (ties to even) at a length chosen thus: the shortest length
// that reads back to v, raised to cutMin and lowered to cutMax. Its
// shortest digits are strconv's (-1 precision), any other length is
// strconv's correctly rounded 'e' formatting, and the one difference is
// that Dragon4 drops the zeros that rounding up through nines leaves
// ("13" where strconv gives "1.300e+00"). TestDigitsMatchDragon4 checks
// this against dragon4 itself.
func strconvDigits(v float64, bitSize int, fraction bool, cutMax, cutMin int) ([]byte, int) {
	if v == 0 {
		return []byte{'0'}, 0
	}
	var buf [32]byte
	shortest, exp := splitE(strconv.AppendFloat(buf[:0], v, 'e', -1, bitSize))
	n := len(shortest)
	if !fraction {
		if cutMin > n {
			n = cutMin
		}
		if cutMax > 0 && n > cutMax {
			n = cutMax
		}
	} else {
		// The cutoffs are positions after the point: count the digits from
		// the first digit of v's exact value, which is one place lower
		// than the shortest digits' when those are rounded up to a power
		// of ten ("1e+23" for 99999999999999991611392).
		first := exp
		if n == 1 && shortest[0] == '1' {
			_, first = exactDigits(v, bitSize)
		}
		if cutMax >= 0 && first < -cutMax {
			// v < 10**-cutMax: one digit at 10**-cutMax, 0 or 1.
			f := strconv.AppendFloat(buf[:0], v, 'f', cutMax, bitSize)
			return []byte{f[len(f)-1]}, -cutMax
		}
		if cutMin >= 0 && first+1+cutMin > n {
			n = first + 1 + cutMin
		}
		if cutMax >= 0 && n > first+1+cutMax {
			n = first + 1 + cutMax
		}
	}
	if n == len(shortest) {
		return shortest, exp
	}
	d, e := splitE(strconv.AppendFloat(nil, v, 'e', n-1, bitSize))
	if d[len(d)-1] == '0' {
		// Zeros at the end are v's own digits when rounding went down and
		// left by a carry when it went up, which Dragon4 drops.
		exact, ee := exactDigits(v, bitSize)
		if e != ee || !bytes.Equal(d, exact[:len(d)]) {
			d = bytes.TrimRight(d, "0")
		}
	}
	return d, e
}

// exactDigits returns all the decimal digits of the finite v > 0 (no
// float64 has more than 767 significant ones) and the exponent of the
// first.
func exactDigits(v float64, bitSize int) ([]byte, int) {
	return splitE(strconv.AppendFloat(nil, v, 'e', 800, bitSize))
}

// splitE splits strconv's 'e' format of a positive value, d.ddde±XX, into
// its digits (overwriting s) and the exponent.
func splitE(s []byte) ([]byte, int) {
	i := bytes.IndexByte(s, 'e')
	exp, _ := strconv.Atoi(string(s[i+1:]))
	d := s[:i]
	if len(d) > 1 {
		d = append(d[:1], d[2:]...) // drop the point
	}
	return d, exp
}

// fmtOpts are the options of NumPy's dragon4_positional and
// dragon4_scientific in unique mode (the only one NumPy's printing uses):
// precision and minDigits (negative: none), whether to print a '+' for
// non-negative values, trimming, and padding (negative: none).
type fmtOpts struct {
	precision int
	minDigits int
	sign      bool
	trim      trimMode
	padLeft   int
	padRight  int
	expDigits int
	// totalLength makes precision count all digits in positional mode
	// instead of digits after the point (NumPy's scalar str uses it).
	totalLength bool
}

// formatPositional formats a finite p as NumPy's dragon4_positional does.
func formatPositional(p *floatParts, o fmtOpts) string {
	var b strings.Builder
	hasSign := 0
	if p.neg {
		b.WriteByte('-')
		hasSign = 1
	} else if o.sign {
		b.WriteByte('+')
		hasSign = 1
	}
	digits, pexp := p.digits(!o.totalLength, o.precision, o.minDigits)
	numWhole, numFrac := 0, 0
	if pexp >= 0 {
		numWhole = pexp + 1
		if len(digits) <= numWhole {
			b.Write(digits)
			b.WriteString(strings.Repeat("0", numWhole-len(digits)))
		} else {
			numFrac = len(digits) - numWhole
			b.Write(digits[:numWhole])
			b.WriteByte('.')
			b.Write(digits[numWhole:])
		}
	} else {
		zeros := -(pexp + 1)
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", zeros))
		b.Write(digits)
		numFrac = zeros + len(digits)
		numWhole = 1
	}
	s := []byte(b.String())
	if o.trim != trimDptZeros && numFrac == 0 {
		s = append(s, '.')
	}
	want := max(o.minDigits, 0)
	if o.totalLength {
		want = o.minDigits - numWhole
	}
	switch {
	case o.trim == trimLeaveOneZero:
		if numFrac == 0 {
			s = append(s, '0')
			numFrac++
		}
	case o.trim == trimNone && want > numFrac:
		for ; numFrac < want; numFrac++ {
			s = append(s, '0')
		}
	}
	if o.trim != trimNone && numFrac > 0 {
		for s[len(s)-1] == '0' {
			s = s[:len(s)-1]
			numFrac--
		}
		if s[len(s)-1] == '.' {
			switch o.trim {
			case trimLeaveOneZero:
				s = append(s, '0')
				numFrac++
			case trimDptZeros:
				s = s[:len(s)-1]
			}
		}
	}
	if o.padRight >= numFrac {
		if o.trim == trimDptZeros && numFrac == 0 {
			s = append(s, ' ')
		}
		s = append(s, spaces(o.padRight-numFrac)...)
	}
	out := string(s)
	if o.padLeft > numWhole+hasSign {
		out = spaces(o.padLeft-numWhole-hasSign) + out
	}
	return out
}

// formatScientific formats a finite p as NumPy's dragon4_scientific does.
func formatScientific(p *floatParts, o fmtOpts) string {
	var s []byte
	left := 1
	if p.neg || o.sign {
		left = 2
	}
	if o.padLeft > left {
		s = append(s, spaces(o.padLeft-left)...)
	}
	if p.neg {
		s = append(s, '-')
	} else if o.sign {
		s = append(s, '+')
	}
	cmax, cmin := -1, -1
	if o.precision >= 0 {
		cmax = o.precision + 1
	}
	if o.minDigits >= 0 {
		cmin = o.minDigits + 1
	}
	digits, pexp := p.digits(false, cmax, cmin)
	s = append(s, digits[0])
	numFrac := len(digits) - 1
	if numFrac > 0 {
		s = append(s, '.')
		s = append(s, digits[1:]...)
	}
	if o.trim != trimDptZeros && numFrac == 0 {
		s = append(s, '.')
	}
	add := max(o.minDigits, 0)
	switch {
	case o.trim == trimLeaveOneZero:
		if numFrac == 0 {
			s = append(s, '0')
			numFrac++
		}
	case o.trim == trimNone:
		for ; numFrac < add; numFrac++ {
			s = append(s, '0')
		}
	}
	if o.trim != trimNone && numFrac > 0 {
		for s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		if o.trim == trimLeaveOneZero && s[len(s)-1] == '.' {
			s = append(s, '0')
		}
	}
	expDigits := o.expDigits
	if expDigits > 5 {
		expDigits = 5
	}
	if expDigits < 0 {
		expDigits = 2
	}
	s = append(s, 'e')
	if pexp >= 0 {
		s = append(s, '+')
	} else {
		s = append(s, '-')
		pexp = -pexp
	}
	es := []byte(strconv.Itoa(pexp))
	for len(es) < expDigits {
		es = append([]byte{'0'}, es...)
	}
	s = append(s, es...)
	return string(s)
}

// formatFloatScalar formats p as NumPy's str() of a float scalar:
// positional for 0 and magnitudes in [1e-4, 1e16), scientific otherwise,
// with the given trimming for each.
func formatFloatScalar(p *floatParts, trimPos, trimSci trimMode, sign bool) string {
	if p.nan {
		if sign {
			return "+nan"
		}
		return "nan"
	}
	if p.inf {
		switch {
		case p.neg:
			return "-inf"
		case sign:
			return "+inf"
		}
		return "inf"
	}
	o := fmtOpts{precision: -1, minDigits: -1, sign: sign, padLeft: -1, padRight: -1, expDigits: -1, totalLength: true}
	if p.mant == 0 || (cmpAbs(p, 1e-4) >= 0 && cmpAbs(p, 1e16) < 0) {
		o.trim = trimPos
		return formatPositional(p, o)
	}
	o.trim = trimSci
	return formatScientific(p, o)
}

// cmpAbs compares |p| with the float64 x exactly.
func cmpAbs(p *floatParts, x float64) int {
	if p.mantBit <= 52 {
		// float16/32/64 values are exact as float64 (subnormals included).
		v := math.Ldexp(float64(p.mant), p.exp)
		switch {
		case v < x:
			return -1
		case v > x:
			return 1
		}
		return 0
	}
	return p.rat().Cmp(new(big.Float).SetFloat64(x))
}

// floatFormat is NumPy's FloatingFormat with floatmode 'maxprec' and
// precision 8: positional unless the values span too wide a range,
// at most 8 fraction digits (9 significant digits in scientific notation),
// columns aligned on the decimal point.
type floatFormat struct {
	exp       bool
	padLeft   int
	padRight  int
	precision int
	minDigits int
	trim      trimMode
	expSize   int
	sign      bool // print '+' for non-negative values (imaginary parts)
}

func newFloatFormat(vals []floatParts, size int, sign bool) *floatFormat {
	ff := &floatFormat{precision: 8, sign: sign, trim: trimZeros, expSize: -1}
	var finite []*floatParts
	var maxv, minv *floatParts
	nonFinite, negInf := false, false
	for i := range vals {
		v := &vals[i]
		if !v.finite() {
			nonFinite = true
			if v.inf && v.neg {
				negInf = true
			}
			continue
		}
		finite = append(finite, v)
		if v.mant == 0 {
			continue
		}
		if maxv == nil || cmpMag(v, maxv) > 0 {
			maxv = v
		}
		if minv == nil || cmpMag(v, minv) < 0 {
			minv = v
		}
	}
	if maxv != nil {
		ff.exp = cmpAbs(maxv, 1e8) >= 0 || cmpAbs(minv, 1e-4) < 0 || ratioOver1000(maxv, minv, size)
	}
	switch {
	case len(finite) == 0:
		ff.padLeft, ff.padRight = 0, 0
	case ff.exp:
		intLen, fracLen, expLen := 0, 0, 0
		for _, v := range finite {
			s := formatScientific(v, fmtOpts{precision: 8, minDigits: -1, sign: sign, trim: trimZeros, padLeft: -1, padRight: -1, expDigits: -1})
			mant, e, _ := strings.Cut(s, "e")
			ip, fp, _ := strings.Cut(mant, ".")
			intLen, fracLen, expLen = max(intLen, len(ip)), max(fracLen, len(fp)), max(expLen, len(e))
		}
		ff.expSize = expLen - 1
		ff.trim = trimNone
		ff.precision = fracLen
		ff.minDigits = fracLen
		ff.padLeft = intLen
		ff.padRight = ff.expSize + 2 + ff.precision
	default:
		intLen, fracLen := 0, 0
		for _, v := range finite {
			s := formatPositional(v, fmtOpts{precision: 8, minDigits: -1, sign: sign, trim: trimZeros, padLeft: -1, padRight: -1, expDigits: -1})
			ip, fp, _ := strings.Cut(s, ".")
			intLen, fracLen = max(intLen, len(ip)), max(fracLen, len(fp))
		}
		ff.padLeft, ff.padRight = intLen, fracLen
		ff.minDigits = 0
	}
	if nonFinite {
		infLen := 3
		if sign || negInf {
			infLen++
		}
		off := ff.padRight + 1
		ff.padLeft = max(ff.padLeft, 3-off, infLen-off)
	}
	return ff
}

func (ff *floatFormat) format(p *floatParts) string {
	if !p.finite() {
		s := "nan"
		if p.inf {
			s = "inf"
			if p.neg {
				s = "-inf"
			} else if ff.sign {
				s = "+inf"
			}
		} else if ff.sign {
			s = "+nan"
		}
		return spaces(ff.padLeft+ff.padRight+1-len(s)) + s
	}
	o := fmtOpts{precision: ff.precision, minDigits: ff.minDigits, sign: ff.sign, trim: ff.trim, padLeft: ff.padLeft, padRight: -1, expDigits: ff.expSize}
	if ff.exp {
		return formatScientific(p, o)
	}
	o.padRight = ff.padRight
	return formatPositional(p, o)
}

// cmpMag compares the magnitudes of two finite values.
func cmpMag(a, b *floatParts) int {
	if a.mantBit <= 52 && b.mantBit <= 52 {
		x, y := math.Ldexp(float64(a.mant), a.exp), math.Ldexp(float64(b.mant), b.exp)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return a.rat().Cmp(b.rat())
}

// ratioOver1000 computes max/min in the array's own precision, as NumPy
// does, and reports whether it exceeds 1000.
func ratioOver1000(maxv, minv *floatParts, size int) bool {
	x, y := math.Ldexp(float64(maxv.mant), maxv.exp), math.Ldexp(float64(minv.mant), minv.exp)
	switch size {
	case 2:
		q := float32(x) / float32(y)
		return npy.Float16From(float64(q)).Float64() > 1000
	case 4:
		return float64(float32(x)/float32(y)) > 1000
	case 8:
		return x/y > 1000
	}
	q := new(big.Float).SetPrec(64).Quo(maxv.rat(), minv.rat())
	return q.Cmp(big.NewFloat(1000)) > 0
}
