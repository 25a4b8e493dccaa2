package rounds

import (
	"fmt"
	"strconv"
)

// FmtNs formats a duration in nanoseconds with three significant digits
// (whole nanoseconds below a microsecond, two decimals from a second).
func FmtNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// FmtBytes formats a size in bytes in B, KiB, MiB or GiB.
func FmtBytes(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.3g MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.3g KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

// FmtCount formats a count or rate: whole from 100, one decimal below.
func FmtCount(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// FmtPct formats a percentage with more decimals the smaller it is.
func FmtPct(p float64) string {
	if p >= 99.95 || p == 0 {
		return fmt.Sprintf("%.0f%%", p)
	}
	if p < 1 {
		return fmt.Sprintf("%.2f%%", p)
	}
	return fmt.Sprintf("%.1f%%", p)
}
