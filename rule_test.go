package bodytap

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseRules(t *testing.T) {
	rules, err := ParseRules(`
		# media: headers only
		response_type=video/*,audio/* -> headers-only
		method=GET path=/healthz -> skip
		path=/api/** status=5xx min-response-size=10 -> capture
	`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{ResponseType: "video/*,audio/*", Action: HeadersOnly},
		{Method: "GET", Path: "/healthz", Action: Skip},
		{Path: "/api/**", Status: "5xx", MinResponseSize: 10, Action: Capture},
	}
	if len(rules) != len(want) {
		t.Fatalf("got %d rules, want %d", len(rules), len(want))
	}
	for i := range want {
		if rules[i] != want[i] {
			t.Errorf("rule %d: got %+v, want %+v", i, rules[i], want[i])
		}
	}
	for _, bad := range []string{"path=/x", "path=/x -> keep", "color=red -> skip", "min_request_size=big -> skip"} {
		if _, err := ParseRules(bad); err == nil {
			t.Errorf("ParseRules(%q): no error", bad)
		}
	}
	// The JSON form reads the same.
	var fromJSON []Rule
	if err := json.Unmarshal([]byte(`[{"response_type":"video/*,audio/*","action":"headers-only"}]`), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if fromJSON[0] != want[0] {
		t.Errorf("JSON rule: got %+v, want %+v", fromJSON[0], want[0])
	}
}

// TestRules runs each rule through a real Tap and checks what is recorded.
func TestRules(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/video":
			w.Header().Set("Content-Type", "video/mp4")
		case "/fail":
			w.WriteHeader(500)
		}
		w.Write([]byte(strings.Repeat("v", 100)))
	})
	cases := []struct {
		name      string
		rules     string
		path      string
		recorded  bool
		wrapped   bool
		keptBytes int
	}{
		{"no rules", "", "/video", true, true, 100},
		{"skip by path, unwrapped", "path=/video -> skip", "/video", false, false, 0},
		{"headers only by response type", "response_type=video/* -> headers-only", "/video", true, true, 0},
		{"headers only by method", "method=POST -> headers-only", "/video", true, true, 0},
		{"skip by status", "status=2xx -> skip", "/video", false, true, 0},
		{"status rule not matching", "status=2xx -> skip", "/fail", true, true, 100},
		{"skip by size", "min_response_size=50 -> skip", "/other", false, true, 0},
		{"first rule wins", "path=/fail -> capture\nstatus=5xx -> skip", "/fail", true, true, 100},
		{"earlier response rule blocks early skip", "status=5xx -> capture\npath=/fail -> skip", "/fail", true, true, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules, err := ParseRules(c.rules)
			if err != nil {
				t.Fatal(err)
			}
			col := newCollector()
			tap := New(Config{Sink: col, Rules: rules})
			var wrapped bool
			rec := httptest.NewRecorder()
			tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				wrapped = w != http.ResponseWriter(rec)
				h.ServeHTTP(w, r)
			})).ServeHTTP(rec, httptest.NewRequest("POST", c.path, strings.NewReader("request body")))
			tap.Close()
			if rec.Body.Len() != 100 {
				t.Fatalf("client got %d bytes, want 100", rec.Body.Len())
			}
			if wrapped != c.wrapped {
				t.Errorf("wrapped: got %v, want %v", wrapped, c.wrapped)
			}
			if got := len(col.xs) == 1; got != c.recorded {
				t.Fatalf("recorded: got %v, want %v (stats %+v)", got, c.recorded, tap.Stats())
			}
			if !c.recorded {
				if st := tap.Stats(); st.Skipped != 1 {
					t.Errorf("Skipped: got %d, want 1", st.Skipped)
				}
				return
			}
			x := col.xs[0]
			if len(x.Response.Body.Bytes) != c.keptBytes || x.Response.Body.Size != 100 {
				t.Errorf("response body: kept %d of %d, want %d of 100", len(x.Response.Body.Bytes), x.Response.Body.Size, c.keptBytes)
			}
			if c.keptBytes == 0 && (len(x.Request.Body.Bytes) != 0 || !x.Response.Body.Truncated) {
				t.Errorf("headers only: request kept %d bytes, response truncated %v", len(x.Request.Body.Bytes), x.Response.Body.Truncated)
			}
		})
	}
}

func TestSampling(t *testing.T) {
	run := func(t *testing.T, s Sampling, n int, h http.HandlerFunc) (*collector, Stats) {
		t.Helper()
		col := newCollector()
		tap := New(Config{Sink: col, Sampling: s})
		hh := tap.Handler(h)
		for range n {
			hh.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}
		tap.Close()
		return col, tap.Stats()
	}
	ok := func(w http.ResponseWriter, r *http.Request) {}
	t.Run("rate", func(t *testing.T) {
		col, st := run(t, Sampling{Rate: 0.25}, 2000, ok)
		if n := len(col.xs); n < 350 || n > 650 {
			t.Errorf("kept %d of 2000 at rate 0.25, want about 500", n)
		}
		if st.SampledOut+int64(len(col.xs)) != 2000 {
			t.Errorf("SampledOut %d + kept %d != 2000", st.SampledOut, len(col.xs))
		}
	})
	t.Run("errors kept", func(t *testing.T) {
		i := 0
		col, _ := run(t, Sampling{Rate: -1, KeepErrors: true}, 100, func(w http.ResponseWriter, r *http.Request) {
			i++
			if i%10 == 0 {
				w.WriteHeader(503)
			}
		})
		if len(col.xs) != 10 {
			t.Fatalf("kept %d, want the 10 errors", len(col.xs))
		}
		for _, x := range col.xs {
			if x.Response.Status != 503 {
				t.Errorf("kept a %d", x.Response.Status)
			}
		}
	})
	t.Run("slow kept", func(t *testing.T) {
		i := 0
		col, _ := run(t, Sampling{Rate: -1, KeepSlowerThan: 20 * time.Millisecond}, 20, func(w http.ResponseWriter, r *http.Request) {
			i++
			if i == 5 {
				time.Sleep(30 * time.Millisecond)
			}
		})
		if len(col.xs) != 1 || col.xs[0].Duration < 20*time.Millisecond {
			t.Errorf("kept %d; want only the slow one", len(col.xs))
		}
	})
}

func TestPerBodyCaps(t *testing.T) {
	col := newCollector()
	tap := New(Config{Sink: col, MaxRequestBodyBytes: 3, MaxResponseBodyBytes: 5})
	tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "response body")
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader("request body")))
	tap.Close()
	x := col.xs[0]
	if string(x.Request.Body.Bytes) != "req" || string(x.Response.Body.Bytes) != "respo" {
		t.Errorf("got %q and %q, want %q and %q", x.Request.Body.Bytes, x.Response.Body.Bytes, "req", "respo")
	}
}
