package pgstore

import (
	"testing"

	"github.com/bodytap/bodytap"
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
		// k and s also match K (Kelvin) and ſ: the runs between count.
		{"~b quokkaquartz", "", `{"QUO\u212a\u212aAQUARTZ"}`, true},
		{"~b quokkaquartz", "", `{"QUOKKAQUARTZ"}`, true},
		{"~b quokkaquartz", "", "quokka", false},
		{"~b quokkaquartz", "", "aquartz quo", true},
		{"~b ksk", "", "", true}, // no run: nothing needed
	}
	for _, tt := range tests {
		f, err := filter.Parse(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := met(bodyNeeds(f.Root), []byte(tt.req), []byte(tt.resp)); got != tt.met {
			t.Errorf("%s over %q, %q: met = %v, want %v", tt.filter, tt.req, tt.resp, got, tt.met)
		}
		x := &bodytap.Exchange{}
		x.Request.Body.Bytes, x.Response.Body.Bytes, x.Response.Status = []byte(tt.req), []byte(tt.resp), 200
		if f.Match(x) && !tt.met {
			t.Errorf("%s over %q, %q: matches, and met is false", tt.filter, tt.req, tt.resp)
		}
	}
}
