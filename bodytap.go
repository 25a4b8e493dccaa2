package bodytap

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bodytap/bodytap/internal/queue"
	"github.com/bodytap/bodytap/internal/redact"
	"github.com/bodytap/bodytap/internal/spill"
	"github.com/bodytap/bodytap/internal/wrap"
)

// DefaultMaxBodyBytes is the number of bytes kept per body when
// [Config.MaxBodyBytes] is zero.
const DefaultMaxBodyBytes = 64 << 10

// Default bounds of the delivery queue, used when [Config.QueueLen] and
// [Config.QueueBytes] are zero.
const (
	DefaultQueueLen   = 1 << 16
	DefaultQueueBytes = 64 << 20
)

// Errors recorded in [Exchange.Err]. Some are wrapped with details; test
// for them with errors.Is.
var (
	// ErrClientGone: the request's context ended before the handler
	// returned, because the client closed the connection or reset the
	// stream (or the server shut down).
	ErrClientGone = errors.New("bodytap: client went away")

	// ErrHandlerPanic: the handler panicked. The wrapping error carries the
	// panic value. The panic itself goes on up to the server unchanged.
	ErrHandlerPanic = errors.New("bodytap: handler panicked")

	// ErrAborted: the handler aborted the response by panicking with
	// http.ErrAbortHandler.
	ErrAborted = errors.New("bodytap: handler aborted the response")

	// ErrHijacked: the handler hijacked the connection; what it wrote to
	// the connection afterwards is not captured.
	ErrHijacked = errors.New("bodytap: connection hijacked")

	// ErrClosed is returned by [Tap.Close] when called more than once.
	ErrClosed = errors.New("bodytap: tap already closed")

	// ErrShed is the [Body.Err] of a withheld body copy that was dropped
	// on the request path because the sink was behind: the queue already
	// held most of Config.QueueBytes (see there). The exchange itself was
	// recorded.
	ErrShed = errors.New("bodytap: body copy dropped: the sink was behind")
)

// ErrorFromText rebuilds an [Exchange.Err] or a [Body.Err] from its text,
// as JSON Lines (package jsonl), HAR files and the store keep it: text
// made by wrapping one of the Tap's sentinel errors ([ErrClientGone],
// [ErrHandlerPanic], [ErrAborted], [ErrHijacked], [ErrShed]) wraps it
// again, so that errors.Is finds it. Empty text gives nil.
func ErrorFromText(s string) error {
	if s == "" {
		return nil
	}
	for _, sentinel := range []error{ErrClientGone, ErrHandlerPanic, ErrAborted, ErrHijacked, ErrShed} {
		m := sentinel.Error()
		if s == m {
			return sentinel
		}
		if rest, ok := strings.CutPrefix(s, m+": "); ok {
			return fmt.Errorf("%w: %s", sentinel, rest)
		}
	}
	return errors.New(s)
}

// A Sink receives finished exchanges. Record is called from a single
// delivery goroutine, one exchange at a time, never on the request path: a
// slow sink delays other records, never a response. Once Record is called
// the Exchange belongs to the sink (to the sinks of a [Multi] together,
// read-only).
//
// A Record that panics is recovered and counted in [Stats.SinkPanics]; the
// exchange is lost and delivery goes on with the next one.
type Sink interface {
	Record(x *Exchange)
}

// A BatchSink is a [Sink] that can take several exchanges at once, as a
// store that writes each batch in one transaction. When the Tap's sink has
// RecordBatch, the delivery goroutine calls it instead of Record with the
// exchanges it took from the queue together, in the order they finished;
// a batch is never empty. Under load batches grow by themselves: the
// exchanges that finished while the sink wrote the last batch are the
// next one.
//
// The slice is the Tap's and is reused after RecordBatch returns: the
// sink must not keep it (nor change it). The exchanges belong to the
// sink, as with Record. A RecordBatch that panics is recovered and
// counted once in [Stats.SinkPanics]; the exchanges of the batch are lost
// and not counted in [Stats.Delivered].
type BatchSink interface {
	Sink
	RecordBatch(xs []*Exchange)
}

// A ReusingSink is a [Sink] that can promise what
// [Config.ReuseExchanges] promises: that it keeps nothing of an Exchange
// once its Record (or RecordBatch) has returned. When the Tap's sink is a
// ReusingSink whose ReusesExchanges reports true, and Redaction.Func is
// nil, the Tap reuses exchanges as if ReuseExchanges were set; the
// functions of [Annotate] must then keep nothing of an exchange either.
// The JSON Lines writer and the [SlogSink] are ReusingSinks, and so is a
// [Multi] or a [Filter] of ReusingSinks whose ReusesExchanges all report
// true.
type ReusingSink interface {
	Sink
	ReusesExchanges() bool
}

// reuses reports whether s promises to keep nothing of an exchange.
func reuses(s Sink) bool {
	rs, ok := s.(ReusingSink)
	return ok && rs.ReusesExchanges()
}

// SinkFunc adapts a function to a [Sink].
type SinkFunc func(x *Exchange)

// Record calls f(x).
func (f SinkFunc) Record(x *Exchange) { f(x) }

// Config configures a [Tap]. The zero Config is valid: it captures every
// request with the default caps and discards the exchanges.
type Config struct {
	// Sink receives every finished exchange. Nil discards them (Stats
	// still count them).
	Sink Sink

	// MaxBodyBytes is how many bytes of each body (request and response
	// alike) are kept in Body.Bytes; bytes past it are counted in
	// Body.Size but not kept. Zero means DefaultMaxBodyBytes (64 KiB);
	// a negative value keeps no bytes but still counts sizes.
	MaxBodyBytes int64

	// MaxRequestBodyBytes and MaxResponseBodyBytes, when not zero, replace
	// MaxBodyBytes for request bodies and response bodies respectively.
	MaxRequestBodyBytes  int64
	MaxResponseBodyBytes int64

	// SpillDir, if set, lets copies go on past the memory caps into
	// temporary files in this directory, so that a sink can read a whole
	// large body through Body.Open. Each body may spill MaxSpillBytes
	// (0: DefaultMaxSpillBytes, 1 GiB) and all spill files together
	// SpillQuota (0: DefaultSpillQuota, 8 GiB); past either, or when the
	// disk is full, the copy stops and Body.Truncated is set, and the
	// response is untouched. Files are removed by Body.Release, when a
	// record is dropped, when an Exchange is garbage collected, and by
	// New for files an earlier process left in SpillDir: give each Tap a
	// directory of its own. Spill files hold the body bytes as captured,
	// before redaction, with mode 0600.
	SpillDir      string
	MaxSpillBytes int64
	SpillQuota    int64

	// Rules choose, per exchange, whether to capture it, keep only its
	// headers, or skip it; see [Rule]. The first rule that matches
	// decides; with none matching (or no rules) everything is captured.
	Rules []Rule

	// Sampling keeps only a fraction of the exchanges; see [Sampling].
	// The zero value keeps all.
	Sampling Sampling

	// Skip, when it returns true, lets the request pass with no wrapping
	// at all: the handler gets the original ResponseWriter and Request,
	// and nothing is recorded. Nil skips nothing. It runs on the request
	// path: keep it cheap.
	Skip func(r *http.Request) bool

	// BeforeHeaders, if set, runs on the request path just before the
	// final response headers are sent (on the handler's first Write,
	// Flush, ReadFrom or non-1xx WriteHeader, or when it returns without
	// having written), with the status about to be sent and the live
	// header map. Changes it makes to h reach the client. elapsed is the
	// time since the Tap received the request: it is how to add the
	// question's X-Process-Time header, which a middleware could not set
	// after calling the next handler because by then the headers are
	// gone. It does not run for 1xx responses nor after a hijack. It runs
	// again in the rare case that a ReadFrom (io.Copy) copied nothing, as
	// the headers then have not gone out yet.
	BeforeHeaders func(r *http.Request, status int, h http.Header, elapsed time.Duration)

	// Route returns the route pattern recorded in Exchange.Route. It runs
	// after the handler has returned, so routers that fill the pattern in
	// while routing (into the request or its context) are seen. Nil uses
	// http.Request.Pattern, set by the Go 1.22+ ServeMux.
	Route func(r *http.Request) string

	// Trace returns the trace context recorded in Exchange.Trace, from the
	// request as the Tap receives it (its context, say, where an outer
	// tracing middleware put the active span). It runs on the request
	// path: keep it cheap. Nil, or an answer with ok false, uses the
	// request's W3C traceparent header. Package oteltrace supplies it for
	// OpenTelemetry, and covers the Tap outside the tracing middleware
	// too.
	Trace func(r *http.Request) (tc TraceContext, ok bool)

	// Redact configures what is hidden before any sink sees an exchange.
	// The zero value hides credentials in headers, cookies, query strings
	// and common body fields; set Redact.Disabled to keep everything.
	Redact Redaction

	// Decode undoes content codings (gzip, br, ...) of captured copies so
	// that they can be redacted and read. Nil handles gzip and deflate with
	// the standard library; package decode adds br and zstd. The same hook,
	// with the same default, decodes the bodies that package rewrite hands
	// to its function (rewrite.Config.Decode).
	Decode DecodeFunc

	// DecodeLimit bounds a decoded copy, against decompression bombs. Zero
	// means 4 MiB.
	DecodeLimit int64

	// QueueLen and QueueBytes bound the queue of exchanges waiting for the
	// sink: by count, and by the bytes of body copies they hold. When
	// either is reached, new exchanges are dropped and counted in
	// Stats.Dropped; the request path never waits. Zero means
	// DefaultQueueLen (65,536) and DefaultQueueBytes (64 MiB). Each
	// exchange counts its body copies plus 2 KiB for the rest of its
	// record against QueueBytes, which by default is the bound that holds
	// first (about 16,000 exchanges with 1 KiB bodies); the queue's memory
	// grows only as far as a backlog needs.
	//
	// Bodies go before records: once the queue holds 7/8 of QueueBytes,
	// an exchange whose body copies would take it past that goes in
	// without them (each Body withheld, with ErrShed; counted in
	// Stats.Shed), so that the last eighth holds records, about 4,000 of
	// them by default, while the sink catches up, and a sink that is
	// slow because of what it does with bodies (redaction, above all)
	// gets less of them to do. Not with a QueueWait, which asks for
	// everything, late rather than lost.
	QueueLen   int
	QueueBytes int64

	// QueueWait is how long the request path may wait for room in a full
	// queue before it drops the exchange. Zero, the default, never waits:
	// a slow or stuck sink costs dropped captures, never slower responses.
	// A positive wait trades that for completeness: when captures arrive
	// faster than the sink takes them, requests finish up to QueueWait
	// later instead of losing their record (the capturing proxy, which
	// promises to lose nothing, sets it). The wait happens after the
	// handler returned, before the server completes the response.
	QueueWait time.Duration

	// ReuseExchanges promises that the sink keeps nothing of an Exchange
	// once its Record (or RecordBatch) has returned: neither the
	// Exchange nor what it points to (body copies, header maps, the URL),
	// and no other goroutine still reads them; Annotate functions and
	// Redaction.Func keep nothing of it either. The Tap then reuses that
	// memory for later requests instead of allocating it for each one,
	// which for small bodies is most of what a capture costs: the
	// garbage collector has a fraction of the bytes to clear and sweep.
	// A sink that writes each exchange out as it gets it (encodes it,
	// logs it, copies what it needs) can promise it; one that collects
	// exchanges, or hands them to another goroutine, must not. False,
	// the default, gives every Exchange to its sink for good, unless the
	// sink makes the promise itself (see [ReusingSink]).
	ReuseExchanges bool
}

// A Tap is a middleware that tees request and response bodies as they
// stream and hands each finished [Exchange] to a [Sink]. Create one with
// [New]; it is safe for concurrent use. Call [Tap.Close] to deliver what is
// queued and stop.
type Tap struct {
	sink          Sink
	reqMax        int64
	respMax       int64
	rules         []Rule
	sampling      Sampling
	spill         *spill.Dir
	skip          func(*http.Request) bool
	beforeHeaders func(*http.Request, int, http.Header, time.Duration)
	route         func(*http.Request) string
	trace         func(*http.Request) (TraceContext, bool)

	redact      Redaction
	scrub       redact.Options // the rules of redact, for the scanners
	decode      DecodeFunc
	decodeLimit int64

	reuse bool // Config.ReuseExchanges, or promised by the sink

	// The queue's weight past which bodies are shed; 0: never. Read by
	// every request, so among the settings: next to what the delivery
	// goroutine writes, it would cost the request path a cache miss.
	shedMark int64

	q     *queue.Queue[*Exchange]
	stock stock         // rws for the next requests, when the Tap reuses exchanges
	done  chan struct{} // closed when the delivery goroutine has finished

	// Counted on the request path; the queue counts the exchanges
	// captured and dropped.
	skipped    atomic.Int64
	sampledOut atomic.Int64
	shed       atomic.Int64

	// Counted by the delivery goroutine alone, on a cache line of their
	// own, so that the request path never has to fetch it.
	_          [64]byte
	delivered  atomic.Int64
	sinkPanics atomic.Int64
}

// Stats counts what a [Tap] has done since it was created.
type Stats struct {
	Captured   int64 // exchanges finished and handed to the queue (or dropped)
	Skipped    int64 // exchanges not recorded because Config.Skip or a Skip rule said so
	SampledOut int64 // exchanges not recorded because of Config.Sampling
	Delivered  int64 // exchanges the sink's Record (or RecordBatch) returned from
	Dropped    int64 // exchanges dropped: queue full (count or bytes) or Tap closed
	Shed       int64 // exchanges recorded without their body copies, the queue being nearly full (ErrShed)
	SinkPanics int64 // calls to Record (or RecordBatch) that panicked
	Queued     int   // exchanges waiting for the sink now

	// DroppedClosed is the part of Dropped that finished after Close;
	// the rest found the queue full.
	DroppedClosed int64

	// QueuedBytes is what the Queued exchanges count against
	// Config.QueueBytes: their body copies plus 2 KiB each.
	QueuedBytes int64
}

// New returns a Tap configured by c and starts its delivery goroutine.
func New(c Config) *Tap {
	t := &Tap{
		sink:          c.Sink,
		reqMax:        c.MaxRequestBodyBytes,
		respMax:       c.MaxResponseBodyBytes,
		rules:         append([]Rule(nil), c.Rules...),
		sampling:      c.Sampling,
		skip:          c.Skip,
		beforeHeaders: c.BeforeHeaders,
		route:         c.Route,
		trace:         c.Trace,
		redact:        c.Redact,
		scrub:         c.Redact.options(),
		decode:        c.Decode,
		decodeLimit:   c.DecodeLimit,
		reuse:         c.ReuseExchanges || c.Redact.Func == nil && reuses(c.Sink),
	}
	if c.SpillDir != "" {
		t.spill = spill.New(c.SpillDir, cmp.Or(max(c.MaxSpillBytes, 0), DefaultMaxSpillBytes), cmp.Or(max(c.SpillQuota, 0), DefaultSpillQuota))
	}
	if t.decodeLimit <= 0 {
		t.decodeLimit = DefaultDecodeLimit
	}
	max := c.MaxBodyBytes
	if max == 0 {
		max = DefaultMaxBodyBytes
	}
	if t.reqMax == 0 {
		t.reqMax = max
	}
	if t.respMax == 0 {
		t.respMax = max
	}
	if t.route == nil {
		t.route = func(r *http.Request) string { return r.Pattern }
	}
	n, b := c.QueueLen, c.QueueBytes
	if n <= 0 {
		n = DefaultQueueLen
	}
	if b <= 0 {
		b = DefaultQueueBytes
	}
	if c.QueueWait <= 0 {
		t.shedMark = b - b/8
	}
	t.q, t.done = queue.New[*Exchange](n, b, c.QueueWait), make(chan struct{})
	go t.deliver()
	return t
}

// Stats returns the Tap's counters.
func (t *Tap) Stats() Stats {
	n := t.q.Counts()
	return Stats{
		Captured:   n.Pushed + n.Refused,
		Skipped:    t.skipped.Load(),
		SampledOut: t.sampledOut.Load(),
		Delivered:  t.delivered.Load(),
		Dropped:    n.Refused,
		Shed:       t.shed.Load(),
		SinkPanics: t.sinkPanics.Load(),
		Queued:     t.q.Len(),

		DroppedClosed: n.RefusedClosed,
		QueuedBytes:   t.q.Bytes(),
	}
}

// Close stops accepting exchanges, waits until the sink has been given
// every queued one, and returns. Exchanges finishing after Close are
// dropped and counted. If the sink is stuck, Close waits for it. Closing a
// Tap twice returns ErrClosed.
func (t *Tap) Close() error {
	if !t.q.Close() {
		return ErrClosed
	}
	<-t.done
	return nil
}

// Handler returns next wrapped by the Tap. Its signature makes tap.Handler
// a plain func(http.Handler) http.Handler, usable directly as chi or
// gorilla middleware.
func (t *Tap) Handler(next http.Handler) http.Handler {
	return &handler{t: t, next: next}
}

type handler struct {
	t    *Tap
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := h.t
	if t.skip != nil && t.skip(r) {
		t.skipped.Add(1)
		h.next.ServeHTTP(w, r)
		return
	}
	action, decided := Capture, true
	if len(t.rules) > 0 {
		action, decided = decide(t.rules, atRequest, r, 0, nil, 0, 0)
		if decided && action == Skip {
			t.skipped.Add(1)
			h.next.ServeHTTP(w, r)
			return
		}
	}
	sampled := true
	if t.sampling.active() {
		sampled = t.sampling.pick()
		if !sampled && !t.sampling.keepsAny() {
			// Nothing found later could bring this one back.
			t.sampledOut.Add(1)
			h.next.ServeHTTP(w, r)
			return
		}
	}
	reqMax, respMax := t.reqMax, t.respMax
	if decided && action == HeadersOnly {
		reqMax, respMax = -1, -1
	}
	var c *rw
	if t.reuse {
		c = t.stock.get()
	} else {
		c = rwPool.Get().(*rw)
	}
	body := r.Body
	hasBody := body != nil && body != http.NoBody
	var (
		hd *hold // where the handler's writer and request copy live
		ws *wrap.State
		x  *Exchange
	)
	vals := c.own.vals[:]
	if t.reuse {
		x = &c.own.x
		if hasBody {
			hd = new(hold)
			ws = &hd.ws
		} else {
			ws = new(wrap.State)
		}
	} else {
		rec := new(record)
		hd, ws, x, vals = &rec.hold, &rec.ws, &rec.x, rec.vals[:]
	}
	ww := wrap.New(ws, c, w)
	c.begin(t, ws, x, vals, w, r, respMax)
	c.action, c.decided, c.sampled = action, decided, sampled
	hr := r
	if hasBody {
		// The handler gets a shallow copy whose Body is the tee. The
		// server goes on looking at its own Request's Body (to answer
		// 100-continue, to drain or not what the handler left, to close
		// the connection), and must find it as it was.
		c.req.reset(reqMax, buffer(c.reqInline[:], &c.own.reqSpare), t.spill)
		if r.ContentLength > 0 {
			c.req.hint = r.ContentLength
		}
		hd.body.init(body, &c.req)
		hd.hreq = *r
		hd.hreq.Body = &hd.body
		c.body = &hd.body
		hr = &hd.hreq
	}
	defer c.finish(hr)
	h.next.ServeHTTP(ww, hr)
	c.returned = true
}
