package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/bench/internal/rounds"
)

func TestReport(t *testing.T) {
	out, err := os.ReadFile("testdata/round.txt")
	if err != nil {
		t.Fatal(err)
	}
	res := rounds.NewResults()
	for r := range 3 {
		res.Parse(r, "", out)
		res.Parse(r, "Paced", out)
	}
	if got := cheapest(res, "InProcess", "json1k"); got != "chi" {
		t.Errorf("cheapest peer %q, want chi", got)
	}
	if got := ratioCell(res, key("InProcess", "json1k", "bodytap-noredact", "cpu-ns/op"), key("InProcess", "json1k", "chi", "cpu-ns/op")); got != "1.50 (1.50–1.50)" {
		t.Errorf("ratio cell %q, want 1.50 (1.50–1.50)", got)
	}
	// 0.01 lost/op of 2000 requests, in each of 3 rounds.
	if got := lostCell(res, key("InProcess", "json1k", "bodytap-noredact", "lost")); got != "60 of 6000" {
		t.Errorf("lost cell %q, want 60 of 6000", got)
	}
	// 0.1 shed/op of 2000 requests, in each of 3 rounds.
	shed := rounds.NewResults()
	for r := range 3 {
		shed.Parse(r, "", []byte("BenchmarkInProcess/work=json64k/impl=bodytap-2 2000 30000 ns/op 0.02 lost/op 0.1 shed/op\n"))
	}
	if got := lostCell(shed, key("InProcess", "json64k", "bodytap", "lost")); got != "120 of 6000 (600 shed)" {
		t.Errorf("lost cell %q, want 120 of 6000 (600 shed)", got)
	}
	var md bytes.Buffer
	report(&md, options{rounds: 3}, res, "1 1 1", "1 1 1", 0)
	for _, want := range []string{"| json1k | chi (cheapest peer) |", "| json1k | bodytap-noredact | 3 µs | 1.50 (1.50–1.50) | 3.00 (3.00–3.00) |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
}
