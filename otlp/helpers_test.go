package otlp_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchangetest"
	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/otlp"
)

// memSink keeps what it is given.
type memSink struct {
	mu sync.Mutex
	xs []*bodytap.Exchange
}

func (s *memSink) Record(x *bodytap.Exchange) { s.RecordBatch([]*bodytap.Exchange{x}) }

func (s *memSink) RecordBatch(xs []*bodytap.Exchange) {
	s.mu.Lock()
	s.xs = append(s.xs, xs...)
	s.mu.Unlock()
}

func (s *memSink) all() []*bodytap.Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*bodytap.Exchange(nil), s.xs...)
}

// receiver is a Receiver served over real HTTP and gRPC on loopback.
type receiver struct {
	*otlp.Receiver
	sink    *memSink
	httpURL string // http://127.0.0.1:port
	grpcURL string // grpc://127.0.0.1:port
}

func startReceiver(tb testing.TB, token string) *receiver {
	tb.Helper()
	rv := &receiver{sink: new(memSink)}
	rv.Receiver = &otlp.Receiver{Sink: rv.sink, Token: token}
	mux := http.NewServeMux()
	mux.Handle("POST "+otlp.LogsPath, rv.Receiver)
	hs := httptest.NewServer(mux)
	tb.Cleanup(hs.Close)
	rv.httpURL = hs.URL
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	gs := rv.GRPCServer()
	go gs.Serve(l)
	tb.Cleanup(gs.Stop)
	rv.grpcURL = "grpc://" + l.Addr().String()
	return rv
}

// newSink returns a Sink exporting to url, closed at the end of the test.
func newSink(tb testing.TB, cfg otlp.Config) *otlp.Sink {
	tb.Helper()
	s, err := otlp.New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func flush(tb testing.TB, s *otlp.Sink) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
}

// same fails tb unless got is want read back: every field the store
// keeps, and the trace context and detectors.
func same(tb testing.TB, got, want *bodytap.Exchange) {
	tb.Helper()
	exchangetest.Same(tb, got, want)
	if got.Trace != want.Trace {
		tb.Errorf("Trace: got %v, want %v", got.Trace, want.Trace)
	}
	if got.Detected != want.Detected {
		tb.Errorf("Detected: got %v, want %v", got.Detected, want.Detected)
	}
	gj, gerr := jsonl.Marshal(got)
	wj, werr := jsonl.Marshal(want)
	if string(gj) != string(wj) || (gerr == nil) != (werr == nil) {
		tb.Errorf("JSON form:\ngot  %s\nwant %s", gj, wj)
	}
	sameShape(tb, "Request.Header", got.Request.Header == nil, want.Request.Header == nil)
	sameShape(tb, "Response.Header", got.Response.Header == nil, want.Response.Header == nil)
	sameShape(tb, "Response.Trailer", got.Response.Trailer == nil, want.Response.Trailer == nil)
	sameShape(tb, "Response.Informational", got.Response.Informational == nil, want.Response.Informational == nil)
}

func sameShape(tb testing.TB, what string, gotNil, wantNil bool) {
	tb.Helper()
	if gotNil != wantNil {
		tb.Errorf("%s: got nil %v, want nil %v", what, gotNil, wantNil)
	}
}

// full is exchangetest.Full with a trace context and detectors.
func full(tb testing.TB) *bodytap.Exchange {
	x := exchangetest.Full(tb)
	x.Trace, _ = bodytap.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	x.Detected = bodytap.DetectorNamed(bodytap.AllDetectors.Names()[0])
	return x
}
