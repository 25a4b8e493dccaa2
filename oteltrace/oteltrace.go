// Package oteltrace connects bodytap to OpenTelemetry tracing: it records
// in each [bodytap.Exchange] the IDs of the server span that an
// OpenTelemetry-instrumented server (otelhttp, say) made for the request,
// so that a capture and its trace can be found from each other.
//
// Either order of the middlewares works:
//
//	// The Tap inside the tracing middleware: the span is in the request's
//	// context when the Tap receives it.
//	tap := bodytap.New(bodytap.Config{Trace: oteltrace.FromRequest})
//	handler := otelhttp.NewHandler(tap.Handler(app), "server")
//
//	// The Tap outside: the span is made after the Tap has seen the
//	// request, so Handler, innermost, tells the Tap's record about it.
//	handler := tap.Handler(otelhttp.NewHandler(oteltrace.Handler(app), "server"))
//
// Without either, the Tap records the traceparent header the request
// carried: the same trace ID, with the caller's span ID.
package oteltrace

import (
	"net/http"

	"go.opentelemetry.io/otel/trace"

	"github.com/bodytap/bodytap"
)

// FromRequest returns the trace context of the span active in r's
// context, for [bodytap.Config.Trace]; ok is false when there is none.
func FromRequest(r *http.Request) (tc bodytap.TraceContext, ok bool) {
	sc := trace.SpanContextFromContext(r.Context())
	if !sc.IsValid() {
		return tc, false
	}
	return bodytap.TraceContext{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Flags: byte(sc.TraceFlags())}, true
}

// Handler returns next wrapped so that the span active when a request
// reaches it is recorded in the exchange of a Tap outside it (found with
// [bodytap.Annotate] through the ResponseWriter's Unwrap chain). Put it
// innermost, inside the tracing middleware. With no span, or no Tap
// outside, it does nothing.
func Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tc, ok := FromRequest(r); ok {
			bodytap.Annotate(w, func(x *bodytap.Exchange) { x.Trace = tc })
		}
		next.ServeHTTP(w, r)
	})
}
