package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/bodytap/bodytap"
)

// Capture defaults applied by [New] to [Config].Tap when its fields are
// zero. The queue is larger than the core's defaults because a proxy in
// front of a whole service carries much more traffic than one handler, and
// a dropped record is what the proxy exists to avoid.
const (
	DefaultQueueLen   = 1 << 16
	DefaultQueueBytes = 256 << 20
	// DefaultQueueWait is how long a request waits for room in a full
	// queue before its record is dropped: under overload the proxy slows
	// clients down rather than lose captures, within this bound.
	DefaultQueueWait = 5 * time.Second
)

// Config configures a [Proxy].
type Config struct {
	// Upstream is the base URL requests are forwarded to: http or https,
	// with a host. Its path is a prefix: with an Upstream of
	// http://app:8080/api, a request for /users goes to /api/users. Its
	// query, if any, is added to every request's. Required.
	Upstream *url.URL

	// Tap is the capture policy; Tap.Sink is where exchanges go (the
	// store). New applies these defaults to a copy:
	//   - MaxBodyBytes zero means bodytap.DefaultMaxBodyBytes (64 KiB);
	//     explicit values, negative ones included, are kept.
	//   - QueueLen, QueueBytes and QueueWait zero mean DefaultQueueLen,
	//     DefaultQueueBytes and DefaultQueueWait (a negative QueueWait
	//     never waits).
	//   - SpillDir must be empty: spill files hold bodies before
	//     redaction, and the proxy promises that nothing unredacted
	//     reaches the disk. New returns an error if it is set.
	//   - Redact is left as given: the zero value redacts (see package
	//     bodytap); only an explicit Redact.Disabled turns it off.
	//   - Route, if nil, records an empty route.
	Tap bodytap.Config

	// Transport carries requests to the upstream. Nil means a transport
	// made for the proxy by [NewTransport].
	Transport http.RoundTripper

	// Logger receives upstream failures (Warn) and clients that went away
	// (Debug). Nil means slog.Default().
	Logger *slog.Logger

	// InsecureSkipVerify accepts any certificate from an https upstream,
	// for upstreams with self-signed certificates. It applies to the
	// default transport only: New returns an error if Transport is set
	// too.
	InsecureSkipVerify bool

	// ResponseHeaderTimeout, if positive, is how long the default
	// transport waits for the upstream's response headers once the
	// request is sent; past it the client gets 504. Zero means no limit,
	// which long-polling upstreams need. It applies to the default
	// transport only: New returns an error if Transport is set too.
	ResponseHeaderTimeout time.Duration

	// PreserveHost forwards the client's Host header to the upstream
	// instead of the upstream's own host, for upstreams that serve
	// several virtual hosts. Either way X-Forwarded-Host carries the
	// client's.
	PreserveHost bool
}

// A Proxy is a capturing reverse proxy: an http.Handler that forwards
// every request to one upstream and records each exchange through a
// bodytap Tap. Create one with [New]; it is safe for concurrent use. Call
// [Proxy.Close] once the server serving it has shut down.
type Proxy struct {
	upstream     *url.URL
	preserveHost bool
	log          *slog.Logger
	tap          *bodytap.Tap
	rp           *httputil.ReverseProxy
	handler      http.Handler    // the tap around p.forward
	own          *http.Transport // the transport New made, if it did
}

// New returns a Proxy forwarding to cfg.Upstream, or an error if cfg is
// invalid. It does not contact the upstream: a proxy whose upstream is
// down starts and answers 502 until it comes up (see [CheckUpstream]).
func New(cfg Config) (*Proxy, error) {
	u := cfg.Upstream
	switch {
	case u == nil:
		return nil, errors.New("bodytap proxy: no upstream URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("bodytap proxy: upstream %q: scheme must be http or https", u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("bodytap proxy: upstream %q: no host", u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("bodytap proxy: upstream %q: credentials in the URL are not supported", u.Redacted())
	case cfg.Tap.SpillDir != "":
		return nil, errors.New("bodytap proxy: Tap.SpillDir must be empty: spill files would keep bodies before redaction")
	case cfg.Transport != nil && (cfg.InsecureSkipVerify || cfg.ResponseHeaderTimeout != 0):
		return nil, errors.New("bodytap proxy: InsecureSkipVerify and ResponseHeaderTimeout apply to the default transport only, not to Config.Transport")
	}
	u = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}

	p := &Proxy{upstream: u, preserveHost: cfg.PreserveHost, log: cfg.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	transport := cfg.Transport
	if transport == nil {
		p.own = NewTransport(u, cfg.InsecureSkipVerify)
		p.own.ResponseHeaderTimeout = cfg.ResponseHeaderTimeout
		transport = p.own
	}

	tc := cfg.Tap
	if tc.QueueLen == 0 {
		tc.QueueLen = DefaultQueueLen
	}
	if tc.QueueBytes == 0 {
		tc.QueueBytes = DefaultQueueBytes
	}
	if tc.QueueWait == 0 {
		tc.QueueWait = DefaultQueueWait
	}
	if tc.Route == nil {
		tc.Route = func(*http.Request) string { return "" }
	}
	userFunc := tc.Redact.Func
	if rs, ok := tc.Sink.(bodytap.ReusingSink); ok && userFunc == nil && rs.ReusesExchanges() {
		// The Tap would reuse exchanges for such a sink but for the
		// Redact.Func set next; tidyHeader keeps nothing of them either.
		tc.ReuseExchanges = true
	}
	tc.Redact.Func = func(x *bodytap.Exchange) {
		tidyHeader(x)
		if userFunc != nil {
			userFunc(x)
		}
	}
	p.tap = bodytap.New(tc)

	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: transport,
		// Pass every read from the upstream on at once: the proxy never
		// holds bytes back, whatever the response's type or framing.
		// ReverseProxy flushes after every write of an event stream or
		// a body of unknown length on its own; state.Write flushes
		// those of a body of known length until the last. A flush
		// interval of -1 would do that too, but also start a timer per
		// response that flushes the headers alone, before the body is
		// read: a system call (a packet) more for every response,
		// which for small ones, the most common, is most of the cost
		// of the proxy's writing to the client.
		BufferPool:     newBufferPool(),
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
		// ReverseProxy logs only upstream read errors mid-body here;
		// aborted logs them as warnings, with the request they belong
		// to, so these are kept for debugging.
		ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	p.handler = p.tap.Handler(http.HandlerFunc(p.forward))
	return p, nil
}

// ServeHTTP forwards r to the upstream and records the exchange.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &state{}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	if r.ProtoMajor == 1 && r.Body != nil && r.Body != http.NoBody {
		st.body.rc = r.Body
		r.Body = &st.body
	}
	p.handler.ServeHTTP(w, r)
	if st.body.stop() {
		endConnection(w)
	}
}

// Close closes the Tap: it waits until every queued exchange has been
// given to the sink, then stops, and closes the idle upstream connections
// of the default transport. Call it after the server has shut down
// (http.Server.Shutdown returns once in-flight requests are done), and
// before closing the sink:
//
//	srv.Shutdown(ctx) // stop accepting, wait for in-flight requests
//	p.Close()         // deliver what is queued to the sink
//	store.Close()     // then close the sink
//
// Exchanges finishing after Close are dropped and counted in
// Stats().Dropped. A second Close returns bodytap.ErrClosed.
func (p *Proxy) Close() error {
	err := p.tap.Close()
	if p.own != nil {
		p.own.CloseIdleConnections()
	}
	return err
}

// Stats returns the counters of the proxy's Tap.
func (p *Proxy) Stats() bodytap.Stats { return p.tap.Stats() }

// forward is the handler inside the Tap: w is the Tap's ResponseWriter and
// r carries the request's state.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	st := stateFrom(r.Context())
	st.ResponseWriter = w
	st.head = r.Method == http.MethodHead
	if r.ProtoMajor == 2 && r.Body != nil && r.Body != http.NoBody {
		st.reqBody = r.Body
	}
	// HTTP/1.x servers otherwise read away the rest of the request body
	// when the response starts, under the transport still sending it
	// upstream: an upstream that answers before it has read the whole
	// body (an echo, a streaming API) would lose bytes or hang.
	// HTTP/2 is full duplex already and reports ErrNotSupported.
	_ = http.NewResponseController(w).EnableFullDuplex()

	returned := false
	defer func() {
		if !returned {
			// ReverseProxy panics with http.ErrAbortHandler when the
			// response breaks off mid-body; the server closes the
			// connection without ending the response properly.
			p.aborted(r, st)
		}
		st.annotate(w)
	}()
	p.rp.ServeHTTP(st, r)
	returned = true
}

// rewrite makes the outbound request.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	// Rewrite mode drops query parameters it cannot parse (a ';', a bad
	// escape); the upstream gets the query exactly as the client sent it.
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery
	// The request's declared trailers arrive after its body, into the
	// inbound request's map; Out has a copy made before, which would stay
	// empty. The transport reads the map once it has sent the body.
	if pr.In.Trailer != nil {
		pr.Out.Trailer = pr.In.Trailer
	}
	if n := pr.In.ContentLength; n > 0 && n <= smallBody && pr.In.Header.Get("Expect") == "" {
		pr.Out.Body = readSmall(pr.In.Body, n)
	}
	pr.SetURL(p.upstream)
	if p.preserveHost {
		pr.Out.Host = pr.In.Host
	}
	pr.SetXForwarded()
}

// modifyResponse prepares the forwarding of the upstream's response.
func (p *Proxy) modifyResponse(res *http.Response) error {
	st := stateFrom(res.Request.Context())
	if st == nil {
		return nil
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// ReverseProxy hijacks the connection and copies both ways;
		// the Tap sees no status of its own.
		st.setNote(noteUpgraded, "")
		return nil
	}
	// The server adds Date and a sniffed Content-Type to responses that
	// lack them; a header present with no value stops it, and sends
	// nothing.
	h := st.Header()
	for _, k := range suppressed {
		if _, ok := res.Header[k]; !ok {
			h[k] = nil
		}
	}
	if res.Request.Method == http.MethodHead {
		// A response to HEAD has no body, so no trailers: announcing
		// them would make ReverseProxy flush after the end, which over
		// HTTP/2 fails (the stream ended with the headers) and records
		// a write error for a response that went out whole.
		res.Trailer = nil
	}
	if res.ContentLength > 0 && res.Request.Method != http.MethodHead {
		st.left = res.ContentLength
	}
	res.Body = &upstreamBody{ReadCloser: res.Body, st: st, res: res}
	return nil
}

// suppressed lists the response headers the server would add on its own.
var suppressed = [...]string{"Date", "Content-Type"}

// errorHandler answers a request the upstream could not answer, with 502,
// or 504 for a timeout, and a one-line reason; for a client that went
// away, it sends nothing.
func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	st := stateFrom(r.Context())
	if st.hijacked {
		// A protocol switch failed after the connection was taken
		// over: there is no response left to write.
		st.setNote(noteUpstream, fmt.Sprintf("bodytap proxy: upgraded connection to upstream %s: %s", p.upstream.Host, oneLine(err.Error())))
		p.log.LogAttrs(r.Context(), slog.LevelWarn, st.msg, slog.String("method", r.Method), slog.String("path", r.URL.Path))
		return
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		// The client went away (or the server is closing): nobody to
		// answer, nothing worth a warning. Aborting makes the server
		// close the connection instead of sending an implied 200.
		st.setNote(noteGone, "")
		p.log.LogAttrs(r.Context(), slog.LevelDebug, "bodytap proxy: client went away before the upstream answered",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("err", err.Error()))
		panic(http.ErrAbortHandler)
	}
	status, msg := describe(p.upstream.Host, err)
	st.setNote(noteUpstream, msg)
	p.log.LogAttrs(r.Context(), slog.LevelWarn, msg,
		slog.Int("status", status), slog.String("method", r.Method), slog.String("path", r.URL.Path))
	h := w.Header()
	for _, k := range suppressed {
		if v, ok := h[k]; ok && v == nil {
			delete(h, k)
		}
	}
	h.Del("Content-Length")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// aborted notes why the response broke off, and logs it.
func (p *Proxy) aborted(r *http.Request, st *state) {
	switch {
	case st.note != noteNone:
		// errorHandler has said it.
	case st.writeErr() != nil || r.Context().Err() != nil:
		st.setNote(noteGone, "")
		p.log.LogAttrs(r.Context(), slog.LevelDebug, "bodytap proxy: client went away during the response",
			slog.String("method", r.Method), slog.String("path", r.URL.Path))
	case st.rerr != nil:
		msg := fmt.Sprintf("bodytap proxy: upstream %s broke off the response: %s", p.upstream.Host, oneLine(cause(st.rerr)))
		st.setNote(noteBroken, msg)
		p.log.LogAttrs(r.Context(), slog.LevelWarn, msg,
			slog.String("method", r.Method), slog.String("path", r.URL.Path))
	}
}

// state is what the proxy learns about one request on its way, and the
// ResponseWriter ReverseProxy writes to: the Tap's, through which it
// watches for write errors, serializes flushes, and notes a hijack. Unwrap
// lets http.ResponseController reach the rest (full duplex).
type state struct {
	http.ResponseWriter
	head     bool     // the request is a HEAD
	note     noteKind // what the record must be told (see note.go)
	msg      string   // the note's message
	rerr     error    // the first error reading the upstream's body, io.EOF aside
	hijacked bool     // the connection was taken over for a protocol switch

	// reqBody is the request body of an HTTP/2 client, which the proxy
	// closes once the upstream's response is over (see upstreamBody.Close).
	reqBody io.Closer

	// body is the request body of an HTTP/1 client, as the transport
	// reads it.
	body duplexBody

	// ReverseProxy flushes from a timer's goroutine as well as its own;
	// mu keeps those flushes apart from the proxy's and from writes.
	mu   sync.Mutex
	werr error // the first error writing to the client

	// left is what remains to write of a body of known length (0 when
	// the length is unknown, or the body is whole): see Write and FlushError.
	left  int64
	whole bool // a body of known length is all written
}

func (st *state) Write(p []byte) (int, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	n, err := st.ResponseWriter.Write(p)
	if err != nil && st.werr == nil {
		st.werr = err
	}
	if st.left > 0 {
		st.left -= int64(n)
		if st.left <= 0 {
			st.left = 0
			st.whole = true
		} else if err == nil {
			// More of the body is to come, maybe not at once: what
			// came goes on now.
			if err = http.NewResponseController(st.ResponseWriter).Flush(); err != nil && st.werr == nil {
				st.werr = err
			}
		}
	}
	return n, err
}

// FlushError sends what was written so far to the client, headers
// included. For HEAD it does nothing: the response is only headers, which
// go out when the handler returns, and over HTTP/2 a flush can race with
// the end of the stream and report an error for a response that went out
// whole. Once a body of known length is all written it does nothing
// either: the handler returns at once, and the server sends the rest
// then; a flush would cost a system call (a packet) more for every
// response, which for small ones, the most common, was a tenth of the
// proxy's CPU under load.
func (st *state) FlushError() error {
	if st.head {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.whole {
		return nil
	}
	err := http.NewResponseController(st.ResponseWriter).Flush()
	if err != nil && st.werr == nil {
		st.werr = err
	}
	return err
}

// writeErr returns the first error writing to the client.
func (st *state) writeErr() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.werr
}

// Hijack hijacks the connection for a protocol switch, noting that it
// did. It fails with an error matching http.ErrNotSupported when the
// connection cannot be hijacked (HTTP/2).
func (st *state) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(st.ResponseWriter).Hijack()
	if err == nil {
		st.hijacked = true
	}
	return c, brw, err
}

// Unwrap returns the Tap's ResponseWriter, for http.ResponseController.
func (st *state) Unwrap() http.ResponseWriter { return st.ResponseWriter }

func (st *state) setNote(k noteKind, msg string) { st.note, st.msg = k, msg }

type stateKey struct{}

func stateFrom(ctx context.Context) *state {
	st, _ := ctx.Value(stateKey{}).(*state)
	return st
}

// upstreamBody is the upstream's response body as ReverseProxy reads it:
// it notes the first read error, and readies the header map for the
// trailers.
type upstreamBody struct {
	io.ReadCloser
	st      *state
	res     *http.Response
	started bool // Read was called
	eof     bool // Read returned io.EOF
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	var n int
	var err error
	switch {
	case b.started:
		n, err = b.ReadCloser.Read(p)
	case b.st.left > 0:
		// A body of known length is mostly there with the headers:
		// they go out with its first bytes, in one packet, unless
		// the upstream keeps the proxy waiting for them past
		// headerDelay, when they go out alone.
		b.started = true
		done := make(chan struct{})
		t := time.AfterFunc(headerDelay, func() {
			defer close(done)
			b.st.FlushError()
		})
		n, err = b.ReadCloser.Read(p)
		if !t.Stop() {
			<-done
		}
	default:
		// Send the headers now, before waiting for the body: the
		// client learns the status as soon as the proxy does.
		// (ReverseProxy means to, from a timer that may fire later.)
		b.started = true
		b.st.FlushError()
		n, err = b.ReadCloser.Read(p)
	}
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil && b.st.rerr == nil:
		b.st.rerr = err
	}
	return n, err
}

// Close closes the body. ReverseProxy calls it once it has copied the
// body, and then adds the trailers to the header map, which already holds
// the response's headers: a name that came both as a header and as a
// trailer (as net/http sends a declared trailer set before a handler's
// first write) would go out as a trailer with both values. So once the
// body is whole, Close sends the headers, as ReverseProxy would next, and
// takes the trailers' names out of the map.
//
// Closing an HTTP/2 upstream's response body waits until the transport has
// stopped sending the request body. When the client is on HTTP/2 too and
// has stopped sending it without ending it (as Go's client does when it
// gets a status above 299 first), the transport would wait for the
// client's next byte forever, and the client for the end of the response.
// The upstream's response being over, nobody will read the rest of the
// request: Close closes it first, which ends the transport's wait.
func (b *upstreamBody) Close() error {
	if b.st.reqBody != nil {
		b.st.reqBody.Close()
	}
	err := b.ReadCloser.Close()
	if !b.eof || b.st.writeErr() != nil || len(b.res.Trailer) == 0 || b.st.hijacked {
		return err
	}
	h := b.st.Header()
	clash := false
	for k := range b.res.Trailer {
		_, ok := h[k]
		clash = clash || ok
	}
	if clash {
		b.st.FlushError()
		for k := range b.res.Trailer {
			delete(h, k)
		}
	}
	return err
}

// headerDelay is how long the headers of a response of known length wait
// for its first bytes, to go out with them (see upstreamBody.Read).
const headerDelay = time.Millisecond

// bufferPool recycles ReverseProxy's copy buffers: a bounded free list,
// so that a burst of requests leaves no more than poolSize buffers behind.
type bufferPool chan []byte

const (
	poolSize   = 64
	bufferSize = 32 << 10
)

func newBufferPool() bufferPool { return make(bufferPool, poolSize) }

func (bp bufferPool) Get() []byte {
	select {
	case b := <-bp:
		return b
	default:
		return make([]byte, bufferSize)
	}
}

func (bp bufferPool) Put(b []byte) {
	if cap(b) != bufferSize {
		return
	}
	select {
	case bp <- b[:bufferSize]:
	default:
	}
}
