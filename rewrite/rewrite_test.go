package rewrite

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/difftest"
	"github.com/bodytap/bodytap/internal/httpx"
	"github.com/bodytap/bodytap/internal/testutil"
	"github.com/bodytap/bodytap/internal/wrap"
	"github.com/bodytap/bodytap/internal/wrap/wraptest"
)

// TestInterfaces checks, for every combination of the optional
// interfaces, that the writer the handler gets implements exactly those of
// the server's writer, that each reaches it, and that Unwrap returns it.
// The writer has fallen back: a buffering one rightly keeps a small
// ReadFrom or WriteString to itself. The fallback paths have tests of
// their own.
func TestInterfaces(t *testing.T) {
	cfg := newConfig(noRewrite, Config{})
	for mask := range uint(wraptest.Combinations) {
		under, calls := wraptest.New(mask)
		c := &rewriter{w: under}
		w := wrap.New(&c.ws, c, under)
		c.init(cfg, httptest.NewRequest("GET", "/", nil))
		c.passing = true
		if err := wraptest.Check(w, under, mask, calls); err != nil {
			t.Error(err)
		}
	}
}

// rewDo sends a request with method and extra headers to url and reads the
// whole response.
func rewDo(t testing.TB, client *http.Client, method, url string, hdr http.Header) *difftest.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	return difftest.Do(t, client, req)
}

// reasons records the fallbacks of a Rewrite.
type reasons struct {
	mu sync.Mutex
	rs []FallbackReason
}

func (r *reasons) note(_ *http.Request, reason FallbackReason) {
	r.mu.Lock()
	r.rs = append(r.rs, reason)
	r.mu.Unlock()
}

func (r *reasons) get() []FallbackReason {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rs)
}

func noRewrite(*http.Request, *Response) error { return nil }

// outerHeader is a middleware that sets a header before Rewrite runs, as a
// CORS or request-ID middleware would: it must survive a failed rewrite.
func outerHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Outer", "kept")
		next.ServeHTTP(w, r)
	})
}

// TestRules checks the status, method and header rules of a
// rewritten response, over HTTP/1.1 and HTTP/2.
func TestRules(t *testing.T) {
	big := strings.Repeat("b", 3000)
	type want struct {
		status int
		body   string
		clen   int64             // resp.ContentLength; -2: do not check
		header map[string]string // "" means absent
	}
	cases := []struct {
		name    string
		method  string
		handler http.HandlerFunc
		fn      func(*http.Request, *Response) error
		cfg     Config
		want    want
		errIs   error // what ErrorHandler must get
	}{
		{
			name: "changed body gets a new Content-Length, loses ETag and digest",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "7")
				w.Header().Set("ETag", `"v1"`)
				w.Header().Set("Content-Digest", "sha-256=:x:")
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"a":1}`)
			},
			fn: func(r *http.Request, b *Response) error {
				b.Body = []byte(`{"a":1,"b":2}`)
				return nil
			},
			want: want{200, `{"a":1,"b":2}`, 13, map[string]string{"Etag": "", "Content-Digest": "", "Content-Type": "application/json", "Content-Length": "13"}},
		},
		{
			name: "body changed in place loses ETag",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"v1"`)
				io.WriteString(w, "abc")
			},
			fn: func(r *http.Request, b *Response) error {
				b.Body[0] = 'X'
				return nil
			},
			want: want{200, "Xbc", 3, map[string]string{"Etag": ""}},
		},
		{
			name: "function's own ETag is kept",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"v1"`)
				io.WriteString(w, "abc")
			},
			fn: func(r *http.Request, b *Response) error {
				b.Body = append(b.Body, "def"...)
				b.Header.Set("ETag", `"v2"`)
				return nil
			},
			want: want{200, "abcdef", 6, map[string]string{"Etag": `"v2"`}},
		},
		{
			name: "unchanged body keeps ETag and digest",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"v1"`)
				w.Header().Set("Content-Digest", "sha-256=:x:")
				io.WriteString(w, "abc")
			},
			fn: func(r *http.Request, b *Response) error {
				b.Header.Set("X-Seen", strconv.Itoa(len(b.Body)))
				return nil
			},
			want: want{200, "abc", 3, map[string]string{"Etag": `"v1"`, "Content-Digest": "sha-256=:x:", "X-Seen": "3"}},
		},
		{
			name: "stale Content-Length is fixed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "3")
				io.WriteString(w, "abc")
			},
			fn: func(r *http.Request, b *Response) error {
				b.Body = []byte("a")
				return nil
			},
			want: want{200, "a", 1, map[string]string{"Content-Length": "1"}},
		},
		{
			name: "a large body gets a Content-Length, not chunking",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, big)
			},
			fn:   noRewrite,
			want: want{200, big, 3000, nil},
		},
		{
			name:   "HEAD: Content-Length of the body the handler wrote, no body",
			method: "HEAD",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "hello")
			},
			fn: func(r *http.Request, b *Response) error {
				b.Body = append(b.Body, " world"...)
				return nil
			},
			want: want{200, "", 11, map[string]string{"Content-Length": "11"}},
		},
		{
			name:   "HEAD: a handler that writes nothing keeps its Content-Length",
			method: "HEAD",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1234")
			},
			fn: func(r *http.Request, b *Response) error {
				b.Header.Set("X-Rewritten", "yes")
				return nil
			},
			want: want{200, "", 1234, map[string]string{"Content-Length": "1234", "X-Rewritten": "yes"}},
		},
		{
			name: "204 keeps no body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
				if _, err := io.WriteString(w, "x"); !errors.Is(err, http.ErrBodyNotAllowed) {
					panic(fmt.Sprintf("write after 204: got %v, want ErrBodyNotAllowed", err))
				}
			},
			fn: func(r *http.Request, b *Response) error {
				if len(b.Body) != 0 {
					return errors.New("204 came with a body")
				}
				b.Body = []byte("not sent")
				return nil
			},
			want: want{204, "", 0, map[string]string{"Content-Length": ""}},
		},
		{
			name: "304 keeps ETag and no body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"v1"`)
				w.WriteHeader(http.StatusNotModified)
			},
			fn: func(r *http.Request, b *Response) error {
				b.Header.Set("X-Rewritten", "yes")
				return nil
			},
			want: want{304, "", -2, map[string]string{"Etag": `"v1"`, "X-Rewritten": "yes"}},
		},
		{
			name: "function turns 200 into 304: body dropped",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"v1"`)
				io.WriteString(w, "full body")
			},
			fn: func(r *http.Request, b *Response) error {
				b.Status = http.StatusNotModified
				return nil
			},
			want: want{304, "", -2, map[string]string{"Etag": `"v1"`}},
		},
		{
			name: "function turns 204 into 200 with a body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			},
			fn: func(r *http.Request, b *Response) error {
				b.Status = http.StatusOK
				b.Body = []byte("now with content")
				return nil
			},
			want: want{200, "now with content", 16, nil},
		},
		{
			name: "handler that writes nothing: 200, empty body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-H", "1")
			},
			fn: func(r *http.Request, b *Response) error {
				if b.Status != 200 || len(b.Body) != 0 || b.Header.Get("X-H") != "1" {
					return fmt.Errorf("got status %d, body %q, X-H %q", b.Status, b.Body, b.Header.Get("X-H"))
				}
				b.Body = []byte("filled in")
				return nil
			},
			want: want{200, "filled in", 9, nil},
		},
		{
			name: "headers set after WriteHeader are not seen, as on the wire",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Early", "1")
				w.WriteHeader(http.StatusCreated)
				w.Header().Set("X-Late", "lost")
				io.WriteString(w, "x")
			},
			fn: func(r *http.Request, b *Response) error {
				if b.Header.Get("X-Late") != "" {
					return errors.New("function saw a header set after WriteHeader")
				}
				return nil
			},
			want: want{201, "x", 1, map[string]string{"X-Early": "1", "X-Late": ""}},
		},
		{
			name: "writes past a declared Content-Length fail as on the wire",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "3")
				io.WriteString(w, "abc")
				if _, err := io.WriteString(w, "de"); !errors.Is(err, http.ErrContentLength) {
					panic(fmt.Sprintf("write past Content-Length: got %v, want ErrContentLength", err))
				}
			},
			fn:   noRewrite,
			want: want{200, "abc", 3, nil},
		},
		{
			name: "error: clean 500, handler's headers and output dropped, outer headers kept",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Set-Cookie", "secret=1")
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"partial":`)
			},
			fn: func(r *http.Request, b *Response) error {
				return errors.New("cannot rewrite")
			},
			want: want{500, "Internal Server Error\n", -2, map[string]string{"Set-Cookie": "", "X-Outer": "kept", "Content-Type": "text/plain; charset=utf-8"}},
		},
		{
			name: "invalid status is an error",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "x")
			},
			fn: func(r *http.Request, b *Response) error {
				b.Status = 103
				return nil
			},
			want:  want{500, "Internal Server Error\n", -2, nil},
			errIs: ErrStatus,
		},
		{
			name: "ErrorHandler chooses the answer",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "x")
			},
			fn: func(r *http.Request, b *Response) error {
				return errUpstream
			},
			cfg: Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, err.Error())
			}},
			want:  want{502, "bodytap: rewrite: upstream said no", 34, nil},
			errIs: errUpstream,
		},
		{
			name: "rewrite panic: 500, nothing of the handler's",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Set-Cookie", "secret=1")
				io.WriteString(w, "PARTIAL")
			},
			fn: func(r *http.Request, b *Response) error {
				panic("rewrite bug")
			},
			want:  want{500, "Internal Server Error\n", -2, map[string]string{"Set-Cookie": "", "X-Outer": "kept"}},
			errIs: ErrPanic,
		},
	}
	for _, p := range testutil.Protos {
		t.Run(p.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					var gotErr error
					cfg := c.cfg
					if cfg.ErrorHandler == nil {
						cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
							gotErr = err
							http.Error(w, http.StatusText(500), 500)
						}
					} else {
						eh := cfg.ErrorHandler
						cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
							gotErr = err
							eh(w, r, err)
						}
					}
					h := outerHeader(New(c.fn, cfg)(c.handler))
					srv, client := testutil.NewServer(t, h, p.H2)
					method := c.method
					if method == "" {
						method = "GET"
					}
					res := rewDo(t, client, method, srv.URL, nil)
					if res.Err != nil {
						t.Fatal(res.Err)
					}
					if res.Status != c.want.status {
						t.Errorf("status: got %d, want %d", res.Status, c.want.status)
					}
					if string(res.Body) != c.want.body {
						t.Errorf("body: got %q, want %q", res.Body, c.want.body)
					}
					if c.want.clen != -2 && res.CLen != c.want.clen {
						t.Errorf("ContentLength: got %d, want %d", res.CLen, c.want.clen)
					}
					for k, v := range c.want.header {
						if got := res.Header.Get(k); got != v {
							t.Errorf("header %s: got %q, want %q", k, got, v)
						}
					}
					if c.errIs != nil && !errors.Is(gotErr, c.errIs) {
						t.Errorf("ErrorHandler got %v, want %v", gotErr, c.errIs)
					}
					if gotErr != nil && !strings.HasPrefix(gotErr.Error(), "bodytap: ") {
						t.Errorf("error %q lacks the bodytap: prefix", gotErr)
					}
				})
			}
		})
	}
}

var errUpstream = errors.New("upstream said no")

func gunzip(t testing.TB, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return string(out)
}

// TestDecode checks the content-coding rules: what the function
// gets, and what is sent for what it leaves.
func TestDecode(t *testing.T) {
	const text = `{"hello":"world","pad":"` + "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" + `"}`
	gz := testutil.Gzip(t, []byte(text))
	var zl, raw bytes.Buffer
	zw := zlib.NewWriter(&zl)
	zw.Write([]byte(text))
	zw.Close()
	fw, _ := flate.NewWriter(&raw, flate.BestSpeed)
	fw.Write([]byte(text))
	fw.Close()

	type seen struct {
		body      string
		decoded   bool
		decodeErr error
	}
	cases := []struct {
		name     string
		coding   string
		body     []byte
		noDecode bool
		maxDec   int64
		edit     func(b *Response)
		seen     seen
		// what the client gets
		coding2 string
		etag    string
		check   func(t *testing.T, body []byte)
	}{
		{
			name: "gzip, body changed: encoded again", coding: "gzip", body: gz,
			edit:    func(b *Response) { b.Body = bytes.ToUpper(b.Body) },
			seen:    seen{text, true, nil},
			coding2: "gzip", etag: "",
			check: func(t *testing.T, body []byte) {
				if got := gunzip(t, body); got != strings.ToUpper(text) {
					t.Errorf("decoded body: got %q, want %q", got, strings.ToUpper(text))
				}
			},
		},
		{
			name: "gzip, body unchanged: the handler's bytes", coding: "gzip", body: gz,
			edit:    func(b *Response) { b.Header.Set("X-Len", strconv.Itoa(len(b.Body))) },
			seen:    seen{text, true, nil},
			coding2: "gzip", etag: `"v1"`,
			check: func(t *testing.T, body []byte) {
				if !bytes.Equal(body, gz) {
					t.Error("unchanged body was encoded again")
				}
			},
		},
		{
			name: "x-gzip is gzip", coding: "x-gzip", body: gz,
			edit:    func(b *Response) { b.Body = append(b.Body, '\n') },
			seen:    seen{text, true, nil},
			coding2: "x-gzip", etag: "",
			check: func(t *testing.T, body []byte) {
				if got := gunzip(t, body); got != text+"\n" {
					t.Errorf("got %q", got)
				}
			},
		},
		{
			name: "gzip, function drops the coding: identity, ETag made weak", coding: "gzip", body: gz,
			edit:    func(b *Response) { b.Header.Del("Content-Encoding") },
			seen:    seen{text, true, nil},
			coding2: "", etag: `W/"v1"`,
			check: func(t *testing.T, body []byte) {
				if string(body) != text {
					t.Errorf("got %q, want %q", body, text)
				}
			},
		},
		{
			name: "deflate (zlib)", coding: "deflate", body: zl.Bytes(),
			edit:    func(b *Response) { b.Body = bytes.ToUpper(b.Body) },
			seen:    seen{text, true, nil},
			coding2: "deflate",
			check: func(t *testing.T, body []byte) {
				zr, err := zlib.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(zr)
				if string(got) != strings.ToUpper(text) {
					t.Errorf("got %q", got)
				}
			},
		},
		{
			name: "raw deflate, as some servers send it, is decoded too", coding: "deflate", body: raw.Bytes(),
			edit:    func(b *Response) {},
			seen:    seen{text, true, nil},
			coding2: "deflate", etag: `"v1"`,
			check: func(t *testing.T, body []byte) {
				if !bytes.Equal(body, raw.Bytes()) {
					t.Error("unchanged body was not sent as it was")
				}
			},
		},
		{
			name: "br cannot be decoded: handed over encoded, sent as it was", coding: "br", body: []byte("\x0b\x02\x80opaque"),
			edit:    func(b *Response) { b.Header.Set("X-Seen", "1") },
			seen:    seen{"\x0b\x02\x80opaque", false, ErrUnsupportedEncoding},
			coding2: "br", etag: `"v1"`,
			check: func(t *testing.T, body []byte) {
				if string(body) != "\x0b\x02\x80opaque" {
					t.Errorf("got %q", body)
				}
			},
		},
		{
			name: "stacked codings are not decoded", coding: "gzip, br", body: []byte("opaque"),
			edit:    func(b *Response) {},
			seen:    seen{"opaque", false, ErrUnsupportedEncoding},
			coding2: "gzip, br", etag: `"v1"`,
		},
		{
			name: "corrupt gzip: handed over encoded with the error", coding: "gzip", body: []byte("not gzip at all"),
			edit:    func(b *Response) {},
			seen:    seen{"not gzip at all", false, gzip.ErrHeader},
			coding2: "gzip", etag: `"v1"`,
		},
		{
			name: "decoding bomb stops at MaxDecodedBytes", coding: "gzip", body: testutil.Gzip(t, []byte(strings.Repeat("0", 1<<20))),
			maxDec:  4096,
			edit:    func(b *Response) {},
			seen:    seen{string(testutil.Gzip(t, []byte(strings.Repeat("0", 1<<20)))), false, ErrDecodedTooLarge},
			coding2: "gzip", etag: `"v1"`,
		},
		{
			name: "Decode off: the bytes as written", coding: "gzip", body: gz, noDecode: true,
			edit:    func(b *Response) {},
			seen:    seen{string(gz), false, nil},
			coding2: "gzip", etag: `"v1"`,
		},
		{
			name: "identity", coding: "identity", body: []byte(text),
			edit:    func(b *Response) {},
			seen:    seen{text, false, nil},
			coding2: "identity", etag: `"v1"`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got seen
			fn := func(r *http.Request, b *Response) error {
				got = seen{string(b.Body), b.Decoded, b.DecodeErr}
				c.edit(b)
				return nil
			}
			h := New(fn, Config{DecodeBodies: !c.noDecode, MaxDecodedBytes: c.maxDec})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", c.coding)
				w.Header().Set("ETag", `"v1"`)
				w.Write(c.body)
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if got.body != c.seen.body || got.decoded != c.seen.decoded {
				t.Errorf("function saw body %s, Decoded %t; want %s, %t", difftest.Excerpt([]byte(got.body)), got.decoded, difftest.Excerpt([]byte(c.seen.body)), c.seen.decoded)
			}
			if (got.decodeErr == nil) != (c.seen.decodeErr == nil) || (c.seen.decodeErr != nil && !errors.Is(got.decodeErr, c.seen.decodeErr)) {
				t.Errorf("DecodeErr: got %v, want %v", got.decodeErr, c.seen.decodeErr)
			}
			if got.decodeErr != nil && !strings.HasPrefix(got.decodeErr.Error(), "bodytap: ") {
				t.Errorf("DecodeErr %q lacks the bodytap: prefix", got.decodeErr)
			}
			res := rec.Result()
			body := rec.Body.Bytes()
			if v := res.Header.Get("Content-Encoding"); v != c.coding2 {
				t.Errorf("Content-Encoding: got %q, want %q", v, c.coding2)
			}
			if v := res.Header.Get("Etag"); v != c.etag {
				t.Errorf("ETag: got %q, want %q", v, c.etag)
			}
			if v := res.Header.Get("Content-Length"); v != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length: got %q, want %d", v, len(body))
			}
			if c.check != nil {
				c.check(t, body)
			}
		})
	}
}

// gzipMiddleware is a small compression middleware that behaves like chi's
// Compress and klauspost's gzhttp: for clients that accept gzip it sets
// Content-Encoding and Vary, deletes Content-Length, compresses, and
// flushes the compressor on Flush.
func gzipMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") || r.Method == "HEAD" {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.close()
		next.ServeHTTP(gw, r)
	})
}

type gzipWriter struct {
	http.ResponseWriter
	zw    *gzip.Writer
	wrote bool
}

func (g *gzipWriter) WriteHeader(code int) {
	if g.wrote || (code >= 100 && code < 200 && code != 101) {
		g.ResponseWriter.WriteHeader(code)
		return
	}
	g.wrote = true
	h := g.Header()
	if code >= 200 && code != 204 && code != 304 && h.Get("Content-Encoding") == "" {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		h.Del("Content-Length")
		g.zw = gzip.NewWriter(g.ResponseWriter)
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		return g.zw.Write(p)
	}
	return g.ResponseWriter.Write(p)
}

func (g *gzipWriter) Flush() {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		g.zw.Flush()
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

func (g *gzipWriter) close() {
	if g.zw != nil {
		g.zw.Close()
	}
}

// addField adds "rewritten":true to a JSON object body.
func addField(r *http.Request, b *Response) error {
	if !strings.HasPrefix(b.Header.Get("Content-Type"), "application/json") {
		return nil
	}
	if b.Header.Get("Content-Encoding") != "" && !b.Decoded {
		return nil
	}
	i := bytes.LastIndexByte(b.Body, '}')
	if i < 0 {
		return errors.New("not a JSON object")
	}
	b.Body = append(b.Body[:i:i], `,"rewritten":true}`...)
	return nil
}

// TestWithCompression runs Rewrite on both sides of a compression
// middleware, for a buffered JSON response and a streamed one.
func TestWithCompression(t *testing.T) {
	json := `{"items":[` + strings.Repeat(`"item",`, 200) + `"last"]}`
	want := json[:len(json)-1] + `,"rewritten":true}`
	orders := []struct {
		name string
		wrap func(rw func(http.Handler) http.Handler, h http.Handler) http.Handler
	}{
		{"rewrite outside compressor", func(rw func(http.Handler) http.Handler, h http.Handler) http.Handler { return rw(gzipMiddleware(h)) }},
		{"compressor outside rewrite", func(rw func(http.Handler) http.Handler, h http.Handler) http.Handler { return gzipMiddleware(rw(h)) }},
	}
	for _, p := range testutil.Protos {
		for _, o := range orders {
			t.Run(p.Name+"/"+o.name, func(t *testing.T) {
				var rs reasons
				rw := New(addField, Config{DecodeBodies: true, OnFallback: rs.note})
				mux := http.NewServeMux()
				mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Content-Length", strconv.Itoa(len(json)))
					io.WriteString(w, json)
				})
				chunks := testutil.NewChunks("{\"n\":0}\n", "{\"n\":1}\n", "{\"n\":2}\n")
				mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json") // not a streaming type: the flush decides
					chunks.Write(t, w)
				})
				srv, client := testutil.NewServer(t, o.wrap(rw, mux), p.H2)
				res := rewDo(t, client, "GET", srv.URL+"/json", http.Header{"Accept-Encoding": {"gzip"}})
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				if ce := res.Header.Get("Content-Encoding"); ce != "gzip" {
					t.Fatalf("Content-Encoding: got %q, want gzip", ce)
				}
				if got := gunzip(t, res.Body); got != want {
					t.Errorf("body: got %s, want %s", difftest.Excerpt([]byte(got)), difftest.Excerpt([]byte(want)))
				}
				if res.CLen >= 0 && res.CLen != int64(len(res.Body)) {
					t.Errorf("ContentLength %d, body %d bytes", res.CLen, len(res.Body))
				}

				// Streamed: each chunk reaches the client, compressed.
				req, _ := http.NewRequest("GET", srv.URL+"/events", nil)
				req.Header.Set("Accept-Encoding", "gzip")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				chunks.Read(t, zr)
				io.Copy(io.Discard, zr)
				if r := rs.get(); !slices.Equal(r, []FallbackReason{FallbackFlush}) {
					t.Errorf("fallbacks: got %v, want [flush]", r)
				}
			})
		}
	}
}

// TestEarlyHints: a 103 reaches the client at once, while the final
// response is still being buffered.
func TestEarlyHints(t *testing.T) {
	for _, p := range testutil.Protos {
		t.Run(p.Name, func(t *testing.T) {
			hinted := make(chan struct{})
			h := New(func(r *http.Request, b *Response) error {
				b.Body = append(b.Body, '!')
				return nil
			}, Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Link", "</style.css>; rel=preload; as=style")
				w.WriteHeader(http.StatusEarlyHints)
				select {
				case <-hinted:
				case <-time.After(10 * time.Second):
					t.Error("the 103 did not reach the client while the handler ran")
				}
				io.WriteString(w, "page")
			}))
			srv, client := testutil.NewServer(t, h, p.H2)
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
					if code == 103 {
						close(hinted)
					}
					return nil
				},
			})
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "page!" || resp.StatusCode != 200 {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, b, "page!")
			}
		})
	}
}

// TestStreams: streamed responses reach the client as they are
// written, and the caller is told why they were not rewritten.
func TestStreams(t *testing.T) {
	cases := []struct {
		name   string
		ctype  string
		flush  bool
		reason FallbackReason
	}{
		{"event stream", "text/event-stream", true, FallbackStreaming},
		{"mixed replace", "multipart/x-mixed-replace; boundary=frame", true, FallbackStreaming},
		{"ndjson", "application/x-ndjson", true, FallbackStreaming},
		{"flush", "text/plain", true, FallbackFlush},
	}
	for _, p := range testutil.Protos {
		for _, c := range cases {
			t.Run(p.Name+"/"+c.name, func(t *testing.T) {
				var rs reasons
				called := false
				chunks := testutil.NewChunks("data: 0\n", "data: 1\n", "data: 2\n")
				h := New(func(*http.Request, *Response) error {
					called = true
					return nil
				}, Config{OnFallback: rs.note})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", c.ctype)
					chunks.Write(t, w)
				}))
				srv, client := testutil.NewServer(t, h, p.H2)
				chunks.Get(t, client, srv.URL)
				if called {
					t.Error("rewrite function called for a streamed response")
				}
				if r := rs.get(); !slices.Equal(r, []FallbackReason{c.reason}) {
					t.Errorf("fallbacks: got %v, want [%v]", r, c.reason)
				}
			})
		}
	}
}

func TestIsStreamingResponse(t *testing.T) {
	cases := []struct {
		h    http.Header
		want bool
	}{
		{http.Header{"Content-Type": {"text/event-stream"}}, true},
		{http.Header{"Content-Type": {"Text/Event-Stream; charset=utf-8"}}, true},
		{http.Header{"Content-Type": {"multipart/x-mixed-replace;boundary=x"}}, true},
		{http.Header{"Content-Type": {"application/grpc"}}, true},
		{http.Header{"Content-Type": {"application/grpc+proto"}}, true},
		{http.Header{"Content-Type": {"application/grpc-web+json"}}, true},
		{http.Header{"Content-Type": {"application/x-ndjson"}}, true},
		{http.Header{"Content-Type": {"application/json"}}, false},
		{http.Header{"Content-Type": {"application/grpcx"}}, false},
		{http.Header{"Content-Type": {"text/html"}, "X-Accel-Buffering": {"no"}}, true},
		{http.Header{}, false},
	}
	for _, c := range cases {
		if got := IsStreamingResponse(200, c.h); got != c.want {
			t.Errorf("IsStreamingResponse(%v): got %t, want %t", c.h, got, c.want)
		}
	}
}

func TestFallbackReasonString(t *testing.T) {
	for r, want := range map[FallbackReason]string{
		FallbackTooLarge: "too large", FallbackFlush: "flush", FallbackHijack: "hijack",
		FallbackStreaming: "streaming", FallbackUpgrade: "upgrade", 0: "FallbackReason(0)", 99: "FallbackReason(99)",
	} {
		if got := r.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// TestHandlerPanic: a handler that panics while its response is
// buffered leaks nothing of it, neither body nor headers.
func TestHandlerPanic(t *testing.T) {
	recoverer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					http.Error(w, "recovered", http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
	handler := func(p any) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Set-Cookie", "secret=1")
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"PARTIAL":`)
			panic(p)
		})
	}
	for _, pr := range testutil.Protos {
		t.Run(pr.Name, func(t *testing.T) {
			called := false
			rw := New(func(*http.Request, *Response) error { called = true; return nil }, Config{})

			// Behind a recovering middleware: its 500, clean.
			srv, client := testutil.NewServer(t, outerHeader(recoverer(rw(handler("boom")))), pr.H2)
			res := rewDo(t, client, "GET", srv.URL, nil)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.Status != 500 || string(res.Body) != "recovered\n" {
				t.Errorf("got %d %q, want 500 %q", res.Status, res.Body, "recovered\n")
			}
			if res.Header.Get("Set-Cookie") != "" || res.Header.Get("X-Outer") != "kept" {
				t.Errorf("headers: got %q", difftest.FmtHeader(res.Header))
			}

			// Straight to the server: the response breaks, and nothing of it
			// arrives.
			for _, p := range []any{"boom", http.ErrAbortHandler} {
				srv, client := testutil.NewServer(t, rw(handler(p)), pr.H2)
				res := rewDo(t, client, "GET", srv.URL, nil)
				if res.Err == nil || bytes.Contains(res.Body, []byte("PARTIAL")) {
					t.Errorf("panic %v: got %d %q, %v; want a broken response", p, res.Status, res.Body, res.Err)
				}
			}
			if called {
				t.Error("rewrite function called after the handler panicked")
			}
		})
	}
}

// TestFuncAbort: a rewrite function that panics with
// http.ErrAbortHandler aborts the response; the panic is not swallowed.
func TestFuncAbort(t *testing.T) {
	h := New(func(*http.Request, *Response) error { panic(http.ErrAbortHandler) }, Config{})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Handler", "1")
			io.WriteString(w, "PARTIAL")
		}))
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", p)
			}
		}()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	}()
	if rec.Body.Len() != 0 || rec.Header().Get("X-Handler") != "" || rec.Code != 200 || rec.Flushed {
		t.Errorf("aborted response leaked: code %d, body %q, header %v", rec.Code, rec.Body, rec.Header())
	}
}

// TestTrailers: trailers the handler sets, declared or not, reach
// the client after a rewrite, and the function can change and add some.
func TestTrailers(t *testing.T) {
	for _, p := range testutil.Protos {
		t.Run(p.Name, func(t *testing.T) {
			var seen http.Header
			h := New(func(r *http.Request, b *Response) error {
				seen = b.Trailer.Clone()
				b.Body = bytes.ToUpper(b.Body)
				b.Trailer.Set("X-Sum", "rewritten")
				b.Trailer.Set("X-Added", "by fn")
				return nil
			}, Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Trailer", "X-Sum")
				w.Header().Set("Content-Length", "5")
				io.WriteString(w, "hello")
				w.Header().Set("X-Sum", "42")
				w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
			}))
			srv, client := testutil.NewServer(t, h, p.H2)
			res := rewDo(t, client, "GET", srv.URL, nil)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if string(res.Body) != "HELLO" {
				t.Errorf("body: got %q, want %q", res.Body, "HELLO")
			}
			if want := (http.Header{"X-Sum": {"42"}, "X-Late": {"yes"}}); difftest.FmtHeader(seen) != difftest.FmtHeader(want) {
				t.Errorf("function saw trailers %q, want %q", difftest.FmtHeader(seen), difftest.FmtHeader(want))
			}
			want := http.Header{"X-Sum": {"rewritten"}, "X-Late": {"yes"}, "X-Added": {"by fn"}}
			if a, b := difftest.FmtHeader(difftest.WireTrailers(res.Trailer)), difftest.FmtHeader(want); a != b {
				t.Errorf("trailers: got %q, want %q", a, b)
			}
		})
	}
}

// TestReadFrom: a body copied in with ReadFrom is buffered while it
// fits, and past the cap the rest goes to the wrapped writer's ReadFrom
// with the file itself, so that sendfile still works.
func TestReadFrom(t *testing.T) {
	const size, capBytes = 1 << 20, 4 << 10
	content := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	path := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	serve := func(n int64, declare bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f, err := os.Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			if declare {
				w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			}
			if _, err := io.CopyN(w, f, n); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("under the cap", func(t *testing.T) {
		var body []byte
		var rs reasons
		h := New(func(r *http.Request, b *Response) error {
			body = bytes.Clone(b.Body)
			return nil
		}, Config{MaxBytes: capBytes, OnFallback: rs.note})(serve(capBytes, false))
		under := &testutil.ReadFromCounter{H: http.Header{}}
		h.ServeHTTP(under, httptest.NewRequest("GET", "/", nil))
		if !bytes.Equal(body, content[:capBytes]) {
			t.Errorf("function saw %d bytes, want the first %d of the file", len(body), capBytes)
		}
		if under.ReadFromCall != 0 || under.Writes != capBytes {
			t.Errorf("underlying: %d ReadFrom calls, %d bytes written; want 0 and %d", under.ReadFromCall, under.Writes, capBytes)
		}
		if r := rs.get(); len(r) != 0 {
			t.Errorf("fallbacks: got %v, want none", r)
		}
	})
	t.Run("past the cap", func(t *testing.T) {
		var rs reasons
		h := New(func(r *http.Request, b *Response) error {
			t.Error("rewrite function called for a response past the cap")
			return nil
		}, Config{MaxBytes: capBytes, OnFallback: rs.note})(serve(size, false))
		under := &testutil.ReadFromCounter{H: http.Header{}}
		h.ServeHTTP(under, httptest.NewRequest("GET", "/", nil))
		if !under.SawFile {
			t.Error("the file never reached the underlying ReadFrom: sendfile lost")
		}
		if under.Writes+under.ReadFromN != size || under.Writes > capBytes+httpx.SniffLen {
			t.Errorf("underlying: Write %d bytes, ReadFrom %d; want %d in all, at most %d written", under.Writes, under.ReadFromN, size, capBytes+httpx.SniffLen)
		}
		if r := rs.get(); !slices.Equal(r, []FallbackReason{FallbackTooLarge}) {
			t.Errorf("fallbacks: got %v, want [too large]", r)
		}
	})
	t.Run("declared past the cap", func(t *testing.T) {
		var rs reasons
		h := New(noRewrite, Config{MaxBytes: capBytes, OnFallback: rs.note})(serve(size, true))
		under := &testutil.ReadFromCounter{H: http.Header{}}
		h.ServeHTTP(under, httptest.NewRequest("GET", "/", nil))
		// Like the server's own ReadFrom, the first httpx.SniffLen bytes are
		// written (they commit the status), the rest goes to sendfile.
		if under.ReadFromCall != 1 || !under.SawFile || under.ReadFromN+under.Writes != size || under.Writes != httpx.SniffLen {
			t.Errorf("underlying: %d ReadFrom calls, file %t, %d bytes, %d written; want 1, true, %d, %d",
				under.ReadFromCall, under.SawFile, under.ReadFromN, under.Writes, size-httpx.SniffLen, httpx.SniffLen)
		}
		if r := rs.get(); !slices.Equal(r, []FallbackReason{FallbackTooLarge}) {
			t.Errorf("fallbacks: got %v, want [too large]", r)
		}
	})
}

// TestHijack: upgrade requests pass through unwrapped; a handler
// that hijacks a plain request gets the connection, and what it wrote
// before reaches the client as it would without Rewrite.
func TestHijack(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		if r.Header.Get("Upgrade") != "" {
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		}
		brw.WriteString("raw: ")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo: " + line)
		brw.Flush()
	}
	cases := []struct {
		name    string
		upgrade bool
		before  func(w http.ResponseWriter) // what the handler writes before hijacking
		reason  FallbackReason
	}{
		{"upgrade request", true, func(http.ResponseWriter) {}, FallbackUpgrade},
		{"nothing written", false, func(http.ResponseWriter) {}, FallbackHijack},
		{"101 then hijack", false, func(w http.ResponseWriter) {
			w.Header().Set("Upgrade", "echo")
			w.Header().Set("Connection", "Upgrade")
			w.WriteHeader(http.StatusSwitchingProtocols)
		}, FallbackUpgrade},
		{"headers and body written", false, func(w http.ResponseWriter) {
			w.Header().Set("X-Before", "1")
			w.Header().Set("Content-Length", "7")
			w.WriteHeader(202)
			io.WriteString(w, "before\n")
		}, FallbackHijack},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.before(w)
				echo(w, r)
			})
			var rs reasons
			raw := func(h http.Handler) string {
				srv, _ := testutil.NewServer(t, h, false)
				conn, err := net.Dial("tcp", srv.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				req := "GET /ws HTTP/1.1\r\nHost: x\r\n"
				if c.upgrade {
					req += "Connection: Upgrade\r\nUpgrade: echo\r\n"
				}
				fmt.Fprintf(conn, "%s\r\n", req)
				br := bufio.NewReader(conn)
				var got strings.Builder
				for {
					s, err := br.ReadString(' ')
					got.WriteString(s)
					if strings.HasSuffix(got.String(), "raw: ") || err != nil {
						break
					}
				}
				fmt.Fprintf(conn, "ping\n")
				rest, _ := io.ReadAll(br)
				got.Write(rest)
				// Only the Date differs between runs.
				lines := strings.Split(got.String(), "\r\n")
				lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Date: ") })
				return strings.Join(lines, "\r\n")
			}
			want := raw(handler)
			got := raw(New(noRewrite, Config{OnFallback: rs.note})(handler))
			if got != want {
				t.Errorf("client saw\n%q\nwant\n%q", got, want)
			}
			if !strings.HasSuffix(got, "echo: ping\n") {
				t.Errorf("hijacked connection did not echo: %q", got)
			}
			if r := rs.get(); !slices.Equal(r, []FallbackReason{c.reason}) {
				t.Errorf("fallbacks: got %v, want [%v]", r, c.reason)
			}
		})
	}
}

// TestWithTap: a Tap outside the rewrite records what the client
// got, one inside records what the handler wrote.
func TestWithTap(t *testing.T) {
	upper := New(func(r *http.Request, b *Response) error {
		b.Body = bytes.ToUpper(b.Body)
		return nil
	}, Config{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "quiet") })
	for _, c := range []struct {
		name   string
		wrap   func(tap *bodytap.Tap) http.Handler
		record string
	}{
		{"tap outside", func(tap *bodytap.Tap) http.Handler { return tap.Handler(upper(h)) }, "QUIET"},
		{"tap inside", func(tap *bodytap.Tap) http.Handler { return upper(tap.Handler(h)) }, "quiet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := make(chan *bodytap.Exchange, 1)
			tap := bodytap.New(bodytap.Config{Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) { got <- x })})
			defer tap.Close()
			srv, client := testutil.NewServer(t, c.wrap(tap), false)
			res := rewDo(t, client, "GET", srv.URL, nil)
			if string(res.Body) != "QUIET" {
				t.Errorf("client got %q, want %q", res.Body, "QUIET")
			}
			select {
			case x := <-got:
				if string(x.Response.Body.Bytes) != c.record {
					t.Errorf("tap recorded %q, want %q", x.Response.Body.Bytes, c.record)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no exchange recorded within 10s")
			}
		})
	}
}

func TestSkip(t *testing.T) {
	var under http.ResponseWriter
	h := New(func(*http.Request, *Response) error {
		t.Error("rewrite function called for a skipped request")
		return nil
	}, Config{Skip: func(r *http.Request) bool { return r.URL.Path == "/skip" }})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { under = w }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/skip", nil))
	if under != rec {
		t.Error("skipped request did not get the original ResponseWriter")
	}
}

// TestResponseController: SetReadDeadline, SetWriteDeadline and
// EnableFullDuplex reach the server's writer through Unwrap, with the
// results they have without the middleware, over HTTP/1.1 and HTTP/2.
func TestResponseController(t *testing.T) {
	for _, p := range testutil.Protos {
		t.Run(p.Name, func(t *testing.T) { testutil.CheckController(t, New(noRewrite, Config{}), p.H2) })
	}
}

// TestResponseControllerBuffered: deadlines set through Unwrap do not
// make a buffered response fall back.
func TestResponseControllerBuffered(t *testing.T) {

	h := New(func(r *http.Request, b *Response) error {
		b.Body = append(b.Body, " and rewritten"...)
		return nil
	}, Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through Unwrap: %v", err)
		}
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex through Unwrap: %v", err)
		}
		io.WriteString(w, "buffered")
	}))
	srv, client := testutil.NewServer(t, h, false)
	res := rewDo(t, client, "GET", srv.URL, nil)
	if string(res.Body) != "buffered and rewritten" {
		t.Errorf("got %q, %v", res.Body, res.Err)
	}
}

func TestNilFuncPanics(t *testing.T) {
	defer func() {
		if p := recover(); p == nil || !strings.HasPrefix(fmt.Sprint(p), "bodytap: ") {
			t.Errorf("recovered %v, want a bodytap: panic", p)
		}
	}()
	New(nil, Config{})
}

// TestLateUse: a handler that keeps its ResponseWriter and writes
// after returning gets an error, and cannot touch the response.
func TestLateUse(t *testing.T) {
	var kept http.ResponseWriter
	h := New(noRewrite, Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kept = w
		io.WriteString(w, "done")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if _, err := kept.Write([]byte("late")); err == nil {
		t.Error("write after return succeeded")
	}
	if rec.Body.String() != "done" {
		t.Errorf("got %q, want %q", rec.Body, "done")
	}
}

// The differential tests: handler scripts played on a real server with
// and without Rewrite (with a function that changes nothing). A response
// that falls back must reach the client exactly as without Rewrite:
// status, headers but Date, body, trailers, 1xx. A buffered one too, but
// that it may carry a Content-Length where the server would have chunked.

// A rewOp is one step of a handler script.
type rewOp struct {
	kind string // set, ctype, declare, trailer, prefix, late, wh, write, wstring, copy, file, flush, clen
	name string
	val  string
	code int
	n    int
}

func (o rewOp) String() string {
	switch o.kind {
	case "set", "ctype", "trailer", "prefix", "late":
		return fmt.Sprintf("%s %s=%q", o.kind, o.name, o.val)
	case "declare":
		return "declare " + o.name
	case "wh":
		return fmt.Sprintf("WriteHeader %d", o.code)
	case "flush":
		return "flush"
	}
	return fmt.Sprintf("%s %d", o.kind, o.n)
}

type rewScript struct {
	name   string
	method string
	max    int64
	ops    []rewOp
	want   []FallbackReason // checked when not nil
}

func (s *rewScript) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s, MaxBytes %d:\n", s.name, s.method, s.max)
	for i, o := range s.ops {
		fmt.Fprintf(&b, "%3d  %v\n", i, o)
	}
	return b.String()
}

// rewContent is the content the write ops draw on: bytes vary so that a
// misplaced byte shows.
var rewContent = func() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz0123456789\n"[i%37]
	}
	return b
}()

var rewContentString = string(rewContent)

// handler returns the handler that plays s; results records what each
// write returned, done is closed when it returns.
func (s *rewScript) handler(t testing.TB, file string, results *[]string, done chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		off := 0
		next := func(n int) []byte {
			b := rewContent[off%1024 : off%1024+n]
			off += n
			return b
		}
		nextString := func(n int) string {
			s := rewContentString[off%1024 : off%1024+n]
			off += n
			return s
		}
		note := func(i int, n int64, err error) {
			*results = append(*results, fmt.Sprintf("op %d: n=%d err=%t", i, n, err != nil))
		}
		h := w.Header()
		for i, o := range s.ops {
			switch o.kind {
			case "set", "late", "trailer":
				h.Set(o.name, o.val)
			case "ctype":
				h.Set("Content-Type", o.val)
			case "clen":
				h.Set("Content-Length", strconv.Itoa(o.n))
			case "declare":
				h.Add("Trailer", o.name)
			case "prefix":
				h.Set(http.TrailerPrefix+o.name, o.val)
			case "wh":
				if o.code == 103 {
					h.Set("Link", "</a.css>; rel=preload")
				}
				w.WriteHeader(o.code)
			case "write":
				n, err := w.Write(next(o.n))
				note(i, int64(n), err)
			case "wstring":
				n, err := io.WriteString(w, nextString(o.n))
				note(i, int64(n), err)
			case "copy":
				n, err := io.Copy(w, difftest.OnlyReader{Reader: bytes.NewReader(next(o.n))})
				note(i, n, err)
			case "file":
				f, err := os.Open(file)
				if err != nil {
					t.Error(err)
					return
				}
				n, err := io.Copy(w, io.LimitReader(f, int64(o.n)))
				f.Close()
				note(i, n, err)
			case "flush":
				w.(http.Flusher).Flush()
			}
		}
	})
}

// The hand-written scripts: each falls back for a known reason, or is
// buffered (want empty).
var rewScripts = []rewScript{
	{name: "one write past the cap", max: 64, ops: []rewOp{{kind: "write", n: 1000}}, want: []FallbackReason{FallbackTooLarge}},
	{name: "small writes crossing the cap", max: 64, ops: []rewOp{
		{kind: "set", name: "X-A", val: "1"}, {kind: "write", n: 30}, {kind: "wstring", n: 30}, {kind: "write", n: 30}, {kind: "write", n: 3000},
	}, want: []FallbackReason{FallbackTooLarge}},
	{name: "status, then a header changed, then past the cap", max: 64, ops: []rewOp{
		{kind: "set", name: "X-A", val: "1"}, {kind: "wh", code: 201}, {kind: "late", name: "X-A", val: "late"},
		{kind: "late", name: "X-B", val: "late"}, {kind: "write", n: 40}, {kind: "write", n: 40},
	}, want: []FallbackReason{FallbackTooLarge}},
	{name: "flush after a write", max: 1024, ops: []rewOp{{kind: "write", n: 10}, {kind: "flush"}, {kind: "write", n: 10}}, want: []FallbackReason{FallbackFlush}},
	{name: "flush before anything", max: 1024, ops: []rewOp{{kind: "set", name: "X-A", val: "1"}, {kind: "flush"}, {kind: "write", n: 10}}, want: []FallbackReason{FallbackFlush}},
	{name: "event stream, no flush", max: 1024, ops: []rewOp{{kind: "ctype", val: "text/event-stream"}, {kind: "write", n: 20}}, want: []FallbackReason{FallbackStreaming}},
	{name: "grpc", max: 1024, ops: []rewOp{{kind: "ctype", val: "application/grpc"}, {kind: "wh", code: 200}, {kind: "write", n: 20}}, want: []FallbackReason{FallbackStreaming}},
	{name: "declared length past the cap", max: 64, ops: []rewOp{{kind: "clen", n: 3000}, {kind: "write", n: 1000}, {kind: "write", n: 2000}}, want: []FallbackReason{FallbackTooLarge}},
	{name: "copy past the cap", max: 100, ops: []rewOp{{kind: "copy", n: 5000}}, want: []FallbackReason{FallbackTooLarge}},
	{name: "file past the cap", max: 100, ops: []rewOp{{kind: "file", n: 700}}, want: []FallbackReason{FallbackTooLarge}},
	{name: "file past the cap, big", max: 1000, ops: []rewOp{{kind: "write", n: 10}, {kind: "file", n: 20000}}, want: []FallbackReason{FallbackTooLarge}},
	{name: "file, declared", max: 1000, ops: []rewOp{{kind: "clen", n: 20000}, {kind: "file", n: 20000}}, want: []FallbackReason{FallbackTooLarge}},
	{name: "trailers past the cap", max: 64, ops: []rewOp{
		{kind: "declare", name: "X-Sum"}, {kind: "write", n: 100}, {kind: "trailer", name: "X-Sum", val: "42"}, {kind: "prefix", name: "X-Late", val: "yes"},
	}, want: []FallbackReason{FallbackTooLarge}},
	{name: "early hints, then past the cap", max: 64, ops: []rewOp{{kind: "wh", code: 103}, {kind: "write", n: 3000}}, want: []FallbackReason{FallbackTooLarge}},
	{name: "HEAD past the cap", method: "HEAD", max: 64, ops: []rewOp{{kind: "write", n: 5000}}, want: []FallbackReason{FallbackTooLarge}},
	{name: "nothing buffered at all", max: -1, ops: []rewOp{{kind: "write", n: 1}}, want: []FallbackReason{FallbackTooLarge}},
	{name: "buffered: small body", max: 1024, ops: []rewOp{{kind: "write", n: 100}}, want: []FallbackReason{}},
	{name: "buffered: trailers", max: 1024, ops: []rewOp{
		{kind: "declare", name: "X-Sum"}, {kind: "write", n: 100}, {kind: "trailer", name: "X-Sum", val: "42"}, {kind: "prefix", name: "X-Late", val: "yes"},
	}, want: []FallbackReason{}},
	{name: "buffered: 204 with a write", max: 1024, ops: []rewOp{{kind: "wh", code: 204}, {kind: "write", n: 10}}, want: []FallbackReason{}},
	{name: "buffered: 304", max: 1024, ops: []rewOp{{kind: "set", name: "Etag", val: `"x"`}, {kind: "wh", code: 304}}, want: []FallbackReason{}},
	{name: "buffered: HEAD", method: "HEAD", max: 1024, ops: []rewOp{{kind: "write", n: 100}}, want: []FallbackReason{}},
	{name: "buffered: early hints", max: 1024, ops: []rewOp{{kind: "wh", code: 103}, {kind: "wh", code: 404}, {kind: "write", n: 30}}, want: []FallbackReason{}},
	{name: "buffered: file", max: 4096, ops: []rewOp{{kind: "file", n: 3000}}, want: []FallbackReason{}},
}

// genRewScript writes a random script around a random cap.
func genRewScript(r *rand.Rand, seed uint64) rewScript {
	s := rewScript{name: fmt.Sprintf("seed %d", seed), method: "GET"}
	if r.IntN(8) == 0 {
		s.method = "HEAD"
	}
	s.max = []int64{-1, 16, 100, 1000, 5000}[r.IntN(5)]
	size := func() int {
		switch r.IntN(3) {
		case 0:
			return r.IntN(20)
		case 1:
			return r.IntN(int(max(s.max, 1)) + 1)
		}
		return r.IntN(3*int(max(s.max, 100)) + 1)
	}
	var status int
	var ops []rewOp
	for range 1 + r.IntN(8) {
		switch k := r.IntN(100); {
		case k < 10:
			ops = append(ops, rewOp{kind: "set", name: []string{"X-A", "X-B", "Etag"}[r.IntN(3)], val: strconv.Itoa(r.IntN(100))})
		case k < 15:
			ops = append(ops, rewOp{kind: "ctype", val: []string{"text/plain", "application/json", "text/event-stream", "image/png"}[r.IntN(4)]})
		case k < 20:
			ops = append(ops, rewOp{kind: "declare", name: "X-Sum"})
		case k < 25:
			ops = append(ops, rewOp{kind: "prefix", name: "X-Late", val: "p" + strconv.Itoa(r.IntN(10))})
		case k < 35 && status == 0:
			code := []int{200, 201, 404, 500, 204, 304, 103}[r.IntN(7)]
			if code != 103 {
				status = code
			}
			ops = append(ops, rewOp{kind: "wh", code: code})
		case k < 40:
			ops = append(ops, rewOp{kind: "flush"})
		case k < 45:
			ops = append(ops, rewOp{kind: "trailer", name: "X-Sum", val: "s" + strconv.Itoa(r.IntN(10))})
		case k < 65:
			ops = append(ops, rewOp{kind: "write", n: size()})
		case k < 75:
			ops = append(ops, rewOp{kind: "wstring", n: size()})
		case k < 85:
			ops = append(ops, rewOp{kind: "copy", n: size()})
		default:
			ops = append(ops, rewOp{kind: "file", n: size()})
		}
	}
	if r.IntN(5) == 0 && status != 204 && status != 304 {
		// An exact Content-Length, declared first.
		total := 0
		for _, o := range ops {
			if o.kind == "write" || o.kind == "wstring" || o.kind == "copy" || o.kind == "file" {
				total += o.n
			}
		}
		ops = append([]rewOp{{kind: "clen", n: total}}, ops...)
	}
	s.ops = ops
	return s
}

// runRew plays h on d for s and returns what the client saw.
func runRew(t testing.TB, d *difftest.Server, s *rewScript, h http.Handler) *difftest.Result {
	id, unregister := d.Register(h)
	defer unregister()
	client, release := d.Client()
	defer release()
	return rewDo(t, client, s.method, d.Srv.URL, http.Header{difftest.ScriptHeader: {id}})
}

func testRewScript(t *testing.T, d *difftest.Server, s *rewScript, file string) {
	defer func() {
		if t.Failed() {
			t.Logf("script:\n%s", s)
		}
	}()
	var bareResults, results []string
	wait := func(done chan struct{}) {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("handler did not return within 10s")
		}
	}
	done := make(chan struct{})
	want := runRew(t, d, s, s.handler(t, file, &bareResults, done))
	wait(done)

	var rs reasons
	var fnBody []byte
	var fnCalled bool
	fn := func(r *http.Request, b *Response) error {
		fnCalled = true
		fnBody = bytes.Clone(b.Body)
		return nil
	}
	done = make(chan struct{})
	got := runRew(t, d, s, New(fn, Config{MaxBytes: s.max, OnFallback: rs.note})(s.handler(t, file, &results, done)))
	wait(done)
	fellBack := len(rs.get()) > 0
	if s.want != nil && !slices.Equal(rs.get(), s.want) {
		t.Errorf("fallbacks: got %v, want %v", rs.get(), s.want)
	}
	if fellBack == fnCalled {
		t.Errorf("fell back %t, function called %t", fellBack, fnCalled)
	}
	// Over HTTP/2 the server fails a HEAD handler's writes past its 4 KiB
	// buffer (a short write once the headers have ended the stream); while
	// a HEAD response is buffered they succeed.
	h2Head := d.H2 && s.method == "HEAD"
	if a, b := strings.Join(results, "\n"), strings.Join(bareResults, "\n"); a != b && !h2Head {
		t.Errorf("results of the handler's writes:\ngot  %q\nwant %q", a, b)
	}
	if (got.Err == nil) != (want.Err == nil) {
		t.Fatalf("client error: got %v, want %v", got.Err, want.Err)
	}
	if got.Err != nil {
		return
	}
	if a, b := difftest.FmtInfos(got.Infos), difftest.FmtInfos(want.Infos); a != b {
		t.Errorf("1xx: got %q, want %q", a, b)
	}
	if got.Status != want.Status {
		t.Errorf("status: got %d, want %d", got.Status, want.Status)
	}
	gh, wh := got.Header.Clone(), want.Header.Clone()
	gh.Del("Date")
	wh.Del("Date")
	if !fellBack {
		// Response: a Content-Length is allowed where the server chunked,
		// and must then be right.
		if cl := gh.Get("Content-Length"); cl != "" && s.method != "HEAD" && cl != strconv.Itoa(len(got.Body)) {
			t.Errorf("Content-Length %s for a %d-byte body", cl, len(got.Body))
		}
		if fnCalled && s.method != "HEAD" && !bytes.Equal(fnBody, got.Body) && got.Status != 204 && got.Status != 304 {
			t.Errorf("function saw body %s, client got %s", difftest.Excerpt(fnBody), difftest.Excerpt(got.Body))
		}
		if wh.Get("Content-Length") == "" {
			gh.Del("Content-Length")
		}
	} else if got.CLen != want.CLen || !slices.Equal(got.TE, want.TE) {
		t.Errorf("framing: got ContentLength %d %q, want %d %q", got.CLen, got.TE, want.CLen, want.TE)
	}
	if a, b := difftest.FmtHeader(gh), difftest.FmtHeader(wh); a != b {
		t.Errorf("header:\ngot  %s\nwant %s", a, b)
	}
	if !bytes.Equal(got.Body, want.Body) {
		t.Errorf("body: got %s, want %s", difftest.Excerpt(got.Body), difftest.Excerpt(want.Body))
	}
	if a, b := difftest.FmtHeader(difftest.WireTrailers(got.Trailer)), difftest.FmtHeader(difftest.WireTrailers(want.Trailer)); a != b {
		t.Errorf("trailer: got %q, want %q", a, b)
	}
}

// TestDifferential plays the hand-written scripts and random ones
// over HTTP/1.1 and HTTP/2, with and without Rewrite.
func TestDifferential(t *testing.T) {
	file := filepath.Join(t.TempDir(), "content")
	if err := os.WriteFile(file, rewContent, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range testutil.Protos {
		t.Run(p.Name, func(t *testing.T) {
			d := difftest.NewServer(t, p.H2)
			for i := range rewScripts {
				s := rewScripts[i]
				if s.method == "" {
					s.method = "GET"
				}
				t.Run(s.name, func(t *testing.T) {
					t.Parallel()
					testRewScript(t, d, &s, file)
				})
			}
			for _, seed := range difftest.Seeds(80, 40, 40) {
				s := genRewScript(rand.New(rand.NewPCG(seed, 0x7265777269746521)), seed)
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					t.Parallel()
					testRewScript(t, d, &s, file)
				})
			}
		})
	}
}

// rewJSON1K is a 1 KiB JSON object.
var rewJSON1K = func() []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 1024-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"ok":true}`, i)
	}
	b.WriteString(`],"pad":"`)
	for b.Len() < 1024-2 {
		b.WriteByte('x')
	}
	b.WriteString(`"}`)
	return []byte(b.String())
}()

// rewBenchModes are the ways the 1 KiB JSON response can go: bare, through
// a Rewrite whose function changes nothing, one that splices a field into
// the bytes, and one that decodes and encodes the JSON.
func rewBenchModes() []struct {
	name string
	h    http.Handler
} {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(rewJSON1K)
	})
	jsonField := func(r *http.Request, b *Response) error {
		var v map[string]any
		if err := json.Unmarshal(b.Body, &v); err != nil {
			return err
		}
		v["rewritten"] = true
		out, err := json.Marshal(v)
		b.Body = out
		return err
	}
	return []struct {
		name string
		h    http.Handler
	}{
		{"bare", h},
		{"noop", New(noRewrite, Config{})(h)},
		{"splice", New(addField, Config{})(h)},
		{"json", New(jsonField, Config{})(h)},
	}
}

// BenchmarkRewrite measures the rewrite of a 1 KiB JSON response against
// the bare handler: in process, where the middleware's own cost shows,
// and over a loopback HTTP/1.1 connection, for perspective.
func BenchmarkRewrite(b *testing.B) {
	for _, m := range rewBenchModes() {
		b.Run("1KiB-JSON/"+m.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", "http://example.com/api", nil)
			w := &testutil.DiscardWriter{H: http.Header{}}
			b.SetBytes(int64(len(rewJSON1K)))
			b.ReportAllocs()
			for b.Loop() {
				clear(w.H)
				m.h.ServeHTTP(w, req)
			}
		})
	}
	for _, m := range rewBenchModes() {
		b.Run("1KiB-JSON-loopback/"+m.name, func(b *testing.B) {
			srv, client := testutil.NewServer(b, m.h, false)
			b.SetBytes(int64(len(rewJSON1K)))
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// TestAllocs guards the cost of buffering: a 1 KiB response through
// a Rewrite that changes nothing costs at most 6 allocations more than
// without it.
func TestAllocs(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("race build: allocation counts differ")
	}
	allocs := map[string]float64{}
	for _, m := range rewBenchModes() {
		req, _ := http.NewRequest("GET", "http://example.com/api", nil)
		w := &testutil.DiscardWriter{H: http.Header{}}
		allocs[m.name] = testing.AllocsPerRun(1000, func() {
			clear(w.H)
			m.h.ServeHTTP(w, req)
		})
	}
	t.Logf("allocs/request: %v", allocs)
	if d := allocs["noop"] - allocs["bare"]; d > 6 {
		t.Errorf("Rewrite adds %.1f allocations per request, want at most 6", d)
	}
}

// TestAnnotateThrough: bodytap.Annotate finds a Tap outside the rewrite
// through the rewrite's writer, which unwraps to the Tap's.
func TestAnnotateThrough(t *testing.T) {
	got := make(chan *bodytap.Exchange, 1)
	tap := bodytap.New(bodytap.Config{Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) { got <- x })})
	defer tap.Close()
	h := tap.Handler(New(noRewrite, Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !bodytap.Annotate(w, func(x *bodytap.Exchange) { x.Route = "/annotated" }) {
			t.Error("Annotate did not find the Tap through the rewrite")
		}
		io.WriteString(w, "ok")
	})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	select {
	case x := <-got:
		if x.Route != "/annotated" {
			t.Errorf("Route: got %q, want %q", x.Route, "/annotated")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exchange recorded within 10s")
	}
}
