package bodytap_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/decode"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/internal/secrettest"
	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/store"
)

func brEncode(b []byte) []byte {
	var out bytes.Buffer
	w := brotli.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func zstdEncode(b []byte) []byte {
	w, _ := zstd.NewWriter(nil)
	defer w.Close()
	return w.EncodeAll(b, nil)
}

// sendSecret sends the request that carries s at pos in the coding enc
// to base, and checks that the handler saw it (the wire is not altered).
func sendSecret(tb testing.TB, c *http.Client, base string, s secrettest.Secret, pos, enc string, i int) {
	tb.Helper()
	q := secrettest.Place(s, pos, i)
	body, ce := secrettest.Encode(enc, q.Body, brEncode, zstdEncode)
	var rd io.Reader = bytes.NewReader(body)
	if enc == "chunked" {
		rd = io.MultiReader(rd) // no length: sent chunked
	}
	u := base + (&url.URL{Path: q.Path}).EscapedPath()
	if q.RawQuery != "" {
		u += "?" + q.RawQuery
	}
	req, err := http.NewRequest("POST", u, rd)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range q.Header {
		req.Header.Set(k, v)
	}
	if q.ContentType != "" {
		req.Header.Set("Content-Type", q.ContentType)
	}
	if ce != "" {
		req.Header.Set("Content-Encoding", ce)
	}
	// Asked for by hand, so that the transport hands back the coded bytes.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, body) {
		tb.Fatalf("secret %d (%s in %s, %s): the echo differs from what was sent", i, s.Kind, pos, enc)
	}
}

// echo answers with the request's body, Content-Type and
// Content-Encoding, and the secret-bearing request header copied into the
// response, so that every secret passes both ways.
func echo(w http.ResponseWriter, r *http.Request) {
	for _, k := range []string{"Content-Type", "Content-Encoding", "X-Debug-Context"} {
		if v := r.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	io.Copy(w, r.Body)
}

// secretCorpusSize is how many secrets go through each end-to-end test.
const secretCorpusSize = 330

// leaks returns the secrets of corpus whose core appears, as is or
// escaped for a URL or JSON, in out.
func leaks(corpus []secrettest.Secret, out []byte) []string {
	var found []string
	for i, s := range corpus {
		for _, v := range []string{s.Core, url.QueryEscape(s.Core), url.PathEscape(s.Core), strings.ReplaceAll(s.Core, "/", `\/`)} {
			if bytes.Contains(out, []byte(v)) {
				found = append(found, fmt.Sprintf("#%d %s %q", i, s.Kind, s.Core))
				break
			}
		}
	}
	return found
}

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
	srv := httptest.NewServer(tap.Handler(http.HandlerFunc(echo)))
	defer srv.Close()
	kinds := map[string]int{}
	for i, s := range corpus {
		pos := secrettest.Positions[i%len(secrettest.Positions)]
		enc := secrettest.Encodings[(i/len(secrettest.Positions))%len(secrettest.Encodings)]
		sendSecret(t, srv.Client(), srv.URL, s, pos, enc, i)
		kinds[s.Kind+"/"+pos]++
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
		if l := leaks(corpus, out); len(l) > 0 {
			t.Errorf("%s: %d of %d secrets kept:\n%s", name, len(l), len(corpus), strings.Join(l, "\n"))
		}
	}
	t.Logf("%d secrets in %d kind/position pairs, %d codings", len(corpus), len(kinds), len(secrettest.Encodings))
}
