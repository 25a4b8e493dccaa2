package filter

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/bodytap/bodytap"
)

// TestMayMatch: the look for literals never rules out a body the
// expression matches, and rules out those that lack a needed word.
func TestMayMatch(t *testing.T) {
	tests := []struct {
		pattern, body string
		may           bool
	}{
		{"zebracorn", `{"flag":"ZebraCorn"}`, true},
		{"zebracorn", `{"flag":"zebra corn"}`, false},
		{"(?-i)Zebra", "zebra", false},
		{"(?-i)Zebra", "a Zebra", true},
		{"auth(id)?=[0-9]+", "user=ada&AUTH=1", true},
		{"auth(id)?=[0-9]+", "user=ada", false},
		{"needle.*thread", "NEEDLE and\nthread", true},
		{"needle.*thread", "needle only", false},
		{"kelvin", "\u212aelvin", true}, // k folds to the Kelvin sign: no literal to look for
		{"ſecret", "SECRET", true},
		{"a|b", "c", true}, // no literal every match needs
		{"", "", true},
	}
	for _, tt := range tests {
		m, err := compileMatch(OpBody, tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		b := []byte(tt.body)
		if got := mayMatch(m.Re, b); got != tt.may {
			t.Errorf("mayMatch(%q, %q) = %v, want %v", tt.pattern, tt.body, got, tt.may)
		}
		if m.Re.Match(b) && !mayMatch(m.Re, b) {
			t.Errorf("%q matches %q, but mayMatch rules it out", tt.pattern, tt.body)
		}
	}
}

// TestMayMatchRandom: over random patterns and bodies of a few letters
// of both cases, a body that a pattern matches is never ruled out.
func TestMayMatchRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte("abAB-._\n"[r.IntN(8)])
		}
		return b.String()
	}
	ruledOut := 0
	for range 5000 {
		pattern := regexp.QuoteMeta(word(1+r.IntN(3))) + []string{"", ".*", "+", "?", "|x"}[r.IntN(5)] + regexp.QuoteMeta(word(r.IntN(3)))
		m, err := compileMatch(OpBody, pattern)
		if err != nil {
			t.Fatal(err)
		}
		b := []byte(word(r.IntN(12)))
		may := mayMatch(m.Re, b)
		if m.Re.Match(b) && !may {
			t.Fatalf("%q matches %q, but mayMatch rules it out", pattern, b)
		}
		if !may {
			ruledOut++
		}
	}
	if ruledOut < 500 {
		t.Errorf("mayMatch ruled out %d of 5000 bodies, want many", ruledOut)
	}
}

// BenchmarkBodySearch: ~b with a word over a 1 KiB JSON body that lacks
// it, the common case of a search.
func BenchmarkBodySearch(b *testing.B) {
	f, err := Parse("~b zebracorn")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat(`{"sku":"alpha-1234","qty":7,"note":"bravo charlie"},`, 20))
	x := &bodytap.Exchange{Response: bodytap.Response{Status: 200, Body: bodytap.Body{Bytes: body, Size: int64(len(body))}}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if f.Match(x) {
			b.Fatal("matched")
		}
	}
}
