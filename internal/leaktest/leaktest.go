// Package leaktest holds what the secret-corpus end-to-end tests of the
// middleware and the proxy share: every sink recording at once (JSON
// Lines, HAR, slog, the store and OTLP export), and the check that none of
// them kept a secret of the corpus.
//
// It is apart from internal/secrettest because it imports the root
// package and the sinks, which internal/redact's tests, users of
// secrettest, cannot reach.
//
// Only tests import it.
package leaktest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/internal/secrettest"
	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/otlp"
	"github.com/bodytap/bodytap/store"
)

// Sinks records exchanges with the JSON Lines, HAR, slog, store and OTLP
// sinks at once. The OTLP sink exports over real HTTP to an in-process
// receiver, which keeps both the raw export requests and the exchanges it
// decoded from them.
type Sinks struct {
	Sink bodytap.Sink // all of them, for a Tap's Config

	jsonl, har, slog bytes.Buffer
	hw               *har.Writer
	st               *store.Store
	otlp             *otlp.Sink

	mu       sync.Mutex
	exported bytes.Buffer        // the OTLP requests' bodies as sent
	received []*bodytap.Exchange // what the receiver decoded from them
}

func (s *Sinks) Record(x *bodytap.Exchange) { s.RecordBatch([]*bodytap.Exchange{x}) }

func (s *Sinks) RecordBatch(xs []*bodytap.Exchange) {
	s.mu.Lock()
	s.received = append(s.received, xs...)
	s.mu.Unlock()
}

// NewSinks returns Sinks whose store lives in a temporary directory of tb,
// closed when tb ends.
func NewSinks(tb testing.TB) *Sinks {
	tb.Helper()
	s := &Sinks{}
	s.hw = har.NewWriter(&s.har)
	st, err := store.Open(filepath.Join(tb.TempDir(), "leaks.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	s.st = st
	slogSink := bodytap.NewSlogSink(slog.New(slog.NewJSONHandler(&s.slog, nil)), bodytap.SlogOptions{MaxBodyBytes: 1 << 20, Headers: true})

	recv := &otlp.Receiver{Sink: s}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.exported.Write(b)
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		recv.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	o, err := otlp.New(context.Background(), otlp.Config{URL: srv.URL})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { o.Close() })
	s.otlp = o
	s.Sink = bodytap.Multi(jsonl.NewWriter(&s.jsonl), s.hw, slogSink, st, o)
	return s
}

// SendAll sends every secret of corpus to base through c, as
// [secrettest.Send] does.
func SendAll(tb testing.TB, c *http.Client, base string, corpus []secrettest.Secret) {
	tb.Helper()
	for i, s := range corpus {
		secrettest.Send(tb, c, base, s, i)
	}
}

// Check fails tb unless the store holds one exchange for each secret of
// corpus and no sink kept any of them. The Tap must be closed first, so
// that every exchange has been delivered.
func (s *Sinks) Check(tb testing.TB, corpus []secrettest.Secret) {
	tb.Helper()
	if err := s.hw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := s.otlp.Close(); err != nil { // exports what is queued
		tb.Fatal(err)
	}
	if st := s.otlp.Stats(); st.Dropped != 0 || st.Failed != 0 {
		tb.Errorf("OTLP export dropped %d, failed %d", st.Dropped, st.Failed)
	}
	var received bytes.Buffer
	for _, x := range s.received {
		b, err := jsonl.Marshal(x)
		if err != nil {
			tb.Fatal(err)
		}
		received.Write(b)
	}
	if len(s.received) != len(corpus) {
		tb.Errorf("OTLP export delivered %d exchanges, want %d", len(s.received), len(corpus))
	}
	ctx := context.Background()
	if err := s.st.Flush(ctx); err != nil { // the rows behind the store's log
		tb.Fatal(err)
	}
	var stored bytes.Buffer
	sums, err := s.st.List(ctx, store.Query{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, sum := range sums {
		x, err := s.st.Get(ctx, sum.ID)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := jsonl.Marshal(x)
		if err != nil {
			tb.Fatal(err)
		}
		stored.Write(b)
	}
	if len(sums) != len(corpus) {
		tb.Errorf("store holds %d exchanges, want %d", len(sums), len(corpus))
	}
	for name, out := range map[string][]byte{
		"JSON Lines": s.jsonl.Bytes(), "HAR": s.har.Bytes(), "slog": s.slog.Bytes(), "store": stored.Bytes(),
		"OTLP export requests": s.exported.Bytes(), "OTLP export, decoded": received.Bytes(),
	} {
		if l := secrettest.Leaks(corpus, out); len(l) > 0 {
			tb.Errorf("%s: %d of %d secrets kept:\n%s", name, len(l), len(corpus), strings.Join(l, "\n"))
		}
	}
}
