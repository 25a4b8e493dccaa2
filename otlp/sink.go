package otlp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/bodytap/bodytap"
)

// Defaults of [Config].
const (
	DefaultMaxQueue      = 2048
	DefaultMaxQueueBytes = 16 << 20
	DefaultInterval      = time.Second
	DefaultCloseTimeout  = 30 * time.Second
)

// ErrClosed is what [Sink.Close] returns when called more than once.
var ErrClosed = errors.New("otlp: sink closed")

// Config configures a [Sink]. The zero value exports over OTLP/HTTP to
// the endpoint the standard OTEL_EXPORTER_OTLP_* environment variables
// name, else to http://localhost:4318.
type Config struct {
	// URL is where to send the records: "http://host:4318" or
	// "https://host:4318" for OTLP/HTTP (with protobuf; the path
	// /v1/logs is added unless the URL has a path), "grpc://host:4317"
	// for OTLP/gRPC in plain text, "grpcs://host:4317" for OTLP/gRPC over
	// TLS. Empty means the exporter's defaults, which the
	// OTEL_EXPORTER_OTLP_* environment variables set.
	URL string

	// Headers are sent with every export request, such as
	// {"Authorization": "Bearer TOKEN"} for bodytap collect --token.
	Headers map[string]string

	// Exporter, if not nil, is used instead of the exporter URL names:
	// another transport, or a test's.
	Exporter sdklog.Exporter

	// Resource describes the process the exchanges come from (its
	// service.name, host.name, ...). Nil means resource.Default(): the
	// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME environment and the
	// SDK's own attributes.
	Resource *resource.Resource

	// MaxQueue is the most records waiting to be exported; past it
	// records are dropped and counted (Stats.Dropped). 0 means
	// DefaultMaxQueue.
	MaxQueue int

	// MaxQueueBytes bounds the bytes of body copies (and about 1 KiB for
	// the rest of each record) waiting to be exported; past it records
	// are dropped and counted. A record alone larger than the bound is
	// still sent when nothing else waits. It also bounds the size of an
	// export request, which receivers cap (bodytap collect at 64 MiB,
	// the OpenTelemetry Collector at 20 MiB over HTTP and 4 MiB over
	// gRPC by default). 0 means DefaultMaxQueueBytes.
	MaxQueueBytes int64

	// Interval is the longest a record waits before it is exported.
	// 0 means DefaultInterval.
	Interval time.Duration

	// CloseTimeout bounds how long Close waits for the last exports.
	// 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration
}

// Stats counts what a [Sink] did with the exchanges it was given.
type Stats struct {
	Exported int64 // records the receiver accepted
	Failed   int64 // records whose export failed after the exporter's retries
	Dropped  int64 // records never sent: the queue was full, or the sink closed
	Queued   int64 // records waiting to be exported, or being exported
	Bytes    int64 // bytes counted against MaxQueueBytes for the Queued records
}

// Sink is a [bodytap.Sink] and [bodytap.BatchSink] that exports each
// exchange as one OTLP LogRecord (see the package doc for its form) through
// the OpenTelemetry log SDK: a BatchProcessor batches the records and an
// OTLP exporter sends them, retrying with backoff when the receiver is
// unavailable. Record never waits for the network: when records come
// faster than they can be sent, those past MaxQueue or MaxQueueBytes are
// dropped and counted.
//
// The exchanges are exported as the Tap hands them over, so they are
// redacted as the Tap's [bodytap.Config.Redaction] says.
//
// A Sink is safe for concurrent use. Call Close when done, after the Tap's
// Close, to export what is queued.
type Sink struct {
	provider *sdklog.LoggerProvider
	logger   log.Logger
	maxQueue int64
	maxBytes int64
	timeout  time.Duration

	// mu makes the queue check and the count one step.
	mu            sync.Mutex
	queued, bytes int64
	closed        bool

	exported, failed, dropped atomic.Int64
}

var (
	_ bodytap.Sink      = (*Sink)(nil)
	_ bodytap.BatchSink = (*Sink)(nil)
)

// New returns a Sink that exports as cfg says. It does not connect: an
// unreachable receiver shows as failed exports, not as an error here.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	exp := cfg.Exporter
	if exp == nil {
		var err error
		if exp, err = newExporter(ctx, cfg.URL, cfg.Headers); err != nil {
			return nil, err
		}
	}
	s := &Sink{
		maxQueue: int64(cfg.MaxQueue),
		maxBytes: cfg.MaxQueueBytes,
		timeout:  cfg.CloseTimeout,
	}
	if s.maxQueue <= 0 {
		s.maxQueue = DefaultMaxQueue
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxQueueBytes
	}
	if s.timeout <= 0 {
		s.timeout = DefaultCloseTimeout
	}
	interval := cfg.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	res := cfg.Resource
	if res == nil {
		res = resource.Default()
	}
	// The processor's queue holds at least MaxQueue records, so that it
	// never overwrites one: the Sink drops (and counts) them first.
	proc := sdklog.NewBatchProcessor(&countingExporter{Exporter: exp, s: s},
		sdklog.WithMaxQueueSize(int(s.maxQueue)),
		sdklog.WithExportMaxBatchSize(min(int(s.maxQueue), 512)),
		sdklog.WithExportInterval(interval))
	s.provider = sdklog.NewLoggerProvider(
		sdklog.WithProcessor(proc),
		sdklog.WithResource(res),
		// Bodies are bounded by the Tap's caps; the environment's
		// OTEL_LOGRECORD_ATTRIBUTE_* limits would cut them silently.
		sdklog.WithAttributeValueLengthLimit(-1),
		sdklog.WithAttributeCountLimit(-1),
		// Keys are unique by construction (attributes, header names);
		// the SDK's check for duplicates was half the cost of a record.
		sdklog.WithAllowKeyDuplication())
	s.logger = s.provider.Logger("github.com/bodytap/bodytap/otlp")
	return s, nil
}

// newExporter returns the OTLP exporter that rawURL names.
func newExporter(ctx context.Context, rawURL string, headers map[string]string) (sdklog.Exporter, error) {
	if rawURL == "" {
		exp, err := otlploghttp.New(ctx, otlploghttp.WithHeaders(headers))
		if err != nil {
			return nil, err
		}
		return unreachableRetrier{exp}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("otlp: endpoint %q: want a URL such as http://localhost:4318 or grpc://localhost:4317", rawURL)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		opts := []otlploghttp.Option{otlploghttp.WithEndpoint(u.Host)}
		if u.Path != "" && u.Path != "/" {
			opts = append(opts, otlploghttp.WithURLPath(u.Path))
		}
		if u.Scheme == "http" {
			opts = append(opts, otlploghttp.WithInsecure())
		}
		if len(headers) > 0 {
			opts = append(opts, otlploghttp.WithHeaders(headers))
		}
		exp, err := otlploghttp.New(ctx, opts...)
		if err != nil {
			return nil, err
		}
		return unreachableRetrier{exp}, nil
	case "grpc", "grpcs":
		opts := []otlploggrpc.Option{otlploggrpc.WithEndpoint(u.Host)}
		if u.Scheme == "grpc" {
			opts = append(opts, otlploggrpc.WithInsecure())
		}
		if len(headers) > 0 {
			opts = append(opts, otlploggrpc.WithHeaders(headers))
		}
		return otlploggrpc.New(ctx, opts...)
	}
	return nil, fmt.Errorf("otlp: endpoint %q: scheme must be http, https, grpc or grpcs", rawURL)
}

// recordOverhead is what a record counts against MaxQueueBytes besides
// its body copies.
const recordOverhead = 1 << 10

func weight(x *bodytap.Exchange) int64 {
	return recordOverhead + int64(len(x.Request.Body.Bytes)+len(x.Response.Body.Bytes))
}

// weightOf is weight for a record made by NewRecord.
func weightOf(r *sdklog.Record) int64 {
	w := int64(recordOverhead)
	r.WalkAttributes(func(kv log.KeyValue) bool {
		switch kv.Key {
		case keyReqContent, keyRespContent:
			if kv.Value.Kind() == log.KindString {
				w += int64(len(kv.Value.AsString()))
			} else {
				w += int64(len(kv.Value.AsBytes()))
			}
		case prefixReqBody + bodyEncoded, prefixRespBody + bodyEncoded,
			prefixReqBody + bodyTail, prefixRespBody + bodyTail:
			w += int64(len(kv.Value.AsBytes()))
		}
		return true
	})
	return w
}

// Record exports x, or drops it if the queue is full.
func (s *Sink) Record(x *bodytap.Exchange) {
	if x == nil {
		return
	}
	if !s.admit(weight(x)) {
		s.dropped.Add(1)
		return
	}
	ctx, r := NewRecord(context.Background(), x)
	s.logger.Emit(ctx, r)
}

// RecordBatch exports xs as Record does each.
func (s *Sink) RecordBatch(xs []*bodytap.Exchange) {
	for _, x := range xs {
		s.Record(x)
	}
}

// admit counts a record of weight w as queued, unless the queue is full or
// the sink closed.
func (s *Sink) admit(w int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.queued >= s.maxQueue || (s.queued > 0 && s.bytes+w > s.maxBytes) {
		return false
	}
	s.queued++
	s.bytes += w
	return true
}

// release counts records as no longer queued.
func (s *Sink) release(n, w int64) {
	s.mu.Lock()
	s.queued -= n
	s.bytes -= w
	if s.queued <= 0 {
		s.queued, s.bytes = 0, 0
	}
	s.mu.Unlock()
}

// Flush exports what is queued, and returns when it has been or ctx is
// done.
func (s *Sink) Flush(ctx context.Context) error {
	if err := s.provider.ForceFlush(ctx); err != nil {
		return fmt.Errorf("otlp: flush: %w", err)
	}
	return nil
}

// Close exports what is queued, waiting at most Config.CloseTimeout,
// and stops the sink. Records it is given afterwards are dropped and
// counted. What could not be exported in time is counted as dropped.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	err := s.provider.Shutdown(ctx)
	s.mu.Lock()
	s.dropped.Add(s.queued)
	s.queued, s.bytes = 0, 0
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("otlp: close: %w", err)
	}
	return nil
}

// Stats reports counts since New.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	queued, bytes := s.queued, s.bytes
	s.mu.Unlock()
	return Stats{
		Exported: s.exported.Load(),
		Failed:   s.failed.Load(),
		Dropped:  s.dropped.Load(),
		Queued:   queued,
		Bytes:    bytes,
	}
}

// countingExporter counts what the exporter it wraps did, and releases the
// records from the Sink's queue.
type countingExporter struct {
	sdklog.Exporter
	s *Sink
}

func (e *countingExporter) Export(ctx context.Context, records []sdklog.Record) error {
	err := e.Exporter.Export(ctx, records)
	var w int64
	for i := range records {
		w += weightOf(&records[i])
	}
	n := int64(len(records))
	if err != nil {
		e.s.failed.Add(n)
	} else {
		e.s.exported.Add(n)
	}
	e.s.release(n, w)
	return err
}
