// Package leaktest holds what the secret-corpus end-to-end tests of the
// middleware and the proxy share: every sink recording at once (JSON
// Lines, HAR, slog and the store), and the check that none of them kept a
// secret of the corpus.
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
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/internal/secrettest"
	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/store"
)

// Sinks records exchanges with the JSON Lines, HAR, slog and store sinks
// at once.
type Sinks struct {
	Sink bodytap.Sink // all of them, for a Tap's Config

	jsonl, har, slog bytes.Buffer
	hw               *har.Writer
	st               *store.Store
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
	s.Sink = bodytap.Multi(jsonl.NewWriter(&s.jsonl), s.hw, slogSink, st)
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
	ctx := context.Background()
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
	for name, out := range map[string][]byte{"JSON Lines": s.jsonl.Bytes(), "HAR": s.har.Bytes(), "slog": s.slog.Bytes(), "store": stored.Bytes()} {
		if l := secrettest.Leaks(corpus, out); len(l) > 0 {
			tb.Errorf("%s: %d of %d secrets kept:\n%s", name, len(l), len(corpus), strings.Join(l, "\n"))
		}
	}
}
