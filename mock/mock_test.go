package mock

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

func exchange(t testing.TB, at int, method, rawURL, reqBody string, status int, respBody string) *bodytap.Exchange {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	x := &bodytap.Exchange{Start: time.Unix(int64(at), 0)}
	x.ID = bodytap.NewID(x.Start)
	x.Request = bodytap.Request{Method: method, URL: u, Header: http.Header{}}
	x.Request.Body = bodytap.Body{Bytes: []byte(reqBody), Size: int64(len(reqBody)), EOF: true}
	x.Response = bodytap.Response{Status: status, Header: http.Header{"Content-Type": {"text/plain"}}}
	x.Response.Body = bodytap.Body{Bytes: []byte(respBody), Size: int64(len(respBody)), EOF: true}
	return x
}

func TestHandler(t *testing.T) {
	trunc := exchange(t, 5, "GET", "http://a/big", "", 200, "xx")
	trunc.Response.Body.Size, trunc.Response.Body.Truncated = 10, true
	gz := exchange(t, 6, "GET", "http://a/gz", "", 200, "plain")
	gz.Response.Header.Set("Content-Encoding", "gzip")
	gz.Response.Body.Decoded = "gzip"
	moved := exchange(t, 8, "GET", "http://a/old", "", 302, "")
	moved.Response.Header.Set("Location", "/new")
	moved.Response.Body.Size, moved.Response.Body.Truncated = 41, true
	wire := exchange(t, 7, "GET", "http://a/wire", "", 200, "\x1f\x8b...")
	wire.Response.Header.Set("Content-Encoding", "gzip")
	xs := []*bodytap.Exchange{
		exchange(t, 2, "GET", "http://a/api/list?page=2&sort=name&_=1", "", 200, "second"),
		exchange(t, 1, "GET", "http://a/api/list?sort=name&page=2&_=0", "", 200, "first"),
		exchange(t, 3, "POST", "http://a/api/orders", `{"item":1}`, 201, "one"),
		exchange(t, 4, "POST", "http://a/api/orders", `{"item":2}`, 201, "two"),
		trunc, gz, wire, moved,
	}
	var misses []string
	h := New(Config{MatchBody: true, IgnoreParams: []string{"_"}, OnMiss: func(r *http.Request, c *bodytap.Exchange) {
		misses = append(misses, r.URL.Path+" -> "+c.Request.URL.Path)
	}}, xs)

	tests := []struct {
		name, method, target, body string
		status                     int
		want                       string // the body, or a part of it for errors
		wantEncoding               string
	}{
		{"earliest first", "GET", "/api/list?sort=name&page=2&_=9", "", 200, "first", ""},
		{"then the next", "GET", "/api/list?page=2&sort=name", "", 200, "second", ""},
		{"then the last again", "GET", "/api/list?page=2&sort=name", "", 200, "second", ""},
		{"body", "POST", "/api/orders", `{"item":2}`, 201, "two", ""},
		{"other body", "POST", "/api/orders", `{"item":1}`, 201, "one", ""},
		{"unknown body", "POST", "/api/orders", `{"item":3}`, 404, "closest recorded request: POST /api/orders", ""},
		{"other query", "GET", "/api/list?page=3&sort=name", "", 404, "closest recorded request: GET /api/list?", ""},
		{"closest by segments", "GET", "/api/lists/7", "", 404, "closest recorded request: GET /api/list?", ""},
		{"truncated", "GET", "/big", "", 502, "truncated at capture (2 of 10 bytes kept)", ""},
		{"decoded", "GET", "/gz", "", 200, "plain", ""},
		{"as on the wire", "GET", "/wire", "", 200, "\x1f\x8b...", "gzip"},
		{"redirect, body left out", "GET", "/old", "", 302, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body)))
			got, _ := io.ReadAll(rec.Result().Body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, got)
			}
			if tt.status < 400 {
				if string(got) != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			} else if !strings.Contains(string(got), tt.want) {
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
			if loc := rec.Header().Get("Location"); tt.status == 302 && loc != "/new" {
				t.Errorf("Location %q, want /new", loc)
			}
			if enc := rec.Header().Get("Content-Encoding"); enc != tt.wantEncoding {
				t.Errorf("Content-Encoding %q, want %q", enc, tt.wantEncoding)
			}
		})
	}
	if want := "/api/orders -> /api/orders"; len(misses) != 3 || misses[0] != want {
		t.Errorf("misses %q, want 3 starting with %q", misses, want)
	}
}

func TestTiming(t *testing.T) {
	x := exchange(t, 1, "GET", "http://a/events", "", 200, "data: 1\n\ndata: 2\n\n")
	x.Response.Chunks = []bodytap.Chunk{{Offset: 10, At: 10 * time.Millisecond}, {Offset: 20, At: 150 * time.Millisecond}}
	x.Duration = 150 * time.Millisecond
	srv := httptest.NewServer(New(Config{Timing: true}, []*bodytap.Exchange{x}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	first := time.Now()
	rest, _ := io.ReadAll(resp.Body)
	if gap := time.Since(first); gap < 100*time.Millisecond {
		t.Errorf("second event %v after the first, want at least 100ms", gap)
	}
	if got := string(buf) + string(rest); got != "data: 1\n\ndata: 2\n\n" {
		t.Errorf("got %q", got)
	}
}
