package leaktest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/decode"
	"github.com/bodytap/bodytap/internal/leaktest"
	"github.com/bodytap/bodytap/internal/secrettest"
)

// secretCorpusSize is how many secrets go through each end-to-end test.
const secretCorpusSize = 330

// TestSecretCorpusMiddleware sends a seeded corpus of secrets of every
// kind the detectors know, in every position and content coding, through
// the middleware to the JSON Lines, HAR, slog and store sinks at once,
// and checks that not one of them is kept by any.
func TestSecretCorpusMiddleware(t *testing.T) {
	corpus := secrettest.Generate(19, secretCorpusSize)
	sinks := leaktest.NewSinks(t)
	tap := bodytap.New(bodytap.Config{
		Sink:      sinks.Sink,
		Decode:    decode.Func,
		QueueWait: 10e9,
	})
	srv := httptest.NewServer(tap.Handler(http.HandlerFunc(secrettest.Echo)))
	defer srv.Close()
	leaktest.SendAll(t, srv.Client(), srv.URL, corpus)
	tap.Close()
	if st := tap.Stats(); st.Delivered != secretCorpusSize {
		t.Fatalf("delivered %d of %d", st.Delivered, secretCorpusSize)
	}
	sinks.Check(t, corpus)
	t.Logf("%d secrets, %d positions, %d codings: none kept", len(corpus), len(secrettest.Positions), len(secrettest.Encodings))
}
