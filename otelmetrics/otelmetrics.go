// Package otelmetrics reports a [bodytap.Tap]'s counters and gauges
// through the OpenTelemetry metrics API, for programs that use the Tap as
// middleware and already export metrics with an OpenTelemetry SDK:
//
//	reg, err := otelmetrics.Register(otel.Meter("bodytap"), tap)
//	...
//	defer reg.Unregister()
//
// The instruments are observable: the SDK reads [bodytap.Tap.Stats] when
// it collects, and the request path pays nothing. They are the series the
// bodytap proxy serves on /metrics, with the same names once an
// OpenTelemetry Prometheus exporter has translated them:
//
//	bodytap.exchanges.captured     counter   {exchange}
//	bodytap.exchanges.skipped      counter   {exchange}
//	bodytap.exchanges.sampled_out  counter   {exchange}
//	bodytap.exchanges.delivered    counter   {exchange}
//	bodytap.exchanges.dropped      counter   {exchange}, attribute reason: queue_full or closed
//	bodytap.exchanges.shed         counter   {exchange}, recorded without their body copies (queue nearly full)
//	bodytap.sink.panics            counter   {call}
//	bodytap.queue.exchanges        up-down   {exchange}, waiting for the sink
//	bodytap.queue.size             up-down   By, what they count against Config.QueueBytes
package otelmetrics

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/metrics"
)

// Register makes the instruments of tap's counters and gauges in meter
// and registers the callback that observes them. Unregister the returned
// Registration to stop observing (before the Tap goes away, or to
// register another). It fails only when meter refuses an instrument.
func Register(meter metric.Meter, tap *bodytap.Tap) (metric.Registration, error) {
	return register(meter, metrics.Tap(tap.Stats))
}

// instrument is a family and the instrument that reports it.
type instrument struct {
	fam *metrics.Family
	i64 metric.Int64Observable
	f64 metric.Float64Observable
}

func register(meter metric.Meter, fams []metrics.Family) (metric.Registration, error) {
	ins := make([]instrument, len(fams))
	obs := make([]metric.Observable, len(fams))
	for i := range fams {
		f := &fams[i]
		in := &ins[i]
		in.fam = f
		var err error
		switch {
		case f.Unit == "s" && f.Kind == metrics.Counter:
			in.f64, err = meter.Float64ObservableCounter(f.Name, metric.WithUnit(f.Unit), metric.WithDescription(f.Help))
		case f.Unit == "s":
			in.f64, err = meter.Float64ObservableUpDownCounter(f.Name, metric.WithUnit(f.Unit), metric.WithDescription(f.Help))
		case f.Kind == metrics.Counter:
			in.i64, err = meter.Int64ObservableCounter(f.Name, metric.WithUnit(f.Unit), metric.WithDescription(f.Help))
		default:
			in.i64, err = meter.Int64ObservableUpDownCounter(f.Name, metric.WithUnit(f.Unit), metric.WithDescription(f.Help))
		}
		if err != nil {
			return nil, fmt.Errorf("otelmetrics: %s: %w", f.Name, err)
		}
		if in.f64 != nil {
			obs[i] = in.f64
		} else {
			obs[i] = in.i64
		}
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range ins {
			in := &ins[i]
			in.fam.Read(func(v float64, label string) {
				var opts []metric.ObserveOption
				if in.fam.Label != "" {
					opts = []metric.ObserveOption{metric.WithAttributes(attribute.String(in.fam.Label, label))}
				}
				if in.f64 != nil {
					o.ObserveFloat64(in.f64, v, opts...)
				} else {
					o.ObserveInt64(in.i64, int64(v), opts...)
				}
			})
		}
		return nil
	}, obs...)
	if err != nil {
		return nil, fmt.Errorf("otelmetrics: register: %w", err)
	}
	return reg, nil
}
