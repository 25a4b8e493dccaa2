package main

import (
	"os"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/bench"
	"github.com/bodytap/bodytap/bench/internal/rounds"
)

func TestRatioAndLoses(t *testing.T) {
	out, err := os.ReadFile("testdata/round.txt")
	if err != nil {
		t.Fatal(err)
	}
	res := rounds.NewResults()
	for r := range 4 {
		res.Parse(r, "", out)
	}
	impl, _ := bench.ImplByName("bodytap-noredact")
	if got := ratioCell(res, key("InProcess", "json1k", "bodytap-noredact", "ns/op"), impl); got != "3.00" {
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
