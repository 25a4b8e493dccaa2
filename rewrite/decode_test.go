package rewrite_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/decode"
	"github.com/bodytap/bodytap/internal/testutil"
	"github.com/bodytap/bodytap/rewrite"
)

const decText = `{"hello":"world","pad":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"}`

// compress applies the codings of a Content-Encoding value in listing
// order, as a server would.
func compress(t testing.TB, ce string, b []byte) []byte {
	t.Helper()
	return testutil.Encode(t, ce, b, func(t testing.TB, name string, w io.Writer) io.WriteCloser {
		switch name {
		case "gzip":
			return gzip.NewWriter(w)
		case "br":
			return brotli.NewWriter(w)
		case "zstd":
			zw, err := zstd.NewWriter(w)
			if err != nil {
				t.Fatal(err)
			}
			return zw
		}
		t.Fatalf("compress: no coder for %q", name)
		return nil
	})
}

// decTarget is what the handler sent and what the function saw.
type decTarget struct {
	body    []byte
	decoded bool
	err     error
}

// serveDecode sends body with Content-Encoding ce, an ETag and a Vary
// through a rewrite with c, whose function records what it saw and then
// runs edit. It returns what the function saw and the recorded response.
func serveDecode(t *testing.T, c rewrite.Config, ce string, body []byte, edit func(*rewrite.Response)) (decTarget, *httptest.ResponseRecorder) {
	t.Helper()
	var saw decTarget
	fn := func(r *http.Request, resp *rewrite.Response) error {
		saw = decTarget{bytes.Clone(resp.Body), resp.Decoded, resp.DecodeErr}
		if edit != nil {
			edit(resp)
		}
		return nil
	}
	h := rewrite.New(fn, c)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", ce)
		w.Header().Set("Vary", "Accept-Encoding")
		w.Header().Set("ETag", `"v1"`)
		w.Write(body)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(rec.Body.Len()); got != want {
		t.Errorf("Content-Length: got %q, want %q", got, want)
	}
	return saw, rec
}

func upper(resp *rewrite.Response) { resp.Body = bytes.ToUpper(resp.Body) }

// TestDecodeFuncCodings: with decode.Func, br and zstd bodies reach the
// function decoded. A changed body cannot be encoded again with the
// standard library, so it goes out as identity; an unchanged one goes out
// as the handler's bytes.
func TestDecodeFuncCodings(t *testing.T) {
	cfg := rewrite.Config{DecodeBodies: true, Decode: decode.Func}
	for _, ce := range []string{"br", "zstd", "gzip, br"} {
		enc := compress(t, ce, []byte(decText))
		t.Run(ce+"/changed", func(t *testing.T) {
			saw, rec := serveDecode(t, cfg, ce, enc, upper)
			if string(saw.body) != decText || !saw.decoded || saw.err != nil {
				t.Fatalf("function saw %q, Decoded %t, DecodeErr %v; want the decoded text", saw.body, saw.decoded, saw.err)
			}
			if got, want := rec.Body.String(), strings.ToUpper(decText); got != want {
				t.Errorf("body: got %q, want %q", got, want)
			}
			if v, ok := rec.Header()["Content-Encoding"]; ok {
				t.Errorf("Content-Encoding: got %q, want none", v)
			}
			if got := rec.Header().Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary: got %q, want Accept-Encoding", got)
			}
			if got := rec.Header().Get("Etag"); got != "" {
				t.Errorf("ETag: got %q, want none for changed content", got)
			}
		})
		t.Run(ce+"/unchanged", func(t *testing.T) {
			saw, rec := serveDecode(t, cfg, ce, enc, func(resp *rewrite.Response) { resp.Header.Set("X-Seen", "1") })
			if string(saw.body) != decText || !saw.decoded {
				t.Fatalf("function saw %q, Decoded %t; want the decoded text", saw.body, saw.decoded)
			}
			if !bytes.Equal(rec.Body.Bytes(), enc) {
				t.Error("unchanged body was not sent as the handler wrote it")
			}
			if got := rec.Header().Get("Content-Encoding"); got != ce {
				t.Errorf("Content-Encoding: got %q, want %q", got, ce)
			}
			if got := rec.Header().Get("Etag"); got != `"v1"` {
				t.Errorf("ETag: got %q, want %q", got, `"v1"`)
			}
		})
	}
}

// TestDecodeStacked: the built-in decoder undoes stacked gzip, and a
// changed body is encoded again with both.
func TestDecodeStacked(t *testing.T) {
	const ce = "gzip, gzip"
	enc := compress(t, ce, []byte(decText))
	saw, rec := serveDecode(t, rewrite.Config{DecodeBodies: true}, ce, enc, upper)
	if string(saw.body) != decText || !saw.decoded || saw.err != nil {
		t.Fatalf("function saw %q, Decoded %t, DecodeErr %v; want the decoded text", saw.body, saw.decoded, saw.err)
	}
	if got := rec.Header().Get("Content-Encoding"); got != ce {
		t.Errorf("Content-Encoding: got %q, want %q", got, ce)
	}
	res, err := decode.Decode(ce, rec.Body.Bytes(), 0, false)
	if err != nil {
		t.Fatalf("sent body does not decode as %s: %v", ce, err)
	}
	if got, want := string(res.Bytes), strings.ToUpper(decText); got != want {
		t.Errorf("decoded body: got %q, want %q", got, want)
	}
}

// TestDecodeLimit: a body that decodes to more than MaxDecodedBytes is
// handed over encoded with ErrDecodedTooLarge and sent as it was; one that
// decodes to exactly MaxDecodedBytes is decoded. Both for the built-in
// decoder and for a DecodeFunc, which is given one byte over the limit.
func TestDecodeLimit(t *testing.T) {
	const limit = 4096
	decoders := []struct {
		name string
		dec  bodytap.DecodeFunc
		ce   string
	}{
		{"built-in", nil, "gzip"},
		{"decode.Func", decode.Func, "zstd"},
	}
	for _, d := range decoders {
		cfg := rewrite.Config{DecodeBodies: true, Decode: d.dec, MaxDecodedBytes: limit}
		t.Run(d.name+"/bomb", func(t *testing.T) {
			bomb := compress(t, d.ce, make([]byte, 1<<20))
			saw, rec := serveDecode(t, cfg, d.ce, bomb, func(resp *rewrite.Response) {})
			if saw.decoded || !errors.Is(saw.err, rewrite.ErrDecodedTooLarge) {
				t.Errorf("Decoded %t, DecodeErr %v; want false, ErrDecodedTooLarge", saw.decoded, saw.err)
			}
			if !bytes.Equal(saw.body, bomb) {
				t.Error("function did not get the body as written")
			}
			if !bytes.Equal(rec.Body.Bytes(), bomb) {
				t.Error("response body changed")
			}
			if got := rec.Header().Get("Content-Encoding"); got != d.ce {
				t.Errorf("Content-Encoding: got %q, want %q", got, d.ce)
			}
			if got := rec.Header().Get("Etag"); got != `"v1"` {
				t.Errorf("ETag: got %q, want %q", got, `"v1"`)
			}
		})
		t.Run(d.name+"/exactly the limit", func(t *testing.T) {
			plain := bytes.Repeat([]byte("a"), limit)
			saw, _ := serveDecode(t, cfg, d.ce, compress(t, d.ce, plain), nil)
			if !saw.decoded || saw.err != nil || !bytes.Equal(saw.body, plain) {
				t.Errorf("Decoded %t, DecodeErr %v, %d bytes; want the %d decoded bytes", saw.decoded, saw.err, len(saw.body), limit)
			}
		})
	}
}

// TestDecodeFuncErrors: what a DecodeFunc gets wrong is reported in
// DecodeErr, and the body is handed over and sent as written.
func TestDecodeFuncErrors(t *testing.T) {
	errBoom := errors.New("boom")
	enc := compress(t, "gzip", []byte(decText))
	cases := []struct {
		name string
		dec  bodytap.DecodeFunc
		want error // errors.Is target; nil: any error
	}{
		{"error", func(string, []byte, int64, bool) ([]byte, string, error) { return nil, "", errBoom }, errBoom},
		{"no coding removed", func(_ string, b []byte, _ int64, _ bool) ([]byte, string, error) { return b, "", nil }, nil},
		{"unsupported, from decode.Func", decode.Func, decode.ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ce := "gzip"
			if c.want == decode.ErrUnsupported {
				ce = "compress"
			}
			saw, rec := serveDecode(t, rewrite.Config{DecodeBodies: true, Decode: c.dec}, ce, enc, upper)
			if saw.decoded || saw.err == nil || (c.want != nil && !errors.Is(saw.err, c.want)) {
				t.Errorf("Decoded %t, DecodeErr %v; want false and an error (%v)", saw.decoded, saw.err, c.want)
			}
			if saw.err != nil && !strings.HasPrefix(saw.err.Error(), "bodytap: ") {
				t.Errorf("DecodeErr %q lacks the bodytap: prefix", saw.err)
			}
			if !bytes.Equal(saw.body, enc) {
				t.Error("function did not get the body as written")
			}
			if !bytes.Equal(rec.Body.Bytes(), bytes.ToUpper(enc)) {
				t.Error("the function's change to the undecoded body was not sent as it left it")
			}
			if got := rec.Header().Get("Content-Encoding"); got != ce {
				t.Errorf("Content-Encoding: got %q, want %q", got, ce)
			}
		})
	}
}

// TestDecodeBodiesOff: Decode alone does not decode.
func TestDecodeBodiesOff(t *testing.T) {
	called := false
	dec := func(ce string, b []byte, limit int64, truncated bool) ([]byte, string, error) {
		called = true
		return decode.Func(ce, b, limit, truncated)
	}
	enc := compress(t, "br", []byte(decText))
	saw, rec := serveDecode(t, rewrite.Config{Decode: dec}, "br", enc, nil)
	if called || saw.decoded || saw.err != nil || !bytes.Equal(saw.body, enc) {
		t.Errorf("decoder called %t, Decoded %t, DecodeErr %v; want the body as written", called, saw.decoded, saw.err)
	}
	if !bytes.Equal(rec.Body.Bytes(), enc) {
		t.Error("response body changed")
	}
}

// TestImportsStandardLibraryOnly: rewrite, like the root package, pulls in
// no third-party module; decode.Func reaches it only through the user.
func TestImportsStandardLibraryOnly(t *testing.T) {
	testutil.OwnDependenciesOnly(t, "github.com/bodytap/bodytap/rewrite")
}
