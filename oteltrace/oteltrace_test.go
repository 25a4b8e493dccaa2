package oteltrace_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/oteltrace"
)

// TestEitherOrder runs a real otelhttp server span around or inside a Tap
// and checks the exchange's trace context against the span otelhttp
// ended: the trace ID the client sent, the server span's own ID.
func TestEitherOrder(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for _, order := range []string{"tap inside otelhttp", "tap outside otelhttp"} {
		t.Run(order, func(t *testing.T) {
			spans := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
			defer tp.Shutdown(context.Background())
			opts := []otelhttp.Option{otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagation.TraceContext{})}

			got := make(chan *bodytap.Exchange, 1)
			sink := bodytap.SinkFunc(func(x *bodytap.Exchange) { got <- x })
			var h http.Handler
			var tap *bodytap.Tap
			if order == "tap inside otelhttp" {
				tap = bodytap.New(bodytap.Config{Sink: sink, Trace: oteltrace.FromRequest})
				h = otelhttp.NewHandler(tap.Handler(app), "server", opts...)
			} else {
				tap = bodytap.New(bodytap.Config{Sink: sink})
				h = tap.Handler(otelhttp.NewHandler(oteltrace.Handler(app), "server", opts...))
			}
			defer tap.Close()
			srv := httptest.NewServer(h)
			defer srv.Close()

			const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header.Set("Traceparent", parent)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			var x *bodytap.Exchange
			select {
			case x = <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("no exchange delivered")
			}
			ended := spans.Ended()
			if len(ended) != 1 {
				t.Fatalf("%d spans ended, want the server span", len(ended))
			}
			sc := ended[0].SpanContext()
			if x.Trace.TraceID != sc.TraceID() || x.Trace.SpanID != sc.SpanID() || x.Trace.Flags != byte(sc.TraceFlags()) {
				t.Errorf("exchange trace %s, want the server span %s-%s", x.Trace, sc.TraceID(), sc.SpanID())
			}
			if x.Trace.String()[3:35] != parent[3:35] {
				t.Errorf("trace ID %s, want the client's %s", x.Trace.String()[3:35], parent[3:35])
			}
		})
	}
}

// TestNoSpan: without a span the Tap keeps the request's traceparent.
func TestNoSpan(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if _, ok := oteltrace.FromRequest(r); ok {
		t.Error("FromRequest found a span in a bare request")
	}
}
