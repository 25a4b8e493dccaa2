package proxy

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/testutil"
)

// seen is what an upstream saw of a request.
type seen struct {
	requestURI string
	host       string
	proto      string
	header     http.Header
	body       []byte
	tls        bool
}

// recordingUpstream returns a handler that sends what it saw on ch, then
// calls respond (if not nil).
func recordingUpstream(ch chan<- seen, respond func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ch <- seen{requestURI: r.RequestURI, host: r.Host, proto: r.Proto, header: r.Header.Clone(), body: body, tls: r.TLS != nil}
		if respond != nil {
			respond(w, r)
		}
	})
}

// TestForwarding checks what the upstream receives and what the client
// gets back: path and query as sent, the upstream's path prefix, the
// X-Forwarded-* headers, Host, hop-by-hop headers removed both ways,
// every other header unchanged (credentials included), no Date or
// Content-Type added; and that the exchange is recorded as the client saw
// it.
func TestForwarding(t *testing.T) {
	const path = "/p/a%2Fb/%7Euser?q=1;x=2&bad=%zz&sp=a+b&e="
	respond := func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Set-Cookie"] = []string{"a=1; Path=/", "b=2; HttpOnly"}
		h["X-Multi-Resp"] = []string{"one", "two"}
		h.Set("Connection", "X-Up-Hop")
		h.Set("X-Up-Hop", "hop value")
		h.Set("Keep-Alive", "timeout=5")
		h["Date"] = nil         // no Date: the proxy must not add one
		h["Content-Type"] = nil // nor sniff a Content-Type
		io.WriteString(w, "<html>hello</html>")
	}
	for _, preserveHost := range []bool{false, true} {
		name := "UpstreamHost"
		if preserveHost {
			name = "PreserveHost"
		}
		t.Run(name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				ch := make(chan seen, 1)
				up := newUpstream(t, recordingUpstream(ch, respond), false)
				e := newEnv(t, up.URL+"/base", m, func(c *Config) { c.PreserveHost = preserveHost })

				req, err := http.NewRequest("POST", e.url(path), strings.NewReader("request body"))
				if err != nil {
					t.Fatal(err)
				}
				req.Header["Authorization"] = []string{"Bearer abc.def.ghi"}
				req.Header["Cookie"] = []string{"sid=s3cr3t; theme=dark"}
				req.Header["X-Multi"] = []string{"one", "two"}
				req.Header["X-Empty"] = []string{""}
				req.Header["X-Forwarded-For"] = []string{"6.6.6.6"}
				req.Header["X-Forwarded-Host"] = []string{"spoofed.example"}
				req.Header["X-Forwarded-Proto"] = []string{"gopher"}
				req.Header["Forwarded"] = []string{"for=6.6.6.6"}
				req.Header["User-Agent"] = []string{""} // send none
				if m == h1 {
					req.Header["Connection"] = []string{"X-Hop-Req"}
					req.Header["X-Hop-Req"] = []string{"1"}
					req.Header["Keep-Alive"] = []string{"300"}
					req.Header["Te"] = []string{"trailers"}
				}
				resp, body := e.do(t, req)
				got := <-ch

				// What the upstream received.
				if want := "/base" + path; got.requestURI != want {
					t.Errorf("upstream RequestURI: got %q, want %q", got.requestURI, want)
				}
				wantHost := up.Listener.Addr().String()
				if preserveHost {
					wantHost = e.srv.Listener.Addr().String()
				}
				if got.host != wantHost {
					t.Errorf("upstream Host: got %q, want %q", got.host, wantHost)
				}
				proto := "http"
				if m == h2 {
					proto = "https"
				}
				for k, want := range map[string][]string{
					"Authorization":     {"Bearer abc.def.ghi"},
					"Cookie":            {"sid=s3cr3t; theme=dark"},
					"X-Multi":           {"one", "two"},
					"X-Empty":           {""},
					"Content-Length":    {"12"},
					"X-Forwarded-For":   {"127.0.0.1"},
					"X-Forwarded-Host":  {e.srv.Listener.Addr().String()},
					"X-Forwarded-Proto": {proto},
				} {
					if m != h1 && k == "Content-Length" {
						continue // HTTP/2 clients may send it or not
					}
					if v := got.header[k]; !slices.Equal(v, want) {
						t.Errorf("upstream header %s: got %q, want %q", k, v, want)
					}
				}
				for _, k := range []string{"Forwarded", "Connection", "X-Hop-Req", "Keep-Alive", "Accept-Encoding", "User-Agent"} {
					if v, ok := got.header[k]; ok {
						t.Errorf("upstream header %s: got %q, want none", k, v)
					}
				}
				if m == h1 && got.header.Get("Te") != "trailers" {
					t.Errorf("upstream header Te: got %q, want %q", got.header.Get("Te"), "trailers")
				}
				if string(got.body) != "request body" {
					t.Errorf("upstream body: got %q", got.body)
				}

				// What the client received.
				if string(body) != "<html>hello</html>" {
					t.Errorf("body: got %q", body)
				}
				for k, want := range map[string][]string{
					"Set-Cookie":   {"a=1; Path=/", "b=2; HttpOnly"},
					"X-Multi-Resp": {"one", "two"},
				} {
					if v := resp.Header[k]; !slices.Equal(v, want) {
						t.Errorf("response header %s: got %q, want %q", k, v, want)
					}
				}
				for _, k := range []string{"Date", "Content-Type", "X-Up-Hop", "Keep-Alive"} {
					if v, ok := resp.Header[k]; ok {
						t.Errorf("response header %s: got %q, want none", k, v)
					}
				}

				// What was recorded.
				x := e.col.next(t)
				if got, want := x.Request.URL.String(), e.url(path); got != want {
					t.Errorf("Request.URL: got %q, want %q", got, want)
				}
				if x.Request.Host != e.srv.Listener.Addr().String() {
					t.Errorf("Request.Host: got %q, want %q", x.Request.Host, e.srv.Listener.Addr())
				}
				if x.Request.Proto != e.wantProto() {
					t.Errorf("Request.Proto: got %q, want %q", x.Request.Proto, e.wantProto())
				}
				if x.Route != "" {
					t.Errorf("Route: got %q, want empty", x.Route)
				}
				if x.Err != nil {
					t.Errorf("Err: %v", x.Err)
				}
				if string(x.Request.Body.Bytes) != "request body" || !x.Request.Body.EOF {
					t.Errorf("Request.Body: got %q (EOF %t)", x.Request.Body.Bytes, x.Request.Body.EOF)
				}
				if x.Response.Status != 200 || string(x.Response.Body.Bytes) != "<html>hello</html>" {
					t.Errorf("Response: got %d %q", x.Response.Status, x.Response.Body.Bytes)
				}
				for _, k := range []string{"Date", "Content-Type", "X-Up-Hop"} {
					if _, ok := x.Response.Header[k]; ok {
						t.Errorf("Response.Header has %s, which was not sent", k)
					}
				}
				if v := x.Response.Header["X-Multi-Resp"]; !slices.Equal(v, []string{"one", "two"}) {
					t.Errorf("Response.Header X-Multi-Resp: got %q", v)
				}
			})
		})
	}
}

// gzipped returns b gzip-compressed.
var gzipped = testutil.Gzip

// TestNoCompressionChanges checks that the proxy neither asks for
// compression nor undoes it: the upstream gets the client's
// Accept-Encoding exactly, or none, and a gzip response reaches the client
// byte for byte, still compressed.
func TestNoCompressionChanges(t *testing.T) {
	plain := []byte(`{"items":[` + strings.Repeat(`{"name":"widget","qty":1},`, 200) + `{}]}`)
	gz := gzipped(t, plain)
	for _, tc := range []struct {
		name           string
		acceptEncoding []string // nil: none sent
	}{
		{"ClientAsksGzip", []string{"gzip, br;q=0.5, *;q=0"}},
		{"ClientAsksNothing", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				ch := make(chan seen, 1)
				up := newUpstream(t, recordingUpstream(ch, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					if r.Header.Get("Accept-Encoding") == "" {
						w.Write(plain)
						return
					}
					w.Header().Set("Content-Encoding", "gzip")
					w.Write(gz)
				}), false)
				e := newEnv(t, up.URL, m, nil)
				resp, body := e.get(t, "/data", http.Header{"Accept-Encoding": tc.acceptEncoding})
				got := <-ch
				if v, ok := got.header["Accept-Encoding"]; !slices.Equal(v, tc.acceptEncoding) || ok != (tc.acceptEncoding != nil) {
					t.Errorf("upstream Accept-Encoding: got %q (present %t), want %q", v, ok, tc.acceptEncoding)
				}
				want, wantCE := plain, ""
				if tc.acceptEncoding != nil {
					want, wantCE = gz, "gzip"
				}
				if !bytes.Equal(body, want) {
					t.Errorf("client body: got %d bytes, want the upstream's %d", len(body), len(want))
				}
				if ce := resp.Header.Get("Content-Encoding"); ce != wantCE {
					t.Errorf("Content-Encoding: got %q, want %q", ce, wantCE)
				}
				x := e.col.next(t)
				if x.Response.Body.Size != int64(len(want)) {
					t.Errorf("Response.Body.Size: got %d, want %d (wire bytes)", x.Response.Body.Size, len(want))
				}
				if x.Response.Body.Decoded != wantCE || !bytes.Equal(x.Response.Body.Bytes, plain) {
					t.Errorf("recorded body: decoded %q, %d bytes; want decoded %q, the %d plain bytes",
						x.Response.Body.Decoded, len(x.Response.Body.Bytes), wantCE, len(plain))
				}
			})
		})
	}
}

// TestUpstreamTLS proxies to an https upstream speaking HTTP/2, with a
// self-signed certificate: accepted with InsecureSkipVerify, refused with
// a 502 without it.
func TestUpstreamTLS(t *testing.T) {
	ch := make(chan seen, 1)
	up := newUpstream(t, recordingUpstream(ch, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "over "+r.Proto)
	}), true)

	t.Run("InsecureSkipVerify", func(t *testing.T) {
		forEachMode(t, func(t *testing.T, m mode) {
			e := newEnv(t, up.URL, m, func(c *Config) { c.InsecureSkipVerify = true })
			resp, body := e.get(t, "/x", nil)
			got := <-ch
			if resp.StatusCode != 200 || string(body) != "over HTTP/2.0" {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, "over HTTP/2.0")
			}
			if !got.tls || got.proto != "HTTP/2.0" {
				t.Errorf("upstream saw TLS %t, %s; want TLS, HTTP/2.0", got.tls, got.proto)
			}
		})
	})
	t.Run("Verified", func(t *testing.T) {
		e := newEnv(t, up.URL, h1, nil)
		resp, body := e.get(t, "/x", nil)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "TLS handshake failed") {
			t.Errorf("got %d %q, want 502 with a TLS reason", resp.StatusCode, body)
		}
	})
}
