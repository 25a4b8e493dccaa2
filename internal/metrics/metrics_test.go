package metrics

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bodytap/bodytap"
)

func TestPromName(t *testing.T) {
	tests := []struct {
		f    Family
		want string
	}{
		{Family{Name: "bodytap.exchanges.captured", Unit: "{exchange}", Kind: Counter}, "bodytap_exchanges_captured_total"},
		{Family{Name: "bodytap.queue.size", Unit: "By", Kind: Gauge}, "bodytap_queue_size_bytes"},
		{Family{Name: "bodytap.store.search.time", Unit: "s", Kind: Counter}, "bodytap_store_search_time_seconds_total"},
		{Family{Name: "bodytap.queue.exchanges", Unit: "{exchange}", Kind: Gauge}, "bodytap_queue_exchanges"},
	}
	for _, tt := range tests {
		t.Run(tt.f.Name, func(t *testing.T) {
			if got := tt.f.PromName(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTextRoundTrip: what WriteText writes, ParseText reads back, odd
// help texts, label values and values included.
func TestTextRoundTrip(t *testing.T) {
	fams := []Family{
		{Name: "a.count", Help: `back\slash and "quotes"` + "\nnewline", Kind: Counter, Read: One(func() float64 { return 3 })},
		{Name: "b.level", Unit: "By", Kind: Gauge, Label: "why", Read: func(observe func(float64, string)) {
			observe(1.5, `q"u\o`+"\n")
			observe(math.Inf(1), "inf")
			observe(1<<53, "big")
		}},
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, fams); err != nil {
		t.Fatal(err)
	}
	samples, types, err := ParseText(&buf)
	if err != nil {
		t.Fatalf("%v in:\n%s", err, buf.String())
	}
	want := map[string]float64{
		"a_count_total":                  3,
		`b_level_bytes{why="q\"u\\o\n"}`: 1.5,
		`b_level_bytes{why="inf"}`:       math.Inf(1),
		`b_level_bytes{why="big"}`:       1 << 53,
	}
	if len(samples) != len(want) {
		t.Errorf("got %v, want %v", samples, want)
	}
	for k, v := range want {
		if samples[k] != v {
			t.Errorf("%s: got %v, want %v", k, samples[k], v)
		}
	}
	if types["a_count_total"] != "counter" || types["b_level_bytes"] != "gauge" {
		t.Errorf("types %v", types)
	}
}

func TestParseTextRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"no type", "x 1\n"},
		{"type without help", "# TYPE x gauge\nx 1\n"},
		{"twice", "# HELP x h\n# TYPE x gauge\nx 1\nx 2\n"},
		{"bad value", "# HELP x h\n# TYPE x gauge\nx one\n"},
		{"bad label", "# HELP x h\n# TYPE x gauge\nx{a=b} 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ParseText(strings.NewReader(tt.in)); err == nil {
				t.Errorf("no error for %q", tt.in)
			}
		})
	}
}

func TestTap(t *testing.T) {
	st := bodytap.Stats{Captured: 10, Delivered: 6, Dropped: 3, DroppedClosed: 1, Queued: 1, QueuedBytes: 4096, SinkPanics: 2}
	rec := httptest.NewRecorder()
	Handler(func() []Family { return Tap(func() bodytap.Stats { return st }) }).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Errorf("Content-Type %q", ct)
	}
	samples, _, err := ParseText(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"bodytap_exchanges_captured_total":                     10,
		"bodytap_exchanges_delivered_total":                    6,
		`bodytap_exchanges_dropped_total{reason="queue_full"}`: 2,
		`bodytap_exchanges_dropped_total{reason="closed"}`:     1,
		"bodytap_sink_panics_total":                            2,
		"bodytap_queue_exchanges":                              1,
		"bodytap_queue_size_bytes":                             4096,
		"bodytap_exchanges_skipped_total":                      0,
		"bodytap_exchanges_sampled_out_total":                  0,
		"bodytap_exchanges_shed_total":                         0,
	}
	for k, v := range want {
		if got, ok := samples[k]; !ok || got != v {
			t.Errorf("%s: got %v (present %v), want %v", k, got, ok, v)
		}
	}
	if len(samples) != len(want) {
		t.Errorf("got %d samples, want %d: %v", len(samples), len(want), samples)
	}

	rec = httptest.NewRecorder()
	Handler(nil).ServeHTTP(rec, httptest.NewRequest("POST", "/metrics", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: got %d, want 405", rec.Code)
	}
}
