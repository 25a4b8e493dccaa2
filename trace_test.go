package bodytap

import (
	"net/http"
	"testing"
)

func TestParseTraceparent(t *testing.T) {
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tc, ok := ParseTraceparent(valid)
	if !ok || tc.String() != valid || tc.Flags != 1 || tc.TraceID[0] != 0x4b || tc.SpanID[7] != 0xb7 {
		t.Fatalf("ParseTraceparent(%q) = %+v, %v", valid, tc, ok)
	}
	for _, s := range []string{
		"",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",            // short
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",           // upper case
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",           // zero trace ID
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",           // zero span ID
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",           // version ff
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",     // version 00 is exact
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",           // separator
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",           // not hex
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",           // flags
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01extra-data", // later version, bad separator
	} {
		if tc, ok := ParseTraceparent(s); ok {
			t.Errorf("ParseTraceparent(%q) = %+v, want failure", s, tc)
		}
	}
	// A later version is read by its first four fields.
	if tc, ok := ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"); !ok || tc.String() != valid {
		t.Errorf("a later version: %+v, %v", tc, ok)
	}
	if (TraceContext{}).String() != "" {
		t.Error("the zero TraceContext has a text form")
	}
}

// TestTraceRecorded: the Tap records the request's traceparent, and
// Config.Trace takes precedence over it.
func TestTraceRecorded(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	const server = "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"
	serverTC, _ := ParseTraceparent(server)
	for _, tt := range []struct {
		name   string
		header string
		hook   func(*http.Request) (TraceContext, bool)
		want   string
	}{
		{"header", parent, nil, parent},
		{"none", "", nil, ""},
		{"malformed header", "garbage", nil, ""},
		{"hook", parent, func(*http.Request) (TraceContext, bool) { return serverTC, true }, server},
		{"hook without an answer", parent, func(*http.Request) (TraceContext, bool) { return TraceContext{}, false }, parent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector()
			tap := New(Config{Sink: c, Trace: tt.hook})
			defer tap.Close()
			srv, client := newServer(t, tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})), false)
			req, _ := http.NewRequest("GET", srv.URL, nil)
			if tt.header != "" {
				req.Header.Set("Traceparent", tt.header)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := c.next(t).Trace.String(); got != tt.want {
				t.Errorf("Trace = %q, want %q", got, tt.want)
			}
		})
	}
}
