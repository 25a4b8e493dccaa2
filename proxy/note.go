package proxy

import (
	"fmt"
	"net/http"

	"github.com/bodytap/bodytap"
)

// The proxy knows things about an exchange that the Tap cannot see: that
// the client went away (the Tap sees only ReverseProxy's abort), that the
// upstream failed (the Tap sees a 502 like any other), that the
// connection switched protocols (the Tap sees only a hijack). It notes
// them in the request's state on the way, and hands them to the record
// with bodytap.Annotate before the handler returns.

// noteKind is what a note tells.
type noteKind uint8

const (
	noteNone     noteKind = iota
	noteGone              // the client went away
	noteUpstream          // the upstream failed; the proxy answered 502 or 504 with the note's message
	noteBroken            // the upstream broke off its response mid-body
	noteUpgraded          // the upstream switched protocols (101) and the connection was handed over
)

// annotate hands the request's note, if it has one, to the record of the
// exchange w belongs to. It must run before the handler returns.
func (st *state) annotate(w http.ResponseWriter) {
	if st.note == noteNone {
		return
	}
	kind, msg := st.note, st.msg
	bodytap.Annotate(w, func(x *bodytap.Exchange) { applyNote(x, kind, msg) })
}

// applyNote tells x what a note of this kind and message says.
func applyNote(x *bodytap.Exchange, kind noteKind, msg string) {
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

// tidyHeader removes from the recorded response header the names present
// with no value: they stopped the server from adding a header of its own
// (see modifyResponse) and were not sent. It runs in the delivery
// goroutine, before any sink.
func tidyHeader(x *bodytap.Exchange) {
	for k, v := range x.Response.Header {
		if v == nil {
			delete(x.Response.Header, k)
		}
	}
}
