package bodytap

import (
	"net/http"

	"github.com/bodytap/bodytap/internal/wrap"
)

// Annotate arranges for fn to run on the record of the exchange that w
// belongs to, so that a handler (or a middleware inside the Tap) can add
// what only it knows: why it failed, who the user was, a status the Tap
// could not see. w is the ResponseWriter the handler got from a [Tap], or
// one that wraps it and unwraps to it (an Unwrap method returning the
// wrapped writer, as [http.ResponseController] expects).
//
// fn runs once, in the delivery goroutine, after the handler has returned
// and before redaction, [Redaction].Func and the sink, with the record as
// the Tap made it; it may change x freely, except maps it did not make
// (Request.Header is shared with the server). Functions added by several
// calls run in the order they were added. If the exchange is not
// delivered (dropped, or not kept by the rules), fn does not run; if fn
// panics, the exchange is dropped and counted in [Stats].SinkPanics.
//
// Annotate reports whether it found the Tap's writer; it does not when
// the request is not being captured (skipped, sampled out, no Tap). Like
// the ResponseWriter's own methods, it must be called before the handler
// returns, and not concurrently with them.
func Annotate(w http.ResponseWriter, fn func(x *Exchange)) bool {
	for w != nil {
		if core, ok := wrap.CoreOf(w); ok {
			if c, ok := core.(*rw); ok {
				if c.r == nil {
					// Not begun, or finished: the record is no longer
					// the request's.
					return false
				}
				c.x.notes = append(c.x.notes, fn)
				return true
			}
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
	return false
}

// runNotes runs the functions Annotate added to x, once.
func (x *Exchange) runNotes() {
	notes := x.notes
	x.notes = nil
	for _, fn := range notes {
		fn(x)
	}
}
