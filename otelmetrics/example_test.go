package otelmetrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/otelmetrics"
)

func ExampleRegister() {
	tap := bodytap.New(bodytap.Config{})
	reader := sdkmetric.NewManualReader() // in a program: a periodic reader and an exporter
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	reg, err := otelmetrics.Register(provider.Meter("bodytap"), tap)
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()

	h := tap.Handler(http.NotFoundHandler())
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	tap.Close()

	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "bodytap.exchanges.captured" {
			fmt.Println(m.Name, m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
		}
	}
	// Output: bodytap.exchanges.captured 1
}
