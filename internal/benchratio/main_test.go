package main

import (
	"strings"
	"testing"
)

func TestPairedRatio(t *testing.T) {
	// Round 2 ran on a machine twice as slow: paired, it still reads 1.10.
	base := []float64{100, 200, 100, 100, 100}
	v := []float64{110, 220, 110, 120, 100}
	if got, want := pairedRatio(v, base), "1.10 (1.05–1.15)"; got != want {
		t.Errorf("pairedRatio = %q, want %q", got, want)
	}
	if got, want := pairedRatio([]float64{105}, []float64{100}), "1.05 (1.05–1.05)"; got != want {
		t.Errorf("one round: %q, want %q", got, want)
	}
	if got := pairedRatio(nil, base); got != "" {
		t.Errorf("no values: %q, want empty", got)
	}
}

func TestParse(t *testing.T) {
	in := `BenchmarkLoopback/1KiB/bare-2   	100	  20000 ns/op	 100.0 MB/s	  30000 cpu-ns/op
BenchmarkLoopback/1KiB/capture-2	100	  21000 ns/op	 95.0 MB/s	  33000 cpu-ns/op
PASS
`
	vals, rows, variants, units, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0] != "Loopback/1KiB" || len(variants) != 2 || variants[1] != "capture" {
		t.Fatalf("rows %q variants %q", rows, variants)
	}
	if strings.Join(units, ",") != "ns/op,cpu-ns/op" {
		t.Errorf("units %q (MB/s is left out)", units)
	}
	if got := vals[key{"Loopback/1KiB", "capture"}]["cpu-ns/op"]; len(got) != 1 || got[0] != 33000 {
		t.Errorf("capture cpu-ns/op = %v", got)
	}
}
