package otelmetrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/otelmetrics"
)

// TestRegister: an SDK's reader collects what the Tap counted, and
// nothing once the registration is gone.
func TestRegister(t *testing.T) {
	stuck := make(chan struct{})
	tap := bodytap.New(bodytap.Config{QueueLen: 1, Sink: bodytap.SinkFunc(func(*bodytap.Exchange) { <-stuck })})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	reg, err := otelmetrics.Register(provider.Meter("bodytap"), tap)
	if err != nil {
		t.Fatal(err)
	}

	got := collect(t, reader)
	want := map[string]int64{
		"bodytap.exchanges.captured":                   3,
		"bodytap.exchanges.dropped{reason=queue_full}": 2,
		"bodytap.exchanges.dropped{reason=closed}":     0,
		"bodytap.exchanges.shed":                       0,
		"bodytap.exchanges.delivered":                  0,
		"bodytap.queue.exchanges":                      1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %d, want %d", k, got[k], v)
		}
	}
	if got["bodytap.queue.size"] < 2<<10 {
		t.Errorf("bodytap.queue.size: got %d, want at least 2 KiB", got["bodytap.queue.size"])
	}

	close(stuck)
	tap.Close()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	got = collect(t, reader)
	if got["bodytap.exchanges.delivered"] != 1 || got["bodytap.exchanges.dropped{reason=closed}"] != 1 || got["bodytap.queue.exchanges"] != 0 {
		t.Errorf("after Close: %v", got)
	}

	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, reader); len(got) != 0 {
		t.Errorf("after Unregister: %v", got)
	}
}

// collect returns the int64 data points by "name" or "name{key=value}".
func collect(t *testing.T, r sdkmetric.Reader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int64)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var dps []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				dps = d.DataPoints
			default:
				t.Fatalf("%s: data %T", m.Name, m.Data)
			}
			for _, dp := range dps {
				key := m.Name
				for _, kv := range dp.Attributes.ToSlice() {
					key += "{" + string(kv.Key) + "=" + kv.Value.String() + "}"
				}
				out[key] = dp.Value
			}
		}
	}
	return out
}
