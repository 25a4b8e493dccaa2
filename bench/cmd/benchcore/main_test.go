package main

import (
	"bytes"
	"strings"
	"testing"
)

const round = `goos: linux
BenchmarkInProcess/work=json1k/impl=bare-2         	   1000	      1000 ns/op	1327.94 MB/s	      1000 cpu-ns/op	    1968 B/op	       9 allocs/op
BenchmarkInProcess/work=json1k/impl=bodytap-noredact-2         	   2000	      3000 ns/op	 607.86 MB/s	      3000 cpu-ns/op	         0.01 lost/op	    5843 B/op	      13 allocs/op
BenchmarkInProcess/work=json1k/impl=chi-2                      	   1000	      2000 ns/op	1042.45 MB/s	      2000 cpu-ns/op	         0 lost/op	    4362 B/op	      14 allocs/op
BenchmarkInProcess/work=json1k/impl=httpsnoop-2                	   1000	      2500 ns/op	1042.45 MB/s	      2500 cpu-ns/op	         0 lost/op	    4362 B/op	      19 allocs/op
PASS
`

func TestReport(t *testing.T) {
	res := newResults()
	for r := range 3 {
		res.parse(r, "", []byte(round))
		res.parse(r, "Paced", []byte(round))
	}
	if got := res.cheapest("InProcess", "json1k"); got != "chi" {
		t.Errorf("cheapest peer %q, want chi", got)
	}
	if got := ratioCell(res, key{"InProcess", "json1k", "bodytap-noredact", "cpu-ns/op"}, key{"InProcess", "json1k", "chi", "cpu-ns/op"}); got != "1.50 (1.50–1.50)" {
		t.Errorf("ratio cell %q, want 1.50 (1.50–1.50)", got)
	}
	// 0.01 lost/op of 2000 requests, in each of 3 rounds.
	if got := lostCell(res, key{"InProcess", "json1k", "bodytap-noredact", "lost"}); got != "60 of 6000" {
		t.Errorf("lost cell %q, want 60 of 6000", got)
	}
	var md bytes.Buffer
	report(&md, options{rounds: 3}, res, "1 1 1", "1 1 1", 0)
	for _, want := range []string{"| json1k | chi (cheapest peer) |", "| json1k | bodytap-noredact | 3 µs | 1.50 (1.50–1.50) | 3.00 (3.00–3.00) |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
}
