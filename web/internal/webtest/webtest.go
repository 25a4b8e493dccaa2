// Package webtest is the test environment that the viewer's own tests and
// the browser tests (the nested module web/browsertest) share: a real store
// in a temporary directory served by a real HTTP server, and test
// exchanges built field by field.
//
// It does not import package web, whose internal tests import it; each
// caller builds its viewer on [Env.Store] and hands it to [Env.Serve].
//
// Only tests import it.
package webtest

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
)

// LazyLimit is package web's limit on the decoded body the detail page
// shows inline; larger ones load on demand. Package web's tests check
// that the two agree.
const LazyLimit = 256 << 10

// Env is a store and a real HTTP server for a viewer on it.
type Env struct {
	T     testing.TB
	Store stores.Store
	Srv   *httptest.Server // set by Serve
}

// Open opens a local store with opts in a temporary directory, closed
// when the test ends.
func Open(tb testing.TB, opts store.Options) *Env {
	tb.Helper()
	return OpenDSN(tb, filepath.Join(tb.TempDir(), "bodytap.db"), opts)
}

// OpenDSN opens the store that dsn names (see stores.Open) with opts,
// closed when the test ends.
func OpenDSN(tb testing.TB, dsn string, opts store.Options) *Env {
	tb.Helper()
	st, err := stores.Open(context.Background(), dsn, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return &Env{T: tb, Store: st}
}

// Serve starts a server for h. When the test ends, closeFirst (a viewer's
// Close, which ends its event streams) runs before the server closes,
// which waits for open requests.
func (e *Env) Serve(h http.Handler, closeFirst func() error) {
	e.Srv = httptest.NewServer(h)
	e.T.Cleanup(func() {
		closeFirst()
		e.Srv.Close()
	})
}

// Logger returns a logger that writes to the test log.
func Logger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{tb}, nil))
}

// testWriter sends log output to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// Record stores exchanges and waits until they are committed.
func (e *Env) Record(xs ...Ex) {
	e.T.Helper()
	for _, x := range xs {
		e.Store.Record(x.Exchange)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Store.Flush(ctx); err != nil {
		e.T.Fatal(err)
	}
}

// RecordAsync stores an exchange without waiting, as a capture does.
func (e *Env) RecordAsync(x Ex) {
	e.Store.Record(x.Exchange)
}

// Get fetches a path of the server, with header given as name, value
// pairs ("Host" sets the request's host), and returns the response and
// its body. It does not follow redirects.
func (e *Env) Get(path string, header ...string) (*http.Response, string) {
	e.T.Helper()
	req, err := http.NewRequest("GET", e.Srv.URL+path, nil)
	if err != nil {
		e.T.Fatal(err)
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
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return resp, string(b)
}

// idSeq makes test IDs unique.
var idSeq atomic.Uint64

// ID returns a new ID for an exchange that started at t.
func ID(t time.Time) bodytap.ID {
	var id bodytap.ID
	binary.BigEndian.PutUint64(id[0:8], uint64(t.UnixMilli())<<16|0xbeef)
	binary.BigEndian.PutUint64(id[8:16], idSeq.Add(1))
	return id
}

// Ex is a test exchange under construction: its methods change it and
// return it, to be chained.
type Ex struct{ *bodytap.Exchange }

// NewEx returns a completed exchange with an empty JSON response.
func NewEx(tb testing.TB, method, rawURL string, status int) Ex {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	x := &bodytap.Exchange{
		ID:            ID(start),
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
	return Ex{x}
}

// At moves the exchange's start to t, with a new ID.
func (e Ex) At(t time.Time) Ex {
	e.Start = t
	e.ID = ID(t)
	return e
}

// ReqBody sets the request body, whole, and its Content-Type.
func (e Ex) ReqBody(ct string, b []byte) Ex {
	e.Request.Header.Set("Content-Type", ct)
	e.Request.Body = bodytap.Body{Bytes: b, Size: int64(len(b)), EOF: true}
	e.Request.ContentLength = int64(len(b))
	return e
}

// RespBody sets the response body, whole, and its Content-Type.
func (e Ex) RespBody(ct string, b []byte) Ex {
	e.Response.Header.Set("Content-Type", ct)
	e.Response.Body = bodytap.Body{Bytes: b, Size: int64(len(b)), EOF: true}
	return e
}

// RespHeader adds a response header field.
func (e Ex) RespHeader(k, v string) Ex {
	e.Response.Header.Add(k, v)
	return e
}

// ReqHeader adds a request header field.
func (e Ex) ReqHeader(k, v string) Ex {
	e.Request.Header.Add(k, v)
	return e
}

// PNG returns a small PNG image.
func PNG(tb testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{200, 30, 30, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
