package otlp_test

import (
	"context"
	"testing"

	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/bodytap/bodytap/otlp"
)

// discardExporter exports nothing, quickly.
type discardExporter struct{}

func (discardExporter) Export(context.Context, []sdklog.Record) error { return nil }
func (discardExporter) Shutdown(context.Context) error                { return nil }
func (discardExporter) ForceFlush(context.Context) error              { return nil }

// BenchmarkSinkRecord is what the Tap's delivery goroutine spends on one
// exchange: making its record and handing it to the SDK's batch queue.
func BenchmarkSinkRecord(b *testing.B) {
	s := newSink(b, otlp.Config{Exporter: discardExporter{}, MaxQueue: 1 << 20, MaxQueueBytes: 1 << 40})
	x := full(b)
	b.ReportAllocs()
	for b.Loop() {
		s.Record(x)
	}
}

// BenchmarkRoundTripHTTP exports batches of exchanges to a Receiver over
// loopback OTLP/HTTP and decodes them back.
func BenchmarkRoundTripHTTP(b *testing.B) {
	rv := startReceiver(b, "")
	s := newSink(b, otlp.Config{URL: rv.httpURL, MaxQueue: 1 << 20, MaxQueueBytes: 1 << 40})
	x := full(b)
	b.ReportAllocs()
	for b.Loop() {
		s.Record(x)
	}
	flush(b, s)
	if st := s.Stats(); st.Dropped+st.Failed > 0 {
		b.Fatalf("stats %+v", st)
	}
}

// BenchmarkFromLogRecord decodes one record back into an exchange.
func BenchmarkFromLogRecord(b *testing.B) {
	c := startCapture(b)
	s := newSink(b, otlp.Config{URL: c.url})
	s.Record(full(b))
	flush(b, s)
	lr := c.records()[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := otlp.FromLogRecord(lr); err != nil {
			b.Fatal(err)
		}
	}
}
