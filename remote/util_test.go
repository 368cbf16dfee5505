package remote

import (
	"fmt"
	"strconv"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fmtSscanf(cr string, a, b, n *int64) {
	fmt.Sscanf(cr, "bytes %d-%d/%d", a, b, n)
}
