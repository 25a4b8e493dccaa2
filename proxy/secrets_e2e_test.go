package proxy_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/decode"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/internal/secrettest"
	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/proxy"
	"github.com/bodytap/bodytap/store"
)

// TestSecretCorpusProxy sends a seeded corpus of 330 secrets of every kind
// the value detectors know, in every position and content coding, through
// the capturing proxy to a real upstream, with JSON Lines, HAR, slog and
// the store recording, and checks that not one is kept by any.
func TestSecretCorpusProxy(t *testing.T) {
	const n = 330
	corpus := secrettest.Generate(1919, n)
	upstream := httptest.NewServer(http.HandlerFunc(secrettest.Echo))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	var jb, hb, sb bytes.Buffer
	hw := har.NewWriter(&hb)
	st, err := store.Open(filepath.Join(t.TempDir(), "p.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := proxy.New(proxy.Config{Upstream: u, Tap: bodytap.Config{
		Sink:   bodytap.Multi(jsonl.NewWriter(&jb), hw, bodytap.NewSlogSink(slog.New(slog.NewJSONHandler(&sb, nil)), bodytap.SlogOptions{MaxBodyBytes: 1 << 20, Headers: true}), st),
		Decode: decode.Func,
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	for i, s := range corpus {
		secrettest.Send(t, srv.Client(), srv.URL, s, i)
	}
	p.Close()
	hw.Close()
	var stored bytes.Buffer
	sums, err := st.List(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range sums {
		x, err := st.Get(context.Background(), sum.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := jsonl.Marshal(x)
		stored.Write(b)
	}
	if len(sums) != n {
		t.Errorf("store holds %d exchanges, want %d", len(sums), n)
	}
	for name, out := range map[string][]byte{"JSON Lines": jb.Bytes(), "HAR": hb.Bytes(), "slog": sb.Bytes(), "store": stored.Bytes()} {
		if l := secrettest.Leaks(corpus, out); len(l) > 0 {
			t.Errorf("%s: %d of %d secrets kept:\n%s", name, len(l), n, strings.Join(l, "\n"))
		}
	}
}
