package browsertest

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/web"
)

// testEnv is a viewer on a real store, served by a real HTTP server: the
// part of package web's test environment that the browser tests use.
type testEnv struct {
	t     testing.TB
	store *store.Store
	srv   *httptest.Server

	mu    sync.Mutex
	pwned []string // requests that reached /pwned: a payload ran
}

// newEnv starts a viewer with cfg on a new store in a temporary directory.
func newEnv(t testing.TB, cfg web.Config) *testEnv {
	t.Helper()
	e := &testEnv{t: t}
	st, err := store.Open(filepath.Join(t.TempDir(), "bodytap.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	cfg.Store = st
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	viewer, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/pwned", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.pwned = append(e.pwned, r.URL.String())
		e.mu.Unlock()
	})
	mux.Handle("/", viewer)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		viewer.Close()
		e.srv.Close()
	})
	return e
}

// record stores exchanges and waits until they are committed.
func (e *testEnv) record(xs ...ex) {
	e.t.Helper()
	for _, x := range xs {
		e.store.Record(x.Exchange)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.store.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// recordAsync stores an exchange as a capture does.
func (e *testEnv) recordAsync(x ex) {
	e.store.Record(x.Exchange)
}

// pwnedRequests returns the requests that reached /pwned.
func (e *testEnv) pwnedRequests() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.pwned...)
}

// get fetches a path of the viewer.
func (e *testEnv) get(path string, header ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(b)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// testPNG returns a small PNG image.
func testPNG(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{200, 30, 30, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testWriter sends log output to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// idSeq makes test IDs unique.
var idSeq atomic.Uint64

// testID returns a new ID for an exchange that started at t.
func testID(t time.Time) bodytap.ID {
	var id bodytap.ID
	binary.BigEndian.PutUint64(id[0:8], uint64(t.UnixMilli())<<16|0xbeef)
	binary.BigEndian.PutUint64(id[8:16], idSeq.Add(1))
	return id
}

// ex is a test exchange under construction.
type ex struct{ *bodytap.Exchange }

// newEx returns a completed exchange with an empty JSON response.
func newEx(t testing.TB, method, rawURL string, status int) ex {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	x := &bodytap.Exchange{
		ID:            testID(start),
		Start:         start,
		Duration:      12*time.Millisecond + 345*time.Microsecond,
		TimeToHeaders: 3 * time.Millisecond,
		Request: bodytap.Request{
			Method:        method,
			URL:           u,
			Proto:         "HTTP/1.1",
			Host:          u.Host,
			RemoteAddr:    "192.0.2.10:53412",
			Header:        http.Header{"User-Agent": {"test/1.0"}, "Accept": {"*/*"}},
			ContentLength: 0,
			Body:          bodytap.Body{EOF: true},
		},
		Response: bodytap.Response{
			Status: status,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   bodytap.Body{EOF: true},
		},
	}
	return ex{x}
}

func (e ex) at(t time.Time) ex {
	e.Start = t
	e.ID = testID(t)
	return e
}

func (e ex) reqBody(ct string, b []byte) ex {
	e.Request.Header.Set("Content-Type", ct)
	e.Request.Body = bodytap.Body{Bytes: b, Size: int64(len(b)), EOF: true}
	e.Request.ContentLength = int64(len(b))
	return e
}

func (e ex) respBody(ct string, b []byte) ex {
	e.Response.Header.Set("Content-Type", ct)
	e.Response.Body = bodytap.Body{Bytes: b, Size: int64(len(b)), EOF: true}
	return e
}

func (e ex) respHeader(k, v string) ex {
	e.Response.Header.Add(k, v)
	return e
}

func (e ex) reqHeader(k, v string) ex {
	e.Request.Header.Add(k, v)
	return e
}

// lazyLimit mirrors package web's: the largest decoded body the detail
// page shows inline; larger ones load on demand.
const lazyLimit = 256 << 10
