package testutil

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
)

// NewServer starts a real server for h on loopback, over HTTP/1.1 or, with
// h2, over HTTP/2 with TLS, and returns it with a client for it. Both are
// closed when the test ends; the server's error log is discarded.
func NewServer(tb testing.TB, h http.Handler, h2 bool) (*httptest.Server, *http.Client) {
	tb.Helper()
	s := StartServer(tb, h, h2)
	c := s.Client()
	if !h2 {
		c = &http.Client{Transport: &http.Transport{}}
		tb.Cleanup(c.CloseIdleConnections)
	}
	return s, c
}

// StartServer starts a real server for h as NewServer does, without a
// client of its own.
func StartServer(tb testing.TB, h http.Handler, h2 bool) *httptest.Server {
	tb.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	if h2 {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Start()
	}
	tb.Cleanup(s.Close)
	return s
}

// Protos are the protocols a test runs over: name it subtests by, and
// whether it is HTTP/2 (as NewServer's h2).
var Protos = []struct {
	Name string
	H2   bool
}{{"HTTP/1.1", false}, {"HTTP/2", true}}

// DiscardWriter is a ResponseWriter with no optional interface that
// discards what is written: the cheapest there is, so that in-process
// benchmarks measure the middleware and not a recorder. H must be set.
type DiscardWriter struct{ H http.Header }

func (d *DiscardWriter) Header() http.Header         { return d.H }
func (d *DiscardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *DiscardWriter) WriteHeader(int)             {}
