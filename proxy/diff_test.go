package proxy

// Differential test: random upstream handler scripts, each played twice,
// once straight from the client and once through the proxy; the client
// must see the same thing both times, the upstream's handler must see the
// same request, and the proxy's record must tell what the client saw.
//
// The scripts come from the core's generator (internal/difftest) in its
// Upstream mode: the core's scripts test a middleware inside the handler,
// with aborts, and reads and closes racing the response, which a proxy
// turns into different, and correct, behaviour (an abort before the
// headers is a 502 here). These keep to what an upstream does: headers,
// 1xx, request body reads, a status, writes and flushes, trailers.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/difftest"
	"github.com/bodytap/bodytap/internal/testutil"
)

// withoutHop returns h without the headers that belong to one connection
// or one moment: hop-by-hop headers, and Date's value (its presence is
// kept).
func withoutHop(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		case "Date":
			out[k] = []string{"(a date)"}
		default:
			out[k] = v
		}
	}
	return out
}

// bodyAllowed reports whether a response to method with status can have a
// body.
func bodyAllowed(status int, method string) bool {
	return method != "HEAD" && status != http.StatusNoContent && status != http.StatusNotModified
}

// fmtHeader formats h, without the headers of one connection or moment,
// for comparisons.
func fmtHeader(h http.Header) string { return difftest.FmtHeader(withoutHop(h)) }

// fmtInfos formats 1xx responses as fmtHeader does their headers.
func fmtInfos(infos []difftest.Info) []string {
	var out []string
	for _, in := range infos {
		out = append(out, fmt.Sprintf("%d %s", in.Code, fmtHeader(in.Header)))
	}
	return out
}

// compare reports every difference between the run of s through the proxy
// (got) and the direct one (want).
func compare(tb testing.TB, s *difftest.Script, got, want *difftest.Result) {
	tb.Helper()
	g, w := got.Obs, want.Obs
	// A read that stops right at the end of the body sees EOF with its last
	// bytes only if the end had already arrived: timing, proxy or not.
	eofRace := len(g.Read) == len(s.Body) && len(w.Read) == len(s.Body)
	if !bytes.Equal(g.Read, w.Read) || g.ReadEOF != w.ReadEOF && !eofRace {
		tb.Errorf("request body the upstream read: got %s (EOF %t), want %s (EOF %t)", difftest.Excerpt(g.Read), g.ReadEOF, difftest.Excerpt(w.Read), w.ReadEOF)
	}
	gh, wh := withoutHop(g.Header), withoutHop(w.Header)
	for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if len(gh[k]) != 1 {
			tb.Errorf("upstream request header %s: got %q, want one value", k, gh[k])
		}
		delete(gh, k)
	}
	delete(gh, difftest.ScriptHeader)
	delete(wh, difftest.ScriptHeader)
	if a, b := difftest.FmtHeader(gh), difftest.FmtHeader(wh); a != b {
		tb.Errorf("upstream request header:\ngot  %s\nwant %s", a, b)
	}
	if (got.Err == nil) != (want.Err == nil) {
		tb.Errorf("client error: got %v, want %v", got.Err, want.Err)
		return
	}
	if got.Err != nil {
		// The response broke both times (the upstream's response was
		// invalid); how much of it each client saw first is timing.
		return
	}
	if got.Status != want.Status {
		tb.Errorf("status: got %d, want %d", got.Status, want.Status)
	}
	if a, b := fmtHeader(got.Header), fmtHeader(want.Header); a != b {
		tb.Errorf("header:\ngot  %s\nwant %s", a, b)
	}
	// Without a body, over HTTP/2, ContentLength is 0 or -1 depending on
	// whether the headers ended the stream: framing, not content.
	if bodyAllowed(want.Status, s.Method) && got.CLen != want.CLen {
		tb.Errorf("ContentLength: got %d, want %d", got.CLen, want.CLen)
	}
	if !bytes.Equal(got.Body, want.Body) {
		tb.Errorf("body: got %s, want %s", difftest.Excerpt(got.Body), difftest.Excerpt(want.Body))
	}
	if a, b := difftest.FmtHeader(difftest.WireTrailers(got.Trailer)), difftest.FmtHeader(difftest.WireTrailers(want.Trailer)); a != b {
		tb.Errorf("trailer: got %s, want %s", a, b)
	}
	if a, b := fmtInfos(got.Infos), fmtInfos(want.Infos); !slices.Equal(a, b) {
		tb.Errorf("1xx responses:\ngot  %q\nwant %q", a, b)
	}
}

// checkRecord checks that the proxy's record tells what the client saw.
func checkRecord(tb testing.TB, s *difftest.Script, x *bodytap.Exchange, res *difftest.Result) {
	tb.Helper()
	if x.Err != nil {
		tb.Errorf("Err: %v", x.Err)
	}
	if x.Response.Status != res.Status {
		tb.Errorf("Response.Status: got %d, want %d", x.Response.Status, res.Status)
	}
	if s.Method != "HEAD" && x.Response.Body.Size != int64(len(res.Body)) {
		tb.Errorf("Response.Body.Size: got %d, want %d", x.Response.Body.Size, len(res.Body))
	}
	if n := len(x.Response.Body.Bytes); n > len(res.Body) || !bytes.Equal(x.Response.Body.Bytes, res.Body[:n]) {
		tb.Errorf("Response.Body.Bytes is not a prefix of the body the client got")
	}
	var infos []difftest.Info
	for _, in := range x.Response.Informational {
		infos = append(infos, difftest.Info{Code: in.Status, Header: in.Header})
	}
	if a, b := fmtInfos(infos), fmtInfos(res.Infos); !slices.Equal(a, b) {
		tb.Errorf("Response.Informational:\ngot  %q\nwant %q", a, b)
	}
	if a, b := difftest.FmtHeader(difftest.WireTrailers(x.Response.Trailer)), difftest.FmtHeader(difftest.WireTrailers(res.Trailer)); a != b {
		tb.Errorf("Response.Trailer: got %s, want %s", a, b)
	}
	if n := len(x.Request.Body.Bytes); n > len(s.Body) || !bytes.Equal(x.Request.Body.Bytes, s.Body[:n]) {
		tb.Errorf("Request.Body.Bytes is not a prefix of the body sent")
	}
}

// TestDifferential plays random upstream scripts straight and through the
// proxy, over HTTP/1.1 (client, proxy and upstream) and HTTP/2 over TLS
// (client to proxy, proxy to upstream). A failure prints the script and
// the -run pattern that replays it alone; -diff.seed and -diff.n play
// another range.
func TestDifferential(t *testing.T) {
	opts := difftest.Options{Big: 1 << 20, Upstream: true}
	if testutil.RaceEnabled {
		opts.Big = 256 << 10
	}
	for _, proto := range []struct {
		m     mode
		tlsH2 bool
	}{{h1, false}, {h2, true}} {
		t.Run(string(proto.m), func(t *testing.T) {
			d := difftest.NewServer(t, proto.tlsH2)
			e := newEnv(t, d.Srv.URL, proto.m, func(c *Config) {
				c.InsecureSkipVerify = proto.tlsH2
				// The record is compared with the wire: keep it as is.
				c.Tap.Redact.Disabled = true
			})
			direct := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			if proto.tlsH2 {
				pool := x509.NewCertPool()
				pool.AddCert(d.Srv.Certificate())
				direct.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, DisableCompression: true}
			}
			t.Cleanup(direct.CloseIdleConnections)
			for _, seed := range difftest.Seeds(80, 25, 25) {
				s := difftest.Gen(rand.New(rand.NewPCG(seed, 0x70726f7879)), seed, opts)
				s.Settle(proto.tlsH2)
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					defer func() {
						if t.Failed() {
							t.Logf("script (rerun with -run '%s'):\n%s", difftest.RerunPattern(t.Name()), s)
						}
					}()
					s.Prepare(t, t.TempDir())
					want := d.Run(t, s, difftest.Run{Client: direct})
					got := d.Run(t, s, difftest.Run{Client: e.client, URL: e.srv.URL})
					compare(t, s, got, want)
					x := e.col.next(t)
					if got.Err == nil {
						checkRecord(t, s, x, got)
					}
				})
			}
		})
	}
}
