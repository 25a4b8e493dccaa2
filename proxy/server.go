package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// NewTransport returns the transport [New] uses when Config.Transport is
// nil, for upstream: a clone of http.DefaultTransport that
//   - never compresses nor decompresses (DisableCompression): the upstream
//     gets the client's Accept-Encoding or none, and the client gets the
//     upstream's bytes as they were;
//   - connects to the upstream directly, ignoring HTTP_PROXY and
//     HTTPS_PROXY;
//   - speaks HTTP/2 to https upstreams that offer it (ForceAttemptHTTP2,
//     kept with a custom TLS configuration);
//   - keeps up to 256 idle connections to the upstream (MaxIdleConnsPerHost;
//     the default of 2 would make a busy proxy dial for most requests);
//   - gives up connecting after 10 s and on a TLS handshake after 10 s,
//     waits 1 s for a 100 Continue, closes idle connections after 90 s,
//     and sets no limit on waiting for response headers (see
//     Config.ResponseHeaderTimeout) nor on the exchange as a whole, so
//     that long polls, streams and large transfers work;
//   - with insecureSkipVerify, accepts any certificate.
func NewTransport(upstream *url.URL, insecureSkipVerify bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.DisableCompression = true
	t.ForceAttemptHTTP2 = upstream != nil && upstream.Scheme == "https"
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ExpectContinueTimeout = time.Second
	if insecureSkipVerify {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return t
}

// Timeouts and limits of the server [NewServer] returns.
const (
	ServerReadHeaderTimeout = 10 * time.Second
	ServerIdleTimeout       = 2 * time.Minute
	ServerMaxHeaderBytes    = 1 << 20
)

// NewServer returns a server for h (a [Proxy]) on addr, configured so that
// slow or idle clients cannot exhaust it without cutting off legitimate
// long transfers:
//   - ReadHeaderTimeout (10 s): a client must send its request headers
//     promptly, so a slowloris client cannot hold connections open;
//   - IdleTimeout (2 min): idle keep-alive connections are closed;
//   - MaxHeaderBytes (1 MiB): request headers are bounded.
//
// It sets no ReadTimeout and no WriteTimeout: those bound the whole request
// body and the whole response, and would kill long uploads, large
// downloads, Server-Sent Events and WebSockets passing through the proxy.
// A client that stops reading holds its connection and one upstream
// request, but no more memory than the copy buffers.
//
// It speaks HTTP/1.1 and HTTP/2 with prior knowledge over cleartext (h2c),
// and HTTP/2 over TLS when served with ListenAndServeTLS or ServeTLS. Its
// ErrorLog is nil: the log package's standard logger.
func NewServer(addr string, h http.Handler) *http.Server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	protos.SetUnencryptedHTTP2(true)
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: ServerReadHeaderTimeout,
		IdleTimeout:       ServerIdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
		Protocols:         &protos,
	}
}

// CheckUpstream dials u's host (on the scheme's port when u names none)
// and reports whether it accepts connections, for a warning at start: the
// proxy starts and serves whether the upstream is up or not. It neither
// sends a request nor checks TLS. Without a deadline in ctx it gives up
// after 5 s. Its error matches [ErrUpstream] and reads like the body of
// the proxy's 502, e.g. "bodytap proxy: upstream 127.0.0.1:9 unreachable:
// connect: connection refused".
func CheckUpstream(ctx context.Context, u *url.URL) error {
	if u == nil || u.Host == "" {
		return fmt.Errorf("%w: no upstream host", ErrUpstream)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		_, msg := describe(u.Host, err)
		return &upstreamError{msg: msg, err: err}
	}
	return c.Close()
}
