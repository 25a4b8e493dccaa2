package rounds

import (
	"slices"
	"testing"
)

const out = `goos: linux
BenchmarkInProcess/work=json1k/impl=bare-2         	   1000	      1000 ns/op	1327.94 MB/s	      1200 cpu-ns/op	    1968 B/op	       9 allocs/op
BenchmarkInProcess/work=json1k/impl=bodytap-2      	   2000	      3000 ns/op	 607.86 MB/s	      4000 cpu-ns/op	         0.01 lost/op	    5843 B/op	      13 allocs/op
BenchmarkInProcess/work=json64k/impl=bare          	    100	     20000 ns/op
PASS
`

func TestParse(t *testing.T) {
	res := NewResults()
	res.Parse(0, "", []byte(out))
	res.Parse(2, "Paced", []byte(out))
	if res.Rounds != 3 {
		t.Errorf("Rounds = %d, want 3", res.Rounds)
	}
	for group, want := range map[string][]string{"InProcess": {"json1k", "json64k"}, "Paced": {"json1k", "json64k"}} {
		if got := res.Works[group]; !slices.Equal(got, want) {
			t.Errorf("Works[%q] = %q, want %q", group, got, want)
		}
	}
	tests := []struct {
		name string
		k    Key
		r    int
		want float64
	}{
		{"unit", Key{"InProcess", "json1k", "bodytap", "cpu-ns/op"}, 0, 4000},
		{"no -N suffix", Key{"InProcess", "json64k", "bare", "ns/op"}, 0, 20000},
		{"requests", Key{"InProcess", "json1k", "bodytap", "requests"}, 0, 2000},
		{"lost", Key{"InProcess", "json1k", "bodytap", "lost"}, 0, 20},
		{"group replaced", Key{"Paced", "json1k", "bare", "B/op"}, 2, 1968},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := res.Samples[tt.k][tt.r]
			if !ok || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
	if _, ok := res.Samples[Key{"InProcess", "json1k", "bare", "lost"}]; ok {
		t.Error("lost recorded for an implementation without lost/op")
	}
}

func TestSummaries(t *testing.T) {
	res := NewResults()
	a, b := Key{"G", "w", "a", "ns/op"}, Key{"G", "w", "b", "ns/op"}
	for r, v := range []float64{4, 1, 3, 2} {
		res.Set(a, r, v)
		res.Set(b, r, 2)
	}
	res.Set(b, 9, 5) // a round a lacks
	if m, ok := res.Median(a); !ok || m != 2.5 {
		t.Errorf("Median = %v, %v; want 2.5", m, ok)
	}
	if s, ok := res.Sum(a); !ok || s != 10 {
		t.Errorf("Sum = %v, %v; want 10", s, ok)
	}
	r := res.Ratios(a, b)
	slices.Sort(r)
	if want := []float64{0.5, 1, 1.5, 2}; !slices.Equal(r, want) {
		t.Errorf("Ratios = %v, want %v", r, want)
	}
	none := Key{"G", "w", "none", "ns/op"}
	if _, ok := res.Median(none); ok {
		t.Error("Median of no samples reports some")
	}
	if _, ok := res.Sum(none); ok {
		t.Error("Sum of no samples reports some")
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		v    []float64
		q    float64
		want float64
	}{
		{[]float64{7}, 0.25, 7},
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{4, 1, 3, 2}, 0.5, 2.5},
		{[]float64{4, 1, 3, 2}, 0.25, 1.75},
		{[]float64{4, 1, 3, 2}, 1, 4},
	}
	for _, tt := range tests {
		if got := Quantile(tt.v, tt.q); got != tt.want {
			t.Errorf("Quantile(%v, %v) = %v, want %v", tt.v, tt.q, got, tt.want)
		}
	}
}
