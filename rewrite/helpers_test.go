package rewrite

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Copied from the tests of package bodytap.

// newServer starts a server for h on loopback, over HTTP/2 with TLS if h2
// is set, and returns it with a client for it.
func newServer(t testing.TB, h http.Handler, h2 bool) (*httptest.Server, *http.Client) {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	if h2 {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	c := s.Client()
	if !h2 {
		c = &http.Client{Transport: &http.Transport{}}
		t.Cleanup(c.CloseIdleConnections)
	}
	return s, c
}

var protos = []struct {
	name string
	h2   bool
}{{"HTTP/1.1", false}, {"HTTP/2", true}}

// discardWriter is a ResponseWriter with no optional interface that
// discards what is written.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
