package proxy_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/decode"
	"github.com/bodytap/bodytap/internal/leaktest"
	"github.com/bodytap/bodytap/internal/secrettest"
	"github.com/bodytap/bodytap/proxy"
)

// TestSecretCorpusProxy sends a seeded corpus of 330 secrets of every kind
// the value detectors know, in every position and content coding, through
// the capturing proxy to a real upstream, with JSON Lines, HAR, slog and
// the store recording, and checks that not one is kept by any.
func TestSecretCorpusProxy(t *testing.T) {
	corpus := secrettest.Generate(1919, 330)
	upstream := httptest.NewServer(http.HandlerFunc(secrettest.Echo))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	sinks := leaktest.NewSinks(t)
	p, err := proxy.New(proxy.Config{Upstream: u, Tap: bodytap.Config{Sink: sinks.Sink, Decode: decode.Func}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	leaktest.SendAll(t, srv.Client(), srv.URL, corpus)
	p.Close()
	sinks.Check(t, corpus)
}
