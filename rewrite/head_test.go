package rewrite

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/testutil"
)

// TestHeadLength: a HEAD carries the Content-Length its GET would send.
// When the function empties a body the handler wrote with its length,
// GET answers 0 and so must HEAD (RFC 9110 §8.6); a HEAD the handler
// answered with headers alone, as http.ServeContent does, keeps the length
// it declared.
func TestHeadLength(t *testing.T) {
	body := strings.Repeat("x", 32)
	writes := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "32")
		io.WriteString(w, body)
	}
	headersOnly := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "32")
		if r.Method != http.MethodHead {
			io.WriteString(w, body)
		}
	}
	empty := func(r *http.Request, resp *Response) error { resp.Body = nil; return nil }
	keep := func(r *http.Request, resp *Response) error { return nil }
	cases := []struct {
		name    string
		handler http.HandlerFunc
		fn      func(*http.Request, *Response) error
		want    int64 // Content-Length of both GET and HEAD
	}{
		{"emptied", writes, empty, 0},
		{"kept", writes, keep, 32},
		{"head without body, kept", headersOnly, keep, 32},
	}
	for _, p := range testutil.Protos {
		for _, c := range cases {
			t.Run(p.Name+"/"+c.name, func(t *testing.T) {
				srv, client := testutil.NewServer(t, New(c.fn, Config{})(c.handler), p.H2)
				for _, method := range []string{http.MethodGet, http.MethodHead} {
					req, _ := http.NewRequest(method, srv.URL, nil)
					resp, err := client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if got := resp.Header.Get("Content-Length"); got != strconv.FormatInt(c.want, 10) && !(c.want == 0 && got == "" && method == http.MethodGet) {
						t.Errorf("%s: Content-Length %q, want %d", method, got, c.want)
					}
				}
			})
		}
	}
}

// TestNotModifiedBody: a body the function sets on a 304 is not sent and
// leaves the ETag alone: it names the representation the client has.
func TestNotModifiedBody(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	})
	fn := func(r *http.Request, resp *Response) error { resp.Body = []byte("ignored"); return nil }
	srv, client := testutil.NewServer(t, New(fn, Config{})(h), false)
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified || len(b) != 0 || resp.Header.Get("ETag") != `"v1"` {
		t.Errorf("got %d, %q, ETag %q; want 304, no body, ETag \"v1\"", resp.StatusCode, b, resp.Header.Get("ETag"))
	}
}
