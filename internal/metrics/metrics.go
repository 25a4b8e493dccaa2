// Package metrics describes bodytap's counters and gauges once, for the
// two ways they leave a process: the Prometheus text format the CLI's
// servers write on /metrics ([WriteText]), and the OpenTelemetry metrics
// API (package otelmetrics).
//
// Names are in OpenTelemetry's dotted form with a UCUM unit
// ("bodytap.queue.size", "By"); [Family.PromName] turns them into
// Prometheus names the way OpenTelemetry's Prometheus exporter does
// (bodytap_queue_size_bytes), so that both routes give the same series.
package metrics

import (
	"strings"

	"github.com/bodytap/bodytap"
)

// Kind says how a Family's values move.
type Kind uint8

const (
	Counter Kind = iota // only grows, from the start of the process
	Gauge               // a level: goes up and down
)

// A Family is one metric: a name, and the samples Read reports, one per
// value of its Label (or one without a label).
type Family struct {
	Name  string // dotted, such as "bodytap.exchanges.captured"
	Unit  string // UCUM: "{exchange}", "By", "s"
	Help  string // one line
	Kind  Kind
	Label string // the key of its one label; "" for none

	// Read reports the current samples to observe, which it calls once
	// per label value (with "" when Label is ""). It is called at each
	// scrape or collection, from any goroutine.
	Read func(observe func(v float64, label string))
}

// PromName is the family's Prometheus name: dots become underscores, the
// unit "By" adds "_bytes" and "s" adds "_seconds", and counters end in
// "_total".
func (f *Family) PromName() string {
	n := strings.ReplaceAll(f.Name, ".", "_")
	switch f.Unit {
	case "By":
		n += "_bytes"
	case "s":
		n += "_seconds"
	}
	if f.Kind == Counter {
		n += "_total"
	}
	return n
}

// One returns a Read that reports v() without a label.
func One(v func() float64) func(func(float64, string)) {
	return func(observe func(float64, string)) { observe(v(), "") }
}

// Tap returns the families of a Tap's Stats, which stats reads.
func Tap(stats func() bodytap.Stats) []Family {
	count := func(name, help string, v func(s bodytap.Stats) int64) Family {
		return Family{Name: name, Unit: "{exchange}", Help: help, Kind: Counter,
			Read: One(func() float64 { return float64(v(stats())) })}
	}
	return []Family{
		count("bodytap.exchanges.captured", "Exchanges finished and handed to the queue (or dropped).",
			func(s bodytap.Stats) int64 { return s.Captured }),
		count("bodytap.exchanges.skipped", "Exchanges not recorded because a Skip rule said so.",
			func(s bodytap.Stats) int64 { return s.Skipped }),
		count("bodytap.exchanges.sampled_out", "Exchanges not recorded because of sampling.",
			func(s bodytap.Stats) int64 { return s.SampledOut }),
		count("bodytap.exchanges.delivered", "Exchanges the sink took.",
			func(s bodytap.Stats) int64 { return s.Delivered }),
		{Name: "bodytap.exchanges.dropped", Unit: "{exchange}", Kind: Counter, Label: "reason",
			Help: `Exchanges dropped before the sink: the queue was full ("queue_full") or the tap closed ("closed").`,
			Read: func(observe func(float64, string)) {
				s := stats()
				observe(float64(s.Dropped-s.DroppedClosed), "queue_full")
				observe(float64(s.DroppedClosed), "closed")
			}},
		count("bodytap.exchanges.shed", "Exchanges recorded without their body copies, which were dropped because the queue was nearly full.",
			func(s bodytap.Stats) int64 { return s.Shed }),
		{Name: "bodytap.sink.panics", Unit: "{call}", Kind: Counter,
			Help: "Calls of the sink that panicked; their exchanges are lost.",
			Read: One(func() float64 { return float64(stats().SinkPanics) })},
		{Name: "bodytap.queue.exchanges", Unit: "{exchange}", Kind: Gauge,
			Help: "Exchanges waiting for the sink (in the proxy: for the store), the batch being written included.",
			Read: One(func() float64 { return float64(stats().Queued) })},
		{Name: "bodytap.queue.size", Unit: "By", Kind: Gauge,
			Help: "What the queued exchanges count against the queue's byte bound: their bodies plus 2 KiB each.",
			Read: One(func() float64 { return float64(stats().QueuedBytes) })},
	}
}
