package numprint

import (
	"math"
	"math/big"
)

// This file turns float16 and x87 long double values into decimal digits
// the way NumPy does (its "Dragon4" formatter, after Steele & White and
// Burger & Dybvig, in its "unique" mode): the shortest digit string that
// reads back to the same value, cut off at a number of digits and extended
// to a minimum as NumPy's precision and min_digits ask. Exact big-integer
// arithmetic makes the digits identical to NumPy's for every value.
// float32 and float64 get the same digits from strconv (see digits).

// dragonBuffer mirrors the size of NumPy's formatting buffer, which bounds
// the number of digits Dragon4 may produce.
const dragonBuffer = 16384

var bigTen = big.NewInt(10)

// dragon4 produces the decimal digits of the finite value |p| and the
// decimal exponent of the first digit. It stops at the shortest digit
// string that identifies the value, or at cutMax digits, but not before
// cutMin digits, and rounds the last digit to nearest (ties to even). With
// fraction set, the cutoffs count digits after the decimal point;
// otherwise they count all digits. A negative cutoff means none.
func dragon4(p *floatParts, fraction bool, cutMax, cutMin int) ([]byte, int) {
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
