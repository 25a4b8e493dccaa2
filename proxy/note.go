package proxy

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/bodytap/bodytap"
)

// The proxy knows things about an exchange that the Tap cannot see: that
// the client went away (the Tap sees only ReverseProxy's abort), that the
// upstream failed (the Tap sees a 502 like any other), that the
// connection switched protocols (the Tap sees only a hijack). The Tap
// offers no way to attach them to the record on the request path, but it
// does call Config.Route there, with the request, after the handler has
// returned. So the proxy's Route function returns the note, encoded after
// a prefix no real route can start with, and the proxy's Redact.Func,
// which runs in the delivery goroutine before any sink, decodes it into
// the record and puts the real route back. Nothing else looks at the
// route in between: rules and sampling do not use it.

// noteKind is what a note tells.
type noteKind uint8

const (
	noteNone     noteKind = iota
	noteGone              // the client went away
	noteUpstream          // the upstream failed; the proxy answered 502 or 504 with the note's message
	noteBroken            // the upstream broke off its response mid-body
	noteUpgraded          // the upstream switched protocols (101) and the connection was handed over
)

// notePrefix starts an encoded note: "\x00bodytap-proxy\x00", the kind as a
// digit, the message (one line, no NUL), NUL, and the real route.
const notePrefix = "\x00bodytap-proxy\x00"

// noteRoute returns the Tap's Route function: route's result (empty if
// route is nil), carrying the request's note if it has one.
func noteRoute(route func(*http.Request) string) func(*http.Request) string {
	return func(r *http.Request) string {
		s := ""
		if route != nil {
			s = route(r)
		}
		st := stateFrom(r.Context())
		if st == nil || st.note == noteNone {
			return s
		}
		return fmt.Sprintf("%s%d%s\x00%s", notePrefix, st.note, strings.ReplaceAll(st.msg, "\x00", ""), s)
	}
}

// applyNote decodes the note in x.Route, if any, into x, and tidies the
// response header. It runs in the delivery goroutine, before any sink.
func applyNote(x *bodytap.Exchange) {
	// A header present with no value stopped the server from adding it
	// (see modifyResponse); it was not sent.
	for k, v := range x.Response.Header {
		if v == nil {
			delete(x.Response.Header, k)
		}
	}
	rest, ok := strings.CutPrefix(x.Route, notePrefix)
	if !ok || rest == "" {
		return
	}
	kind := noteKind(rest[0] - '0')
	msg, route, _ := strings.Cut(rest[1:], "\x00")
	x.Route = route
	switch kind {
	case noteGone:
		x.Err = bodytap.ErrClientGone
	case noteUpstream:
		x.Err = &upstreamError{msg: msg}
	case noteBroken:
		x.Err = fmt.Errorf("%w: %w", bodytap.ErrAborted, &upstreamError{msg: msg})
	case noteUpgraded:
		if x.Response.Status == 0 {
			x.Response.Status = http.StatusSwitchingProtocols
		}
	}
}
