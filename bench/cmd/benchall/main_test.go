package main

import (
	"strings"
	"testing"

	"github.com/bodytap/bodytap/bench"
)

const out = `goos: linux
BenchmarkInProcess/work=json1k/impl=bare-2         	   71702	      1000 ns/op	1327.94 MB/s	      1200 cpu-ns/op	    1968 B/op	       9 allocs/op
BenchmarkInProcess/work=json1k/impl=bodytap-noredact-2         	   34984	      3000 ns/op	 607.86 MB/s	      4000 cpu-ns/op	         0 lost/op	    5843 B/op	      13 allocs/op
BenchmarkInProcess/work=json1k/impl=httpsnoop-2                	   60003	      2000 ns/op	1042.45 MB/s	      2487 cpu-ns/op	         0 lost/op	    4362 B/op	      19 allocs/op
PASS
`

func TestParseAndLoses(t *testing.T) {
	res := newResults()
	for r := range 4 {
		res.parse(r, []byte(out))
	}
	m, ok := res.median(key{"InProcess", "json1k", "bodytap-noredact", "ns/op"})
	if !ok || m != 3000 {
		t.Fatalf("median ns/op of bodytap-noredact = %v, %v; want 3000", m, ok)
	}
	impl, _ := bench.ImplByName("bodytap-noredact")
	if got := ratioCell(res, key{"InProcess", "json1k", "bodytap-noredact", "ns/op"}, impl); got != "3.00" {
		t.Errorf("ratio cell %q, want 3.00", got)
	}
	loses := losesCell(res, tables[0], "json1k", "bodytap-noredact")
	for _, want := range []string{"httpsnoop: ns/op 1.50×", "B/op 1.34×"} {
		if !strings.Contains(loses, want) {
			t.Errorf("loses cell %q lacks %q", loses, want)
		}
	}
	if strings.Contains(loses, "allocs") {
		t.Errorf("loses cell %q: bodytap has fewer allocations", loses)
	}
}
