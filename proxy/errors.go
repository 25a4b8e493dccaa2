package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ErrUpstream is matched (with errors.Is) by the Exchange.Err of every
// exchange the upstream failed: those the proxy answered itself with 502
// or 504, and those whose response the upstream broke off (which match
// bodytap.ErrAborted too). It is matched as well by the errors of
// [CheckUpstream]. The error's text is the one-line reason, the same the
// client got in the body of a 502 or 504.
var ErrUpstream = errors.New("bodytap proxy: upstream failed")

// upstreamError is a failure of the upstream, described in one line.
type upstreamError struct {
	msg string
	err error // the cause, when known (not after the record's round trip)
}

func (e *upstreamError) Error() string        { return e.msg }
func (e *upstreamError) Unwrap() error        { return e.err }
func (e *upstreamError) Is(target error) bool { return target == ErrUpstream }

// describe returns the status and the one-line reason (without a newline)
// for err, a failure of the transport to get a response from host.
func describe(host string, err error) (int, string) {
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		unkErr  x509.UnknownAuthorityError
		alert   tls.AlertError
		recErr  tls.RecordHeaderError
	)
	text := oneLine(cause(err))
	switch {
	case isTimeout(err):
		return http.StatusGatewayTimeout, fmt.Sprintf("bodytap proxy: upstream %s timed out: %s", host, text)
	case errors.As(err, &dnsErr), errors.As(err, &opErr) && opErr.Op == "dial":
		return http.StatusBadGateway, fmt.Sprintf("bodytap proxy: upstream %s unreachable: %s", host, text)
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &unkErr),
		errors.As(err, &alert), errors.As(err, &recErr):
		return http.StatusBadGateway, fmt.Sprintf("bodytap proxy: upstream %s TLS handshake failed: %s", host, text)
	}
	return http.StatusBadGateway, fmt.Sprintf("bodytap proxy: upstream %s failed: %s", host, text)
}

// isTimeout reports whether err is a timeout: a dial or read deadline, the
// transport's ResponseHeaderTimeout, a request context's deadline.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// cause returns the text of err without what the reason already says or
// must not say: the request URL of a *url.Error (its query may hold a
// secret) and the addresses of a *net.OpError (the reason names the
// upstream already).
func cause(err error) string {
	for {
		var ue *url.Error
		if !errors.As(err, &ue) {
			break
		}
		err = ue.Err
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	return err.Error()
}

// maxReason bounds the reason sent to the client, so that an upstream's
// malformed response quoted in an error cannot make it long.
const maxReason = 300

// oneLine makes s fit on one line of at most maxReason bytes.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxReason {
		s = strings.ToValidUTF8(s[:maxReason], "") + "..."
	}
	return s
}
