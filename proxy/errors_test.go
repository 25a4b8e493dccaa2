package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// checkUpstreamError checks an answer the proxy made itself for a failed
// upstream: status, the one-line reason, one warning, and the record.
func checkUpstreamError(t *testing.T, e *env, resp *http.Response, body []byte, status int, wantPrefix string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status: got %d, want %d", resp.StatusCode, status)
	}
	line := string(body)
	if !strings.HasPrefix(line, wantPrefix) || !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
		t.Errorf("body: got %q, want one line starting %q", line, wantPrefix)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type: got %q", ct)
	}
	x := e.col.next(t)
	if x.Response.Status != status || string(x.Response.Body.Bytes) != line {
		t.Errorf("recorded: %d %q, want %d %q", x.Response.Status, x.Response.Body.Bytes, status, line)
	}
	if !errors.Is(x.Err, ErrUpstream) || x.Err.Error() != strings.TrimSuffix(line, "\n") {
		t.Errorf("recorded Err: %v, want the reason, matching ErrUpstream", x.Err)
	}
	w := e.warnings()
	if len(w) != 1 || !strings.Contains(w[0], strings.TrimSuffix(line, "\n")[:len(wantPrefix)]) {
		t.Errorf("warnings: got %q, want one with the reason", w)
	}
	if s := e.srvLog.String(); s != "" {
		t.Errorf("server error log: %q", s)
	}
}

// TestUpstreamDown starts the proxy with its upstream down, then brings
// the upstream up, then down again: the proxy answers 502 with a one-line
// reason while it is down and forwards while it is up, and CheckUpstream
// tells which.
func TestUpstreamDown(t *testing.T) {
	addr := freeAddr(t)
	u := &url.URL{Scheme: "http", Host: addr}
	forEachMode(t, func(t *testing.T, m mode) {
		e := newEnv(t, u.String(), m, nil)
		err := CheckUpstream(context.Background(), u)
		want := "bodytap proxy: upstream " + addr + " unreachable: connect: connection refused"
		if err == nil || err.Error() != want || !errors.Is(err, ErrUpstream) || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("CheckUpstream: got %v, want %q matching ErrUpstream and ECONNREFUSED", err, want)
		}
		resp, body := e.get(t, "/down", nil)
		checkUpstreamError(t, e, resp, body, http.StatusBadGateway, want)

		// Up.
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot listen on %s again: %v", addr, err)
		}
		up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "up")
		}))
		up.Listener.Close()
		up.Listener = l
		up.Start()
		if err := CheckUpstream(context.Background(), u); err != nil {
			t.Errorf("CheckUpstream with the upstream up: %v", err)
		}
		resp, body = e.get(t, "/up", nil)
		if resp.StatusCode != 200 || string(body) != "up" {
			t.Errorf("with the upstream up: got %d %q", resp.StatusCode, body)
		}
		if x := e.col.next(t); x.Err != nil || x.Response.Status != 200 {
			t.Errorf("recorded: %d, Err %v", x.Response.Status, x.Err)
		}

		// Down again.
		up.Close()
		resp, body = e.get(t, "/down-again", nil)
		if resp.StatusCode != http.StatusBadGateway || !strings.HasPrefix(string(body), "bodytap proxy: upstream "+addr) {
			t.Errorf("with the upstream down again: got %d %q", resp.StatusCode, body)
		}
		if x := e.col.next(t); !errors.Is(x.Err, ErrUpstream) || x.Response.Status != http.StatusBadGateway {
			t.Errorf("recorded: %d, Err %v", x.Response.Status, x.Err)
		}
	})
}

// TestUpstreamTimeout checks that an upstream slower than
// Config.ResponseHeaderTimeout gets the client a 504.
func TestUpstreamTimeout(t *testing.T) {
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}), false)
	forEachMode(t, func(t *testing.T, m mode) {
		e := newEnv(t, up.URL, m, func(c *Config) { c.ResponseHeaderTimeout = 100 * time.Millisecond })
		resp, body := e.get(t, "/slow", nil)
		host := strings.TrimPrefix(up.URL, "http://")
		checkUpstreamError(t, e, resp, body, http.StatusGatewayTimeout,
			"bodytap proxy: upstream "+host+" timed out: net/http: timeout awaiting response headers")
	})
}

// TestUpstreamGarbage checks the reason given for an upstream that does not
// speak HTTP.
func TestUpstreamGarbage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Read(make([]byte, 4096))
				io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n\x00\x01 binary\r\n\r\n")
			}()
		}
	}()
	e := newEnv(t, "http://"+l.Addr().String(), h1, nil)
	resp, body := e.get(t, "/", nil)
	checkUpstreamError(t, e, resp, body, http.StatusBadGateway, "bodytap proxy: upstream "+l.Addr().String()+" failed: ")
}

// TestUpstreamBrokeOff: an upstream that breaks off its response mid-body.
// The client sees the response break (not a complete short one), one
// warning is logged, and the record says the upstream broke it off.
func TestUpstreamBrokeOff(t *testing.T) {
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(make([]byte, 10000))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}), false)
	forEachMode(t, func(t *testing.T, m mode) {
		e := newEnv(t, up.URL, m, nil)
		resp, err := e.client.Get(e.url("/broken"))
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("client read %d bytes and no error, want the response to break", n)
		}
		x := e.col.next(t)
		if !errors.Is(x.Err, ErrUpstream) || !errors.Is(x.Err, bodytap.ErrAborted) || !strings.Contains(x.Err.Error(), "broke off the response") {
			t.Errorf("recorded Err: %v, want the upstream breaking off, matching ErrUpstream and bodytap.ErrAborted", x.Err)
		}
		if x.Response.Status != 200 || x.Response.Body.Size != 10000 {
			t.Errorf("recorded: status %d, %d bytes; want 200, 10000", x.Response.Status, x.Response.Body.Size)
		}
		if w := e.warnings(); len(w) != 1 || !strings.Contains(w[0], "broke off the response") {
			t.Errorf("warnings: got %q, want one", w)
		}
	})
}

func TestNewRejects(t *testing.T) {
	mustParse := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"NoUpstream", Config{}, "no upstream"},
		{"Scheme", Config{Upstream: mustParse("ftp://host/")}, "scheme must be http or https"},
		{"NoHost", Config{Upstream: mustParse("http:///path")}, "no host"},
		{"Credentials", Config{Upstream: mustParse("http://user:pw@host/")}, "credentials"},
		{"SpillDir", Config{Upstream: mustParse("http://host/"), Tap: bodytap.Config{SpillDir: t.TempDir()}}, "SpillDir"},
		{"TransportAndInsecure", Config{Upstream: mustParse("https://host/"), Transport: http.DefaultTransport, InsecureSkipVerify: true}, "default transport only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.cfg)
			if err == nil {
				p.Close()
				t.Fatalf("New: no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pw") {
				t.Errorf("New: got %q, want it to contain %q (and no password)", err, tc.want)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"two\nlines\r\n", "two lines  "},
		{"nul\x00and\x7fdel", "nul and del"},
		{strings.Repeat("é", 200), strings.Repeat("é", maxReason/2) + "..."},
	} {
		if got := oneLine(tc.in); got != tc.want {
			t.Errorf("oneLine(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// timeoutErr is a net.Error that timed out.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestDescribe(t *testing.T) {
	dial := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 80}, Err: err}
	}
	for _, tc := range []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"Refused", dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), 502,
			"bodytap proxy: upstream h:80 unreachable: connect: connection refused"},
		{"DialTimeout", dial(timeoutErr{}), 504,
			"bodytap proxy: upstream h:80 timed out: i/o timeout"},
		{"DNS", &net.DNSError{Err: "no such host", Name: "nosuch.invalid", IsNotFound: true}, 502,
			"bodytap proxy: upstream h:80 unreachable: lookup nosuch.invalid: no such host"},
		{"Deadline", context.DeadlineExceeded, 504,
			"bodytap proxy: upstream h:80 timed out: context deadline exceeded"},
		{"URLErrorHidesQuery", &url.Error{Op: "Get", URL: "http://h/x?token=secret", Err: errors.New("EOF")}, 502,
			"bodytap proxy: upstream h:80 failed: EOF"},
		{"MultiLine", errors.New("malformed\r\nresponse"), 502,
			"bodytap proxy: upstream h:80 failed: malformed  response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, msg := describe("h:80", tc.err)
			if status != tc.status || msg != tc.want {
				t.Errorf("got %d %q, want %d %q", status, msg, tc.status, tc.want)
			}
		})
	}
}
