package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// TestNewServerSettings checks the limits NewServer sets, and those it
// must not set.
func TestNewServerSettings(t *testing.T) {
	s := NewServer(":0", http.NotFoundHandler())
	if s.ReadHeaderTimeout != ServerReadHeaderTimeout || s.IdleTimeout != ServerIdleTimeout || s.MaxHeaderBytes != ServerMaxHeaderBytes {
		t.Errorf("ReadHeaderTimeout %v, IdleTimeout %v, MaxHeaderBytes %d", s.ReadHeaderTimeout, s.IdleTimeout, s.MaxHeaderBytes)
	}
	if s.ReadTimeout != 0 || s.WriteTimeout != 0 {
		t.Errorf("ReadTimeout %v, WriteTimeout %v: would cut long uploads and streams", s.ReadTimeout, s.WriteTimeout)
	}
	if p := s.Protocols; p == nil || !p.HTTP1() || !p.HTTP2() || !p.UnencryptedHTTP2() {
		t.Errorf("Protocols: %v, want HTTP/1, HTTP/2 and h2c", p)
	}
}

// TestNewServerSlowHeaders checks that a client that does not finish its
// request headers is cut off after ReadHeaderTimeout (shortened here).
func TestNewServerSlowHeaders(t *testing.T) {
	s := NewServer("127.0.0.1:0", http.NotFoundHandler())
	s.ReadHeaderTimeout = 200 * time.Millisecond
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	defer s.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n") // and no more
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	io.Copy(io.Discard, c) // until the server closes
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("connection held %v, want it closed after about 200ms", d)
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(tb testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bodytap test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestNewServerTLS serves a proxy the way the CLI does with a certificate,
// ServeTLS: clients get HTTP/2, and HTTP/1.1 when they ask for it.
func TestNewServerTLS(t *testing.T) {
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), false)
	u, _ := url.Parse(up.URL)
	p, err := New(Config{Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(l.Addr().String(), p)
	go s.ServeTLS(l, certFile, keyFile)
	defer s.Close()
	for _, tc := range []struct {
		name  string
		h2    bool
		proto int
	}{{"HTTP2", true, 2}, {"HTTP1", false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: tc.h2}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get("https://" + l.Addr().String() + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != tc.proto || string(body) != "ok" {
				t.Errorf("got %s %q, want HTTP/%d %q", resp.Proto, body, tc.proto, "ok")
			}
		})
	}
}

// TestShutdownOrder runs the documented shutdown: Shutdown waits for the
// requests in flight, Close then delivers every queued exchange to a slow
// sink before it returns, and a second Close reports it.
func TestShutdownOrder(t *testing.T) {
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "ok")
	}), false)
	u, _ := url.Parse(up.URL)
	var recorded atomic.Int64
	sink := bodytap.SinkFunc(func(x *bodytap.Exchange) {
		time.Sleep(5 * time.Millisecond) // a slow store
		recorded.Add(1)
	})
	p, err := New(Config{Upstream: u, Tap: bodytap.Config{Sink: sink}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(l.Addr().String(), p)
	go s.Serve(l)

	const n = 40
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	done := make(chan error, n)
	for range n {
		go func() {
			resp, err := (&http.Client{Transport: tr}).Get("http://" + l.Addr().String() + "/")
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			done <- err
		}()
	}
	for range n {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if recorded.Load() != n || st.Delivered != n || st.Dropped != 0 || st.Queued != 0 {
		t.Errorf("after Close: recorded %d, Stats %+v; want all %d delivered", recorded.Load(), st, n)
	}
	if err := p.Close(); !errors.Is(err, bodytap.ErrClosed) {
		t.Errorf("second Close: got %v, want %v", err, bodytap.ErrClosed)
	}
}

// TestDefaultTransport checks the transport New makes.
func TestDefaultTransport(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:9/")
	p, err := New(Config{Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tr, ok := p.rp.Transport.(*http.Transport)
	if !ok || !tr.DisableCompression || tr.Proxy != nil || tr.MaxIdleConnsPerHost < 100 || tr.ForceAttemptHTTP2 || tr.ResponseHeaderTimeout != 0 {
		t.Errorf("default transport for http: %+v", tr)
	}
	if tr := NewTransport(&url.URL{Scheme: "https", Host: "x"}, true); !tr.ForceAttemptHTTP2 || !tr.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("https transport: ForceAttemptHTTP2 %t, InsecureSkipVerify %t", tr.ForceAttemptHTTP2, tr.TLSClientConfig.InsecureSkipVerify)
	}
}

// TestCustomRoute checks that a Config.Tap.Route of the caller's is
// recorded, next to what the proxy records of its own.
func TestCustomRoute(t *testing.T) {
	route := func(r *http.Request) string { return "route:" + r.URL.Path }
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), false)
	e := newEnv(t, up.URL, h1, func(c *Config) { c.Tap.Route = route })
	e.get(t, "/a", nil)
	if x := e.col.next(t); x.Route != "route:/a" || x.Err != nil {
		t.Errorf("recorded Route %q, Err %v; want %q, nil", x.Route, x.Err, "route:/a")
	}
	down := newEnv(t, "http://"+freeAddr(t), h1, func(c *Config) { c.Tap.Route = route })
	down.get(t, "/b", nil)
	if x := down.col.next(t); x.Route != "route:/b" || !errors.Is(x.Err, ErrUpstream) {
		t.Errorf("recorded Route %q, Err %v; want %q, an upstream error", x.Route, x.Err, "route:/b")
	}
}
