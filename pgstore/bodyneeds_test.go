package pgstore

import (
	"testing"

	"github.com/bodytap/bodytap/filter"
)

// TestBodyNeeds: the needs a filter puts on bodies rule out exactly the
// exchanges whose bodies lack an and-ed body match's words, and nothing
// when a body match is or-ed or negated.
func TestBodyNeeds(t *testing.T) {
	tests := []struct {
		filter    string
		req, resp string
		met       bool
	}{
		{"~b zebra", "", `{"a":"ZEBRA"}`, true},
		{"~b zebra", `zebra`, "", true},
		{"~b zebra", "camel", "camel", false},
		{"~bq zebra", "", "zebra", false},
		{"~bs zebra", "", "zebra", true},
		{"~m POST & ~b zebra & ~bs camel", "zebra", "camel", true},
		{"~m POST & ~b zebra & ~bs camel", "zebra", "zebra", false},
		{"~b zebra | ~m POST", "", "", true},
		{"!~b zebra", "", "", true},
		{"~b .", "", "", true}, // no word needed
		{`~b "(?-i)Zebra"`, "", "zebra", false},
	}
	for _, tt := range tests {
		f, err := filter.Parse(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := met(bodyNeeds(f.Root), []byte(tt.req), []byte(tt.resp)); got != tt.met {
			t.Errorf("%s over %q, %q: met = %v, want %v", tt.filter, tt.req, tt.resp, got, tt.met)
		}
	}
}
