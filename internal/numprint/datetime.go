package numprint

import (
	"fmt"
	"strconv"
	"strings"
)

// datetime64 and timedelta64 values as NumPy prints them. The arithmetic
// follows NumPy's (int64, wrapping on overflow as NumPy's C code does in
// practice), so that even extreme values print as NumPy prints them.

// splitUnit splits a datetime unit such as "10us" into its multiplier and
// base unit ("μs" is NumPy's alias of "us"). The generic unit is "".
func splitUnit(unit string) (int64, string) {
	i := 0
	for i < len(unit) && unit[i] >= '0' && unit[i] <= '9' {
		i++
	}
	num := int64(1)
	if i > 0 {
		if n, err := strconv.ParseInt(unit[:i], 10, 64); err == nil && n > 0 {
			num = n
		}
	}
	base := unit[i:]
	if base == "μs" {
		base = "us"
	}
	return num, base
}

// floorDivMod is Python's divmod for a positive divisor.
func floorDivMod(v, d int64) (int64, int64) {
	q, r := v/d, v%d
	if r < 0 {
		r += d
		q--
	}
	return q, r
}

type civil struct {
	year                       int64
	month, day, hour, min, sec int
	frac                       int64 // sub-second part, in the unit's own digits
}

var daysPerMonth = [2][12]int{
	{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
	{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
}

func isLeap(y int64) bool { return y&3 == 0 && (y%100 != 0 || y%400 == 0) }

// setDays fills the date of c from days since 1970-01-01.
func (c *civil) setDays(days int64) {
	const per400 = 400*365 + 100 - 4 + 1
	d := days - (365*30 + 7) // relative to 2000-01-01
	q, d := floorDivMod(d, per400)
	year := 400 * q
	if d >= 366 {
		year += 100 * ((d - 1) / (100*365 + 25 - 1))
		d = (d - 1) % (100*365 + 25 - 1)
		if d >= 365 {
			year += 4 * ((d + 1) / (4*365 + 1))
			d = (d + 1) % (4*365 + 1)
			if d >= 366 {
				year += (d - 1) / 365
				d = (d - 1) % 365
			}
		}
	}
	c.year = year + 2000
	leap := 0
	if isLeap(c.year) {
		leap = 1
	}
	for m, n := range daysPerMonth[leap] {
		if d < int64(n) {
			c.month = m + 1
			c.day = int(d) + 1
			return
		}
		d -= int64(n)
	}
	c.month, c.day = 12, 31 // not reached for valid input
}

// fracDigits is the number of sub-second digits NumPy prints per unit.
var fracDigits = map[string]int{"ms": 3, "us": 6, "ns": 9, "ps": 12, "fs": 15, "as": 18}

// unitsPerSecond for the sub-second units.
var unitsPerSecond = map[string]int64{
	"ms": 1e3, "us": 1e6, "ns": 1e9, "ps": 1e12, "fs": 1e15, "as": 1e18,
}

// datetimeString is NumPy's datetime_as_string for a non-NaT value of a
// datetime64 with the given unit, printed in that unit.
func datetimeString(v int64, unit string) string {
	num, base := splitUnit(unit)
	v *= num // wraps as NumPy's int64 arithmetic does
	c := civil{year: 1970, month: 1, day: 1}
	switch base {
	case "Y":
		c.year = 1970 + v
	case "M":
		q, r := floorDivMod(v, 12)
		c.year, c.month = 1970+q, int(r)+1
	case "W":
		c.setDays(v * 7)
	case "D":
		c.setDays(v)
	case "h":
		q, r := floorDivMod(v, 24)
		c.setDays(q)
		c.hour = int(r)
	case "m":
		q, r := floorDivMod(v, 24*60)
		c.setDays(q)
		c.hour, c.min = int(r/60), int(r%60)
	case "s", "ms", "us", "ns", "ps", "fs", "as":
		ups := int64(1)
		if base != "s" {
			ups = unitsPerSecond[base]
		}
		secs, frac := floorDivMod(v, ups)
		days, s := floorDivMod(secs, 86400)
		c.setDays(days)
		c.hour, c.min, c.sec = int(s/3600), int(s/60%60), int(s%60)
		c.frac = frac
	default: // generic unit: NumPy cannot print it; show the count
		return strconv.FormatInt(v, 10)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%04d", c.year)
	if base == "Y" {
		return b.String()
	}
	fmt.Fprintf(&b, "-%02d", c.month)
	if base == "M" {
		return b.String()
	}
	fmt.Fprintf(&b, "-%02d", c.day)
	if base == "W" || base == "D" {
		return b.String()
	}
	fmt.Fprintf(&b, "T%02d", c.hour)
	if base == "h" {
		return b.String()
	}
	fmt.Fprintf(&b, ":%02d", c.min)
	if base == "m" {
		return b.String()
	}
	fmt.Fprintf(&b, ":%02d", c.sec)
	if n := fracDigits[base]; n > 0 {
		fmt.Fprintf(&b, ".%0*d", n, c.frac)
	}
	return b.String()
}

var unitNames = map[string]string{
	"Y": "years", "M": "months", "W": "weeks", "D": "days", "h": "hours",
	"m": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds",
	"ns": "nanoseconds", "ps": "picoseconds", "fs": "femtoseconds",
	"as": "attoseconds", "": "generic time units",
}

// timedeltaString is NumPy's str() of a non-NaT timedelta64 scalar:
// "5 nanoseconds" (the count times the unit's multiplier).
func timedeltaString(v int64, unit string) string {
	num, base := splitUnit(unit)
	return strconv.FormatInt(v*num, 10) + " " + unitNames[base]
}
