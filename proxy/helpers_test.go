package proxy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/testutil"
)

// collector is a Sink that hands every exchange to the test.
type collector struct{ ch chan *bodytap.Exchange }

func newCollector() *collector { return &collector{ch: make(chan *bodytap.Exchange, 1<<12)} }

func (c *collector) Record(x *bodytap.Exchange) { c.ch <- x }

// next waits for the next exchange.
func (c *collector) next(tb testing.TB) *bodytap.Exchange {
	tb.Helper()
	select {
	case x := <-c.ch:
		return x
	case <-time.After(10 * time.Second):
		tb.Fatal("no exchange delivered within 10s")
		return nil
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers: logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A mode is how the test client talks to the proxy.
type mode string

const (
	h1  mode = "HTTP1" // HTTP/1.1 over TCP
	h2  mode = "HTTP2" // HTTP/2 over TLS
	h2c mode = "H2C"   // HTTP/2 with prior knowledge over TCP
)

var modes = []mode{h1, h2, h2c}

// forEachMode runs f as a subtest for each mode in ms (all when empty).
func forEachMode(t *testing.T, f func(t *testing.T, m mode), ms ...mode) {
	if len(ms) == 0 {
		ms = modes
	}
	for _, m := range ms {
		t.Run(string(m), func(t *testing.T) { f(t, m) })
	}
}

// env is a proxy under test: the Proxy, its real server, the sink its
// exchanges go to, and the logs it wrote.
type env struct {
	p      *Proxy
	srv    *httptest.Server
	col    *collector
	logs   *syncBuffer // the proxy's slog output (JSON lines), Debug and up
	srvLog *syncBuffer // the proxy server's ErrorLog
	mode   mode
	client *http.Client
}

// newEnv starts a proxy to upstream, served by NewServer in mode m. edit,
// if not nil, changes the Config before New.
func newEnv(tb testing.TB, upstream string, m mode, edit func(*Config)) *env {
	tb.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{col: newCollector(), logs: &syncBuffer{}, srvLog: &syncBuffer{}, mode: m}
	cfg := Config{
		Upstream: u,
		Tap:      bodytap.Config{Sink: e.col},
		Logger:   slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	e.p, err = New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.p.Close() })
	e.srv = httptest.NewUnstartedServer(e.p)
	e.srv.Config = NewServer("", e.p)
	e.srv.Config.ErrorLog = log.New(e.srvLog, "", 0)
	if m == h2 {
		e.srv.EnableHTTP2 = true
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	tb.Cleanup(e.srv.Close)
	e.client = &http.Client{Transport: e.transport()}
	tb.Cleanup(e.client.CloseIdleConnections)
	return e
}

// transport returns a new client transport for the env's mode, which
// neither asks for nor decodes compression.
func (e *env) transport() *http.Transport {
	switch e.mode {
	case h2:
		pool := x509.NewCertPool()
		pool.AddCert(e.srv.Certificate())
		return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, DisableCompression: true}
	case h2c:
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		return &http.Transport{Protocols: &p, DisableCompression: true}
	}
	return &http.Transport{DisableCompression: true}
}

// dial opens a raw TCP connection to the proxy, for requests a client
// would not send, with a 10 s deadline; it is closed when the test ends.
func (e *env) dial(tb testing.TB) *net.TCPConn {
	tb.Helper()
	return dialRaw(tb, e.srv.Listener.Addr().String())
}

// dialRaw opens a TCP connection to addr as env.dial does.
func dialRaw(tb testing.TB, addr string) *net.TCPConn {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

// url returns the proxy's URL for path.
func (e *env) url(path string) string { return e.srv.URL + path }

// wantProto is the Request.Proto the proxy sees in the env's mode.
func (e *env) wantProto() string {
	if e.mode == h1 {
		return "HTTP/1.1"
	}
	return "HTTP/2.0"
}

// warnings returns the log lines at Warn and above.
func (e *env) warnings() []string {
	var out []string
	for line := range strings.SplitSeq(e.logs.String(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			out = append(out, line)
		}
	}
	return out
}

// checkClientGone checks that the next exchange is recorded as
// ErrClientGone with status, and that a client going away was neither
// warned about nor logged by the server.
func (e *env) checkClientGone(tb testing.TB, status int) {
	tb.Helper()
	x := e.col.next(tb)
	if !errors.Is(x.Err, bodytap.ErrClientGone) || x.Response.Status != status {
		tb.Errorf("recorded: status %d, Err %v; want %d, %v", x.Response.Status, x.Err, status, bodytap.ErrClientGone)
	}
	if w := e.warnings(); len(w) > 0 {
		tb.Errorf("warnings logged for a client that went away: %q", w)
	}
	if s := e.srvLog.String(); s != "" {
		tb.Errorf("server error log: %q", s)
	}
}

// newUpstream starts an upstream server for h: HTTP/1.1 over TCP, or with
// tlsH2 HTTP/2 over TLS. Its error log is discarded.
var newUpstream = testutil.StartServer

// get does a GET of path through the proxy and returns the response with
// its body read.
func (e *env) get(tb testing.TB, path string, header http.Header) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest("GET", e.url(path), nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return e.do(tb, req)
}

// do sends req through the proxy and returns the response with its body
// read.
func (e *env) do(tb testing.TB, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("reading the body: %v", err)
	}
	return resp, body
}

// pattern returns n bytes of reproducible, incompressible-looking content.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// patternReader streams n bytes of a repeating block without holding them.
type patternReader struct {
	block []byte
	off   int
	left  int64
}

func newPatternReader(n int64) *patternReader {
	return &patternReader{block: pattern(64<<10, 7), left: n}
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.block[r.off:])
		n += c
		r.off = (r.off + c) % len(r.block)
	}
	r.left -= int64(n)
	return n, nil
}
