package rounds

import "testing"

func TestFormats(t *testing.T) {
	tests := []struct {
		format func(float64) string
		v      float64
		want   string
	}{
		{FmtNs, 512.4, "512 ns"},
		{FmtNs, 45300, "45.3 µs"},
		{FmtNs, 1.27e6, "1.27 ms"},
		{FmtNs, 2.5e9, "2.50 s"},
		{FmtBytes, 900, "900 B"},
		{FmtBytes, 5843, "5.71 KiB"},
		{FmtBytes, 3 << 20, "3 MiB"},
		{FmtBytes, 3 << 30, "3.00 GiB"},
		{FmtCount, 26570.4, "26570"},
		{FmtCount, 84.5, "84.5"},
		{FmtPct, 0, "0%"},
		{FmtPct, 0.125, "0.12%"},
		{FmtPct, 42.26, "42.3%"},
		{FmtPct, 99.96, "100%"},
	}
	for _, tt := range tests {
		if got := tt.format(tt.v); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
