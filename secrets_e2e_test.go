package bodytap_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/decode"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/internal/secrettest"
	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/store"
)

// secretCorpusSize is how many secrets go through each end-to-end test.
const secretCorpusSize = 330

// TestSecretCorpusMiddleware sends a seeded corpus of secrets of every
// kind the detectors know, in every position and content coding, through
// the middleware to the JSON Lines, HAR, slog and store sinks at once,
// and checks that not one of them is kept by any.
func TestSecretCorpusMiddleware(t *testing.T) {
	corpus := secrettest.Generate(19, secretCorpusSize)
	var jb, hb, sb bytes.Buffer
	hw := har.NewWriter(&hb)
	st, err := store.Open(filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tap := bodytap.New(bodytap.Config{
		Sink:      bodytap.Multi(jsonl.NewWriter(&jb), hw, bodytap.NewSlogSink(slog.New(slog.NewJSONHandler(&sb, nil)), bodytap.SlogOptions{MaxBodyBytes: 1 << 20, Headers: true}), st),
		Decode:    decode.Func,
		QueueWait: 10e9,
	})
	srv := httptest.NewServer(tap.Handler(http.HandlerFunc(secrettest.Echo)))
	defer srv.Close()
	for i, s := range corpus {
		secrettest.Send(t, srv.Client(), srv.URL, s, i)
	}
	tap.Close()
	hw.Close()
	if st := tap.Stats(); st.Delivered != secretCorpusSize {
		t.Fatalf("delivered %d of %d", st.Delivered, secretCorpusSize)
	}
	var stored bytes.Buffer
	sums, err := st.List(context.Background(), store.Query{Limit: 2 * secretCorpusSize})
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range sums {
		x, err := st.Get(context.Background(), sum.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, err := jsonl.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		stored.Write(b)
	}
	if len(sums) != secretCorpusSize {
		t.Errorf("store holds %d exchanges, want %d", len(sums), secretCorpusSize)
	}
	for name, out := range map[string][]byte{"JSON Lines": jb.Bytes(), "HAR": hb.Bytes(), "slog": sb.Bytes(), "store": stored.Bytes()} {
		if l := secrettest.Leaks(corpus, out); len(l) > 0 {
			t.Errorf("%s: %d of %d secrets kept:\n%s", name, len(l), len(corpus), strings.Join(l, "\n"))
		}
	}
	t.Logf("%d secrets, %d positions, %d codings: none kept", len(corpus), len(secrettest.Positions), len(secrettest.Encodings))
}
