package har

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchangetest"
	"github.com/bodytap/bodytap/internal/testutil"
)

// TestTap records real exchanges through a bodytap Tap into a HAR file,
// checks the file against the schema, and imports it back.
func TestTap(t *testing.T) {
	random := testutil.RandomBytes(3000, 7)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"got":%q}`, b)
	})
	mux.HandleFunc("GET /gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write([]byte(strings.Repeat("hello gzip ", 50)))
		zw.Close()
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("GET /hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<p>hinted</p>"))
	})
	mux.HandleFunc("GET /trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		w.Write([]byte("body"))
		w.Header().Set("X-Sum", "42")
		w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
	})
	mux.HandleFunc("GET /binary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(random)
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("€", 1000))) // cut by the cap inside a character
	})
	mux.HandleFunc("GET /latin1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=iso-8859-1")
		w.Write([]byte("caf\xe9"))
	})
	mux.HandleFunc("PUT /unread", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /abort", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		brw.Flush()
		conn.Close()
	})
	mux.HandleFunc("GET /redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere?x=1", http.StatusFound)
	})

	p := filepath.Join(t.TempDir(), "tap.har")
	hw, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[bodytap.ID]*bodytap.Exchange{}
	tap := bodytap.New(bodytap.Config{
		MaxBodyBytes: 1024,
		Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
			hw.Record(x)
			mu.Lock()
			got[x.ID] = x
			mu.Unlock()
		}),
	})
	// srv.Close does not wait for hijacked connections' handlers: wait for
	// every handler before closing the tap, or one may still be running.
	var handlers sync.WaitGroup
	tapped := tap.Handler(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		tapped.ServeHTTP(w, r)
	}))
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	requests := []struct {
		method, path string
		body         io.Reader
	}{
		{"POST", "/echo?x=1&y=%C3%A9", strings.NewReader(`{"hi":"there"}`)},
		{"POST", "/echo", io.MultiReader(strings.NewReader("chunked "), strings.NewReader("body"))},
		{"POST", "/echo", strings.NewReader("\xff\x00binary\xfe")},
		{"GET", "/gzip", nil},
		{"GET", "/stream", nil},
		{"GET", "/hints", nil},
		{"GET", "/trailers", nil},
		{"GET", "/binary", nil},
		{"GET", "/big", nil},
		{"GET", "/latin1", nil},
		{"PUT", "/unread", strings.NewReader(strings.Repeat("u", 5000))},
		{"GET", "/abort", nil},
		{"GET", "/hijack", nil},
		{"GET", "/redirect", nil},
		{"GET", "/missing", nil},
	}
	for _, rq := range requests {
		req, err := http.NewRequest(rq.method, srv.URL+rq.path, rq.body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", "a=1; b=2")
		resp, err := c.Do(req)
		if err != nil {
			continue // /abort
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	srv.Close()
	handlers.Wait()
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if err := hw.Close(); err != nil {
		t.Fatal(err)
	}
	if s := tap.Stats(); s.Dropped != 0 || s.SinkPanics != 0 {
		t.Fatalf("stats: %+v", s)
	}

	l := readFile(t, p)
	if len(l.Entries) != len(requests) || len(got) != len(requests) {
		t.Fatalf("got %d entries and %d exchanges, want %d", len(l.Entries), len(got), len(requests))
	}
	byPath := map[string]Entry{}
	for _, e := range l.Entries {
		x, err := ToExchange(e)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := got[x.ID]
		if !ok {
			t.Fatalf("entry %s: no such exchange", e.ID)
		}
		exchangetest.Same(t, x, want)
		byPath[x.Request.Method+" "+x.Request.URL.Path] = e
	}

	if e := byPath["GET /hints"]; len(e.Response.Informational) != 1 || e.Response.Informational[0].Status != 103 {
		t.Errorf("hints: _informational %+v", e.Response.Informational)
	}
	if e := byPath["GET /trailers"]; len(e.Response.Trailers) != 2 {
		t.Errorf("trailers: _trailers %+v", e.Response.Trailers)
	}
	if e := byPath["GET /abort"]; e.Error != bodytap.ErrAborted.Error() || !e.Response.Incomplete {
		t.Errorf("abort: _error %q, _incomplete %v", e.Error, e.Response.Incomplete)
	}
	if e := byPath["GET /hijack"]; !e.Hijacked || e.Response.Status != 0 {
		t.Errorf("hijack: _hijacked %v, status %d", e.Hijacked, e.Response.Status)
	}
	if e := byPath["PUT /unread"]; !e.Request.Incomplete || e.Request.BodySize != 0 {
		t.Errorf("unread: _incomplete %v, bodySize %d", e.Request.Incomplete, e.Request.BodySize)
	}
	if e := byPath["GET /big"]; !e.Response.Content.Truncated || e.Response.BodySize != 3000 || e.Response.Content.Raw == nil {
		t.Errorf("big: content %+v", e.Response.Content)
	}
	// Decoded by the Tap (to redact it) or by FromExchange.
	if c := byPath["GET /gzip"].Response.Content; c.Text != strings.Repeat("hello gzip ", 50) || (c.Raw == nil) == (c.Decoded == "") || c.Compression <= 0 {
		t.Errorf("gzip: content %+v", c)
	}
	if c := byPath["GET /latin1"].Response.Content; c.Text != "café" || string(c.Raw) != "caf\xe9" {
		t.Errorf("latin1: text %q, _raw %q", c.Text, c.Raw)
	}
	if c := byPath["GET /binary"].Response.Content; c.Encoding != "base64" || c.Raw != nil || !c.Truncated {
		t.Errorf("binary: encoding %q, _raw %d bytes, _truncated %v", c.Encoding, len(c.Raw), c.Truncated)
	}
	if e := byPath["GET /redirect"]; e.Response.RedirectURL != "/elsewhere?x=1" {
		t.Errorf("redirect: redirectURL %q", e.Response.RedirectURL)
	}
	if e := byPath["POST /echo"]; len(e.Request.Cookies) != 2 || e.Request.PostData == nil {
		t.Errorf("echo: cookies %v, postData %v", e.Request.Cookies, e.Request.PostData)
	}
	validate(t, p)
}

// TestTapSpilled: a body that went on past the memory cap into a spill
// file is written as its in-memory part, marked truncated, and the spill
// file is released once written.
func TestTapSpilled(t *testing.T) {
	spill := t.TempDir()
	var buf strings.Builder
	w := NewWriter(&buf)
	var spilled int64
	tap := bodytap.New(bodytap.Config{MaxBodyBytes: 100, SpillDir: spill, Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
		spilled = x.Response.Body.Spilled()
		w.Record(x)
	})})
	srv := httptest.NewServer(tap.Handler(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		rw.Write([]byte(strings.Repeat("x", 5000)))
	})))
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	srv.Close()
	tap.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := Read(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if spilled != 4900 {
		t.Errorf("spilled %d bytes, want 4900", spilled)
	}
	c := l.Entries[0].Response.Content
	if len(c.Text) != 100 || !c.Truncated || c.Size != 5000 {
		t.Errorf("content: %d bytes of text, _truncated %v, size %d", len(c.Text), c.Truncated, c.Size)
	}
	if files, _ := os.ReadDir(spill); len(files) != 0 {
		t.Errorf("spill files left: %v", files)
	}
}
