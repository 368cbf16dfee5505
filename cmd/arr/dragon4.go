package main

import (
	"math"
	"math/big"
	"strings"
)

// This file turns binary floating-point values into decimal text the way
// NumPy does (its "Dragon4" formatter, after Steele & White and Burger &
// Dybvig): the shortest digit string that reads back to the same value
// ("unique" mode), optionally cut off at a number of digits and padded to a
// minimum, with NumPy's trimming and padding rules. Exact big-integer
// arithmetic makes the result identical to NumPy's for every float16,
// float32, float64 and x87 long double value.

// trimMode says what to do with trailing zeros and the decimal point, as
// NumPy's trim argument ('k', '.', '0', '-').
type trimMode int

const (
	trimNone         trimMode = iota // 'k': keep trailing zeros (and pad to min digits)
	trimZeros                        // '.': drop trailing zeros, keep the point
	trimLeaveOneZero                 // '0': drop trailing zeros but keep one after the point
	trimDptZeros                     // '-': drop trailing zeros and the point
)

// dragonBuffer mirrors the size of NumPy's formatting buffer, which bounds
// the number of digits Dragon4 may produce.
const dragonBuffer = 16384

// floatParts is a decoded floating-point value: sign, class, and for finite
// values mant * 2**exp, with the position of the highest mantissa bit and
// whether the gap to the next smaller value is half the gap to the next
// larger one (the value is a power of two above the smallest normal).
type floatParts struct {
	neg     bool
	inf     bool
	nan     bool
	mant    uint64
	exp     int
	mantBit int
	unequal bool
}

func (p *floatParts) finite() bool { return !p.inf && !p.nan }

// decodeIEEE splits the bits of an IEEE 754 binary number with the given
// exponent and fraction widths.
func decodeIEEE(bits uint64, expBits, fracBits uint) floatParts {
	var p floatParts
	p.neg = bits>>(expBits+fracBits)&1 == 1
	e := bits >> fracBits & (1<<expBits - 1)
	f := bits & (1<<fracBits - 1)
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
			p.mantBit = bitLen(f) - 1
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
			p.mantBit = bitLen(f) - 1
		}
	}
	return p
}

func bitLen(x uint64) int {
	n := 0
	for x != 0 {
		n++
		x >>= 1
	}
	return n
}

// rat returns the exact value of a finite p (without its sign) as a
// big.Float, for comparisons.
func (p *floatParts) rat() *big.Float {
	f := new(big.Float).SetPrec(128).SetUint64(p.mant)
	return f.SetMantExp(f, p.exp)
}

var bigTen = big.NewInt(10)

// dragon4 produces the decimal digits of the finite, non-negative value p
// and the decimal exponent of the first digit. In unique mode it stops
// at the shortest digit string that identifies the value (or at cutMax),
// but not before cutMin digits; in exact mode it prints the exact digits up
// to cutMax. With fraction set, the cutoffs count digits after the decimal
// point; otherwise they count all digits. A negative cutoff means none.
func dragon4(p *floatParts, unique, fraction bool, cutMax, cutMin int) ([]byte, int) {
	if p.mant == 0 {
		return []byte{'0'}, 0
	}
	isEven := p.mant&1 == 0
	value := new(big.Int).SetUint64(p.mant)
	scale := new(big.Int)
	low := new(big.Int)
	var high *big.Int // nil: same as low
	if p.unequal {
		high = new(big.Int)
		if p.exp > 0 {
			value.Lsh(value, uint(p.exp+2))
			scale.SetInt64(4)
			low.Lsh(big.NewInt(1), uint(p.exp))
			high.Lsh(big.NewInt(1), uint(p.exp+1))
		} else {
			value.Lsh(value, 2)
			scale.Lsh(big.NewInt(1), uint(-p.exp+2))
			low.SetInt64(1)
			high.SetInt64(2)
		}
	} else {
		if p.exp > 0 {
			value.Lsh(value, uint(p.exp+1))
			scale.SetInt64(2)
			low.Lsh(big.NewInt(1), uint(p.exp))
		} else {
			value.Lsh(value, 1)
			scale.Lsh(big.NewInt(1), uint(-p.exp+1))
			low.SetInt64(1)
		}
	}
	marginHigh := func() *big.Int {
		if high == nil {
			return low
		}
		return high
	}

	const log10of2 = 0.30102999566398119521373889472449
	digitExp := int(math.Ceil(float64(p.mantBit+p.exp)*log10of2 - 0.69))
	if cutMax >= 0 && fraction && digitExp <= -cutMax {
		digitExp = -cutMax + 1
	}
	if digitExp > 0 {
		scale.Mul(scale, new(big.Int).Exp(bigTen, big.NewInt(int64(digitExp)), nil))
	} else if digitExp < 0 {
		pow := new(big.Int).Exp(bigTen, big.NewInt(int64(-digitExp)), nil)
		value.Mul(value, pow)
		low.Mul(low, pow)
		if high != nil {
			high.Lsh(low, 1)
		}
	}
	if value.Cmp(scale) >= 0 {
		digitExp++
	} else {
		value.Mul(value, bigTen)
		low.Mul(low, bigTen)
		if high != nil {
			high.Lsh(low, 1)
		}
	}

	cutMaxExp := digitExp - dragonBuffer
	if cutMax >= 0 {
		want := -cutMax
		if !fraction {
			want = digitExp - cutMax
		}
		if want > cutMaxExp {
			cutMaxExp = want
		}
	}
	cutMinExp := digitExp
	if cutMin >= 0 {
		want := -cutMin
		if !fraction {
			want = digitExp - cutMin
		}
		if want < cutMinExp {
			cutMinExp = want
		}
	}
	outExp := digitExp - 1

	var digits []byte
	var digit int64
	var lowOK, highOK bool
	q := new(big.Int)
	sum := new(big.Int)
	if unique {
		for {
			digitExp--
			q.QuoRem(value, scale, value)
			digit = q.Int64()
			sum.Add(value, marginHigh())
			c := value.Cmp(low)
			lowOK = c < 0 || (isEven && c == 0)
			c = sum.Cmp(scale)
			highOK = c > 0 || (isEven && c == 0)
			if ((lowOK || highOK) && digitExp <= cutMinExp) || digitExp == cutMaxExp {
				break
			}
			digits = append(digits, byte('0'+digit))
			value.Mul(value, bigTen)
			low.Mul(low, bigTen)
			if high != nil {
				high.Lsh(low, 1)
			}
		}
	} else {
		for {
			digitExp--
			q.QuoRem(value, scale, value)
			digit = q.Int64()
			if value.Sign() == 0 || digitExp == cutMaxExp {
				break
			}
			digits = append(digits, byte('0'+digit))
			value.Mul(value, bigTen)
		}
	}

	roundDown := lowOK
	if lowOK == highOK {
		value.Lsh(value, 1)
		c := value.Cmp(scale)
		roundDown = c < 0
		if c == 0 {
			roundDown = digit&1 == 0
		}
	}
	if roundDown {
		return append(digits, byte('0'+digit)), outExp
	}
	if digit < 9 {
		return append(digits, byte('0'+digit+1)), outExp
	}
	// Round up through a run of nines.
	for i := len(digits) - 1; i >= 0; i-- {
		if digits[i] != '9' {
			digits[i]++
			return digits[:i+1], outExp
		}
	}
	return []byte{'1'}, outExp + 1
}

// fmtOpts are the options of NumPy's dragon4_positional and
// dragon4_scientific: precision and minDigits (negative: none), whether to
// print a '+' for non-negative values, trimming, and padding (negative:
// none).
type fmtOpts struct {
	unique    bool
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

func spaces(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat(" ", n)
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
	digits, pexp := dragon4(p, o.unique, !o.totalLength, o.precision, o.minDigits)
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
	add := o.minDigits
	if !o.unique {
		add = o.precision
	}
	want := add
	if want < 0 {
		want = 0
	}
	if o.totalLength {
		want = add - numWhole
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
	digits, pexp := dragon4(p, o.unique, false, cmax, cmin)
	s = append(s, digits[0])
	numFrac := len(digits) - 1
	if numFrac > 0 {
		s = append(s, '.')
		s = append(s, digits[1:]...)
	}
	if o.trim != trimDptZeros && numFrac == 0 {
		s = append(s, '.')
	}
	add := o.minDigits
	if !o.unique {
		add = o.precision
	}
	if add < 0 {
		add = 0
	}
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
	es := []byte(itoa(int64(pexp)))
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
	o := fmtOpts{unique: true, precision: -1, minDigits: -1, sign: sign, padLeft: -1, padRight: -1, expDigits: -1, totalLength: true}
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

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	var buf [24]byte
	i := len(buf)
	u := uint64(v)
	if neg {
		u = -u
	}
	for u > 0 {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}
