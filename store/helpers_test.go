package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// testLogger sends what the store logs (warnings and errors) to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func openTest(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	return openAt(t, path, opts), path
}

func openAt(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func flush(t testing.TB, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

var base = time.Date(2024, 2, 20, 10, 0, 0, 0, time.UTC)

// gen makes varied exchanges, deterministically.
type gen struct {
	r   *rand.Rand
	t   time.Time
	seq int
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed)), t: base}
}

var (
	methods = []string{"GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH"}
	hosts   = []string{"example.com", "api.example.com", "localhost:8080", "[::1]:9000", "shop.test"}
	paths   = []string{"/", "/api/users", "/api/users/7", "/api/users/7/orders", "/api/items", "/static/app.js", "/static/style.css", "/health", "/img/logo.png", "/search"}
	routes  = []string{"", "GET /api/users", "GET /api/users/{id}", "POST /api/items", "GET /health"}
	words   = []string{"alpha", "beta", "gamma", "delta", "needle", "Haystack", "user_id", "price", "quantité", "日本語"}
)

// next returns a new exchange; its time advances by a few milliseconds
// each call.
func (g *gen) next() *bodytap.Exchange {
	r := g.r
	g.seq++
	g.t = g.t.Add(time.Duration(1+r.IntN(5)) * time.Millisecond)
	host := hosts[r.IntN(len(hosts))]
	path := paths[r.IntN(len(paths))]
	scheme := "http"
	if r.IntN(3) == 0 {
		scheme = "https"
	}
	u := mustURL(fmt.Sprintf("%s://%s%s", scheme, host, path))
	if r.IntN(4) == 0 {
		u.RawQuery = fmt.Sprintf("q=%s&page=%d", words[r.IntN(len(words))], r.IntN(9))
	}
	statuses := []int{200, 200, 200, 201, 204, 301, 304, 400, 401, 404, 500, 502, 503, 0}
	x := &bodytap.Exchange{
		ID:            bodytap.NewID(g.t),
		Start:         g.t,
		Duration:      time.Duration(r.IntN(2000)) * time.Millisecond / 4,
		TimeToHeaders: time.Duration(r.IntN(100)) * time.Millisecond,
		Route:         routes[r.IntN(len(routes))],
		Request: bodytap.Request{
			Method:        methods[r.IntN(len(methods))],
			URL:           u,
			Proto:         "HTTP/1.1",
			Host:          host,
			RemoteAddr:    fmt.Sprintf("192.0.2.%d:%d", r.IntN(255), 1024+r.IntN(60000)),
			Header:        http.Header{"User-Agent": {"test/1.0"}, "Accept": {"*/*"}},
			ContentLength: -1,
		},
		Response: response(r, statuses[r.IntN(len(statuses))]),
	}
	if x.Request.Method == "POST" || x.Request.Method == "PUT" {
		b := g.text(r.IntN(300))
		x.Request.Header.Set("Content-Type", "application/json")
		x.Request.Body = bodytap.Body{Bytes: []byte(b), Size: int64(len(b)), EOF: true}
		x.Request.ContentLength = int64(len(b))
	}
	if r.IntN(10) == 0 {
		x.Request.Header.Set("Authorization", "Bearer secret")
	}
	if r.IntN(15) == 0 {
		x.Err = bodytap.ErrClientGone
	}
	if r.IntN(40) == 0 {
		x.Hijacked = true
		x.Request.Header.Set("Upgrade", "websocket")
		x.Response = bodytap.Response{}
		x.Err = bodytap.ErrHijacked
	}
	return x
}

func response(r *rand.Rand, status int) bodytap.Response {
	if status == 0 {
		return bodytap.Response{}
	}
	resp := bodytap.Response{Status: status, Header: http.Header{}}
	switch r.IntN(6) {
	case 0:
		resp.Header.Set("Content-Type", "text/css")
		resp.Body = textBody("body { color: red } /* needle */")
		resp.Chunks = []bodytap.Chunk{{Offset: 5, At: time.Millisecond}, {Offset: 20, At: 3 * time.Millisecond}}
		resp.ChunksOmitted = 1
	case 1:
		resp.Header.Set("Content-Type", "image/png")
		p := []byte("\x89PNG\r\n\x1a\n\x00\x00needle\xff\xfe")
		resp.Body = bodytap.Body{Bytes: p, Size: 4096, Truncated: true}
	case 2:
		resp.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp.Body = textBody(fmt.Sprintf(`{"id": %d, "name": "%s"}`, r.IntN(1000), words[r.IntN(len(words))]))
	case 3:
		resp.Header.Set("Content-Type", "text/html")
		resp.Body = textBody("<html><body>" + words[r.IntN(len(words))] + " Haystack</body></html>")
	case 4:
		resp.Header["content-type"] = []string{"text/plain"} // odd spelling
		resp.Body = textBody("plain " + words[r.IntN(len(words))])
	default:
	}
	if r.IntN(20) == 0 {
		resp.Body.Withheld = true
		resp.Body.Bytes = nil
		resp.Body.Err = errors.New("bodytap: withheld: cannot decode")
	}
	return resp
}

func textBody(s string) bodytap.Body {
	return bodytap.Body{Bytes: []byte(s), Size: int64(len(s)), EOF: true}
}

func (g *gen) text(n int) string {
	var b strings.Builder
	b.WriteString(`{"items": [`)
	for b.Len() < n {
		fmt.Fprintf(&b, `"%s", `, words[g.r.IntN(len(words))])
	}
	b.WriteString(`"end"]}`)
	return b.String()
}

// flat is an Exchange in a form reflect.DeepEqual compares as Get
// promises: times as instants, errors and URLs as text.
type flat struct {
	ID                       bodytap.ID
	Start                    string
	Duration, TimeToHeaders  time.Duration
	Route                    string
	Method, URL, Proto, Host string
	RemoteAddr               string
	ReqHeader                http.Header
	ContentLength            int64
	ReqBody                  flatBody
	Status                   int
	RespHeader, Trailer      http.Header
	Informational            []bodytap.Informational
	RespBody                 flatBody
	Chunks                   []bodytap.Chunk
	ChunksOmitted            int
	Hijacked                 bool
	Err                      string
	ErrIsClientGone          bool
}

type flatBody struct {
	Bytes              []byte
	Size               int64
	Truncated, EOF     bool
	Decoded            string
	Redacted, Withheld bool
	Err                string
}

func flatten(x *bodytap.Exchange) flat {
	f := flat{
		ID:              x.ID,
		Start:           x.Start.UTC().Format(time.RFC3339Nano),
		Duration:        x.Duration,
		TimeToHeaders:   x.TimeToHeaders,
		Route:           x.Route,
		Method:          x.Request.Method,
		Proto:           x.Request.Proto,
		Host:            x.Request.Host,
		RemoteAddr:      x.Request.RemoteAddr,
		ReqHeader:       x.Request.Header,
		ContentLength:   x.Request.ContentLength,
		ReqBody:         flattenBody(&x.Request.Body),
		Status:          x.Response.Status,
		RespHeader:      x.Response.Header,
		Trailer:         x.Response.Trailer,
		Informational:   x.Response.Informational,
		RespBody:        flattenBody(&x.Response.Body),
		Chunks:          x.Response.Chunks,
		ChunksOmitted:   x.Response.ChunksOmitted,
		Hijacked:        x.Hijacked,
		ErrIsClientGone: errors.Is(x.Err, bodytap.ErrClientGone),
	}
	if x.Request.URL != nil {
		f.URL = x.Request.URL.String()
	}
	if x.Err != nil {
		f.Err = x.Err.Error()
	}
	return f
}

func flattenBody(b *bodytap.Body) flatBody {
	f := flatBody{Bytes: b.Bytes, Size: b.Size, Truncated: b.Truncated, EOF: b.EOF,
		Decoded: b.Decoded, Redacted: b.Redacted, Withheld: b.Withheld}
	if b.Err != nil {
		f.Err = b.Err.Error()
	}
	return f
}

// sameExchange fails t unless got is want as Get returns it.
func sameExchange(t testing.TB, want, got *bodytap.Exchange) {
	t.Helper()
	fw, fg := flatten(want), flatten(got)
	if !reflect.DeepEqual(fw, fg) {
		t.Errorf("exchange %s changed in the store:\nwant %+v\n got %+v", want.ID, fw, fg)
		return
	}
	// DeepEqual does not tell nil from empty: check that too.
	pairs := []struct {
		name string
		w, g bool
	}{
		{"Request.Header", want.Request.Header == nil, got.Request.Header == nil},
		{"Response.Header", want.Response.Header == nil, got.Response.Header == nil},
		{"Response.Trailer", want.Response.Trailer == nil, got.Response.Trailer == nil},
		{"Response.Informational", want.Response.Informational == nil, got.Response.Informational == nil},
		{"Request.Body.Bytes", want.Request.Body.Bytes == nil, got.Request.Body.Bytes == nil},
		{"Response.Body.Bytes", want.Response.Body.Bytes == nil, got.Response.Body.Bytes == nil},
	}
	for i := range want.Response.Informational {
		pairs = append(pairs, struct {
			name string
			w, g bool
		}{fmt.Sprintf("Informational[%d].Header", i), want.Response.Informational[i].Header == nil, got.Response.Informational[i].Header == nil})
	}
	for _, p := range pairs {
		if p.w != p.g {
			t.Errorf("exchange %s: %s nil = %v, want %v", want.ID, p.name, p.g, p.w)
		}
	}
	if !want.Start.Equal(got.Start) {
		t.Errorf("Start = %v, want %v", got.Start, want.Start)
	}
	if !bytes.Equal(want.Request.Body.Bytes, got.Request.Body.Bytes) || !bytes.Equal(want.Response.Body.Bytes, got.Response.Body.Bytes) {
		t.Errorf("bodies differ")
	}
}
