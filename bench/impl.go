package bench

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/felixge/httpsnoop"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
)

// A Sink receives what an implementation saw of one exchange. It does the
// same minimal work for every implementation (no I/O): it counts the
// exchange and stores the sizes, so that tests can check them.
type Sink struct {
	n        atomic.Int64
	shed     atomic.Int64 // exchanges recorded without their bodies (bodytap's ErrShed)
	reqKept  atomic.Int64
	reqSize  atomic.Int64
	respKept atomic.Int64
	respSize atomic.Int64
}

// Record notes one exchange: for each body, how many bytes were kept and
// how many passed.
func (s *Sink) Record(reqKept int, reqSize int64, respKept int, respSize int64) {
	s.reqKept.Store(int64(reqKept))
	s.reqSize.Store(reqSize)
	s.respKept.Store(int64(respKept))
	s.respSize.Store(respSize)
	s.n.Add(1)
}

// Shed notes that the exchange last recorded came without its body
// copies, which bodytap sheds when its queue is nearly full.
func (s *Sink) Shed() { s.shed.Add(1) }

// Seen is what a Sink holds: the number of exchanges and the sizes of the
// last one.
type Seen struct {
	N, Shed            int64
	ReqKept, ReqSize   int64
	RespKept, RespSize int64
}

// Seen returns the count and the last sizes recorded.
func (s *Sink) Seen() Seen {
	return Seen{s.n.Load(), s.shed.Load(), s.reqKept.Load(), s.reqSize.Load(), s.respKept.Load(), s.respSize.Load()}
}

// An Impl is one way to see the bodies.
type Impl struct {
	// Name is the benchmark variant: bare, bodytap, httpsnoop, ...
	Name string

	// Family is the baseline this implementation adds to: "bare" for the
	// net/http family, "echo" for the echo family.
	Family string

	// Bounded says the implementation keeps at most Cap bytes per body;
	// the others keep whole bodies.
	Bounded bool

	// Streams says the client gets flushed bytes while the handler is
	// still running.
	Streams bool

	// Build returns the application wrapped by the implementation,
	// reporting to s, and a function that releases it (for bodytap:
	// Close, which delivers what is queued).
	Build func(s *Sink, o AppOptions) (h http.Handler, close func())
}

// Captures reports whether the implementation sees bodies (bare and echo
// do not).
func (i Impl) Captures() bool { return i.Name != "bare" && i.Name != "echo" }

// Impls are the implementations compared, in table order.
var Impls = []Impl{
	{Name: "bare", Family: "bare", Streams: true, Build: func(s *Sink, o AppOptions) (http.Handler, func()) {
		return NewApp(o), func() {}
	}},
	{Name: "bodytap", Family: "bare", Bounded: true, Streams: true, Build: func(s *Sink, o AppOptions) (http.Handler, func()) {
		return buildTap(s, o, bodytap.Redaction{})
	}},
	{Name: "bodytap-noredact", Family: "bare", Bounded: true, Streams: true, Build: func(s *Sink, o AppOptions) (http.Handler, func()) {
		return buildTap(s, o, bodytap.Redaction{Disabled: true})
	}},
	{Name: "bodytap-keep", Family: "bare", Bounded: true, Streams: true, Build: func(s *Sink, o AppOptions) (http.Handler, func()) {
		// bodytap-noredact with a sink that keeps its exchanges (the
		// default): each request allocates its record.
		return buildTapConfig(s, o, bodytap.Config{Redact: bodytap.Redaction{Disabled: true}})
	}},
	{Name: "bodytap-lossless", Family: "bare", Bounded: true, Streams: true, Build: func(s *Sink, o AppOptions) (http.Handler, func()) {
		// The defaults, but a full delivery queue makes the request wait
		// (QueueWait) instead of dropping the record, as the proxy does:
		// the whole cost of capturing everything, paid on the request path.
		return buildTapConfig(s, o, bodytap.Config{QueueWait: time.Second})
	}},
	{Name: "httpsnoop", Family: "bare", Bounded: true, Streams: true, Build: func(s *Sink, o AppOptions) (http.Handler, func()) {
		return Httpsnoop(s)(NewApp(o)), func() {}
	}},
	{Name: "chi", Family: "bare", Bounded: true, Streams: true, Build: func(s *Sink, o AppOptions) (http.Handler, func()) {
		return ChiTee(s)(NewApp(o)), func() {}
	}},
	{Name: "bufferall", Family: "bare", Build: func(s *Sink, o AppOptions) (http.Handler, func()) {
		return BufferAll(s)(NewApp(o)), func() {}
	}},
	{Name: "echo", Family: "echo", Streams: true, Build: func(s *Sink, o AppOptions) (http.Handler, func()) {
		return NewEchoApp(o), func() {}
	}},
	{Name: "echo-bodydump", Family: "echo", Streams: true, Build: func(s *Sink, o AppOptions) (http.Handler, func()) {
		return NewEchoApp(o, EchoBodyDump(s)), func() {}
	}},
}

// ImplByName returns the implementation called name.
func ImplByName(name string) (Impl, bool) {
	for _, i := range Impls {
		if i.Name == name {
			return i, true
		}
	}
	return Impl{}, false
}

// buildTap is bodytap with redaction r and a sink that, like the peers'
// callbacks, keeps nothing of a record once it has read it: the Tap
// reuses the exchanges' memory.
func buildTap(s *Sink, o AppOptions, r bodytap.Redaction) (http.Handler, func()) {
	return buildTapConfig(s, o, bodytap.Config{Redact: r, ReuseExchanges: true})
}

func buildTapConfig(s *Sink, o AppOptions, c bodytap.Config) (http.Handler, func()) {
	c.Sink, c.MaxBodyBytes = TapSink(s), Cap
	tap := bodytap.New(c)
	return tap.Handler(NewApp(o)), func() { tap.Close() }
}

// TapSink adapts s to a bodytap.Sink.
func TapSink(s *Sink) bodytap.Sink {
	return bodytap.SinkFunc(func(x *bodytap.Exchange) {
		s.Record(len(x.Request.Body.Bytes), x.Request.Body.Size, len(x.Response.Body.Bytes), x.Response.Body.Size)
		if errors.Is(x.Response.Body.Err, bodytap.ErrShed) || errors.Is(x.Request.Body.Err, bodytap.ErrShed) {
			s.Shed()
		}
	})
}

// capBuf keeps the first max bytes written to it and counts them all. It
// never fails, so that it can sit behind a tee.
type capBuf struct {
	buf  []byte
	max  int
	size int64
}

func (c *capBuf) Write(p []byte) (int, error) {
	c.size += int64(len(p))
	if room := c.max - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// teeBody is a request body that copies what the handler reads into a
// capBuf.
type teeBody struct {
	rc io.ReadCloser
	c  *capBuf
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	t.c.Write(p[:n])
	return n, err
}

func (t *teeBody) Close() error { return t.rc.Close() }

// captured is the per-request state of the httpsnoop and chi
// implementations, in one allocation.
type captured struct {
	req, resp capBuf
	body      teeBody
}

func newCaptured(r *http.Request) *captured {
	c := &captured{req: capBuf{max: Cap}, resp: capBuf{max: Cap}}
	if r.Body != nil && r.Body != http.NoBody {
		c.body = teeBody{rc: r.Body, c: &c.req}
		r.Body = &c.body
	}
	return c
}

func (c *captured) record(s *Sink) {
	s.Record(len(c.req.buf), c.req.size, len(c.resp.buf), c.resp.size)
}

// Httpsnoop is a middleware built on httpsnoop.Wrap: the Write and
// ReadFrom hooks tee the response into a bounded buffer; the request body
// is teed the same way. ReadFrom keeps its method (httpsnoop preserves the
// interfaces) but reads its source through an io.TeeReader, so the
// wrapped writer no longer sees an *os.File.
func Httpsnoop(s *Sink) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := newCaptured(r)
			ww := httpsnoop.Wrap(w, httpsnoop.Hooks{
				Write: func(write httpsnoop.WriteFunc) httpsnoop.WriteFunc {
					return func(b []byte) (int, error) {
						n, err := write(b)
						c.resp.Write(b[:n])
						return n, err
					}
				},
				ReadFrom: func(readFrom httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
					return func(src io.Reader) (int64, error) {
						return readFrom(io.TeeReader(src, &c.resp))
					}
				},
			})
			next.ServeHTTP(ww, r)
			c.record(s)
		})
	}
}

// ChiTee is a middleware built on chi's middleware.NewWrapResponseWriter
// with Tee into a bounded buffer; the request body is teed the same way.
func ChiTee(s *Sink) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := newCaptured(r)
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			ww.Tee(&c.resp)
			next.ServeHTTP(ww, r)
			c.record(s)
		})
	}
}

// bufferingWriter holds a whole response: the usual answer's
// ResponseWriter.
type bufferingWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferingWriter) Header() http.Header { return b.header }

func (b *bufferingWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferingWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// BufferAll is the "buffer everything, then rebuild the response" pattern,
// written plainly: read the whole request body and put a copy back, let
// the handler write into a buffer, then copy the headers, status and body
// to the real writer. It sees whole bodies; the client sees nothing
// until the handler has finished.
func BufferAll(s *Sink) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reqBody, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
			bw := &bufferingWriter{header: http.Header{}}
			next.ServeHTTP(bw, r)
			for k, v := range bw.header {
				w.Header()[k] = v
			}
			if bw.status == 0 {
				bw.status = http.StatusOK
			}
			w.WriteHeader(bw.status)
			w.Write(bw.body.Bytes())
			s.Record(len(reqBody), int64(len(reqBody)), bw.body.Len(), int64(bw.body.Len()))
		})
	}
}

// EchoBodyDump is echo's middleware.BodyDump reporting to s. BodyDump
// keeps whole bodies, so kept and passed sizes are the same.
func EchoBodyDump(s *Sink) echo.MiddlewareFunc {
	return echomw.BodyDump(func(c echo.Context, req, resp []byte) {
		s.Record(len(req), int64(len(req)), len(resp), int64(len(resp)))
	})
}
