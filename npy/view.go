package npy

import (
	"fmt"
	"math"
	"unsafe"
)

// Elem is the set of Go element types that map one-to-one onto a NumPy
// dtype: bool (b1), int8..int64 (i1..i8), uint8..uint64 (u1..u8),
// Float16 (f2), float32 (f4), float64 (f8), complex64 (c8) and
// complex128 (c16).
//
// datetime64 and timedelta64 arrays are int64 counts of their unit and
// may be viewed or read as int64.
type Elem interface {
	bool | int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 |
		Float16 | float32 | float64 | complex64 | complex128
}

// DTypeOf returns the dtype of Go element type T in the machine's byte
// order, for example '<f8' for float64 on amd64.
func DTypeOf[T Elem]() *DType {
	var z T
	d := &DType{Size: int(unsafe.Sizeof(z))}
	switch any(z).(type) {
	case bool:
		d.Kind = 'b'
	case int8, int16, int32, int64:
		d.Kind = 'i'
	case uint8, uint16, uint32, uint64:
		d.Kind = 'u'
	case Float16, float32, float64:
		d.Kind = 'f'
	case complex64, complex128:
		d.Kind = 'c'
	}
	d.Order = nativeOrder
	if d.Size == 1 {
		d.Order = '|'
	}
	return d
}

// matches reports whether data of dtype d can be held in Go type T,
// ignoring byte order.
func matches[T Elem](d *DType) bool {
	if d == nil || d.Structured() {
		return false
	}
	want := DTypeOf[T]()
	if d.Size != want.Size {
		return false
	}
	if d.Kind == want.Kind {
		return true
	}
	// datetime64/timedelta64 are int64 counts.
	return want.Kind == 'i' && want.Size == 8 && (d.Kind == 'M' || d.Kind == 'm')
}

func checkType[T Elem](d *DType) error {
	if !matches[T](d) {
		var z T
		return fmt.Errorf("%w: array is %s, Go type is %T (%s)", ErrTypeMismatch, d, z, DTypeOf[T]())
	}
	return nil
}

// View returns data as a []T without copying: the slice shares data's
// memory, so writes through either are seen by the other. data holds the
// elements of an array of dtype dt (len(data) must be a multiple of the
// item size).
//
// View never converts or copies. It fails with [ErrTypeMismatch] when dt
// is not T's kind and size, [ErrByteOrder] when dt is not in the machine's
// byte order (convert explicitly with [DType.SwapBytes], or use [Read]
// which copies), [ErrAlignment] when data's address is not aligned for T,
// and [ErrSize] for a partial element.
func View[T Elem](data []byte, dt *DType) ([]T, error) {
	if err := checkType[T](dt); err != nil {
		return nil, err
	}
	if !dt.Native() {
		return nil, fmt.Errorf("%w: array is %s, machine is %c", ErrByteOrder, dt, nativeOrder)
	}
	var z T
	size := int(unsafe.Sizeof(z))
	if len(data)%size != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte elements", ErrSize, len(data), size)
	}
	if len(data) == 0 {
		return []T{}, nil
	}
	p := unsafe.Pointer(unsafe.SliceData(data))
	if a := unsafe.Alignof(z); uintptr(p)%a != 0 {
		return nil, fmt.Errorf("%w: address %p is not a multiple of %d", ErrAlignment, p, a)
	}
	return unsafe.Slice((*T)(p), len(data)/size), nil
}

// Bytes returns the memory of s as a []byte without copying, in the
// machine's byte order (see [DTypeOf]).
func Bytes[T Elem](s []T) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}

// Float16 is an IEEE 754 half-precision number (NumPy's float16, 'f2'),
// stored as its 16 bits.
type Float16 uint16

// float32 returns f as a float32 (exactly).
func (f Float16) float32() float32 {
	sign := uint32(f>>15) << 31
	exp := uint32(f>>10) & 0x1f
	mant := uint32(f) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: value = mant * 2^-24
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// Float64 returns f as a float64 (exactly; float32(f.Float64()) is
// exact too).
func (f Float16) Float64() float64 { return float64(f.float32()) }

// String formats f like a float32.
func (f Float16) String() string { return fmt.Sprint(f.float32()) }

// float16From32 returns the Float16 nearest to v (ties to even), with
// overflow to infinity, as NumPy's float32 -> float16 conversion.
func float16From32(v float32) Float16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int((b >> 23) & 0xff)
	mant := b & 0x7fffff
	if exp == 0xff { // inf / NaN
		if mant == 0 {
			return Float16(sign | 0x7c00)
		}
		m := uint16(mant >> 13)
		if m == 0 {
			m = 0x200
		}
		return Float16(sign | 0x7c00 | m)
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return Float16(sign | 0x7c00)
	}
	if e <= 0 {
		if e < -10 {
			return Float16(sign)
		}
		// subnormal half: shift the mantissa with its hidden bit.
		m := mant | 0x800000
		shift := uint(14 - e)
		half := m >> shift
		rem := m & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return Float16(sign | uint16(half))
	}
	half := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is right (up to inf)
	}
	return Float16(sign | uint16(half))
}

// Float16From returns the Float16 nearest to v (ties to even), with
// overflow to infinity. It rounds once, from the float64 value, as
// NumPy's float64 -> float16 conversion does; for a float32 x,
// Float16From(float64(x)) is NumPy's float32 -> float16 conversion (the
// float64 holds x exactly, so the one rounding is the same).
func Float16From(v float64) Float16 {
	f := float32(v)
	if float64(f) == v || math.IsNaN(v) || math.IsInf(v, 0) {
		return float16From32(f)
	}
	// Avoid double rounding: nudge the float32 toward v by one sticky bit.
	b := math.Float32bits(f)
	if (float64(f) < v) == (v > 0) {
		b |= 1
	} else if b&1 == 0 {
		b--
		b |= 1
	}
	return float16From32(math.Float32frombits(b))
}
