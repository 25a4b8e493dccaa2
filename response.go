package bodytap

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bodytap/bodytap/internal/httpx"
	"github.com/bodytap/bodytap/internal/wrap"
)

// rw is the state of one request through the Tap and the [wrap.Core] of
// the ResponseWriter the handler gets, which lives in its State: that
// writer has exactly the optional interfaces of the writer it wraps, and
// forwards them to the methods of the same names here.
//
// Everything a request needs lives in this one allocation, the Exchange,
// small body copies and the handler's writer included.
type rw struct {
	w        http.ResponseWriter // the writer wrapped
	ws       wrap.State          // the handler's writer
	t        *Tap
	r        *http.Request
	x        Exchange
	resp     capture
	req      reqTee
	hreq     http.Request // the handler's copy of the request, when it has a body
	cr       capReader
	action   Action // what the rules chose, once decided
	decided  bool   // the rules have decided
	sampled  bool   // picked by sampling (or no sampling)
	head     bool   // final headers sent (or implied)
	flushed  bool   // the server may have sent part of the body before the end
	returned bool   // the handler returned normally
	werr     error  // first error writing the response
	inline   [inlineBytes]byte
}

var _ wrap.Core = (*rw)(nil)

// begin starts the record of r.
func (c *rw) begin(t *Tap, r *http.Request, respMax int64) {
	c.t = t
	c.r = r
	x := &c.x
	x.Start = time.Now()
	x.ID = newID(x.Start)
	x.url = *r.URL
	if x.url.Host == "" {
		x.url.Host = r.Host
	}
	if x.url.Scheme == "" {
		x.url.Scheme = "http"
		if r.TLS != nil {
			x.url.Scheme = "https"
		}
	}
	x.Request = Request{
		Method:        r.Method,
		URL:           &x.url,
		Proto:         r.Proto,
		Host:          r.Host,
		RemoteAddr:    r.RemoteAddr,
		Header:        r.Header,
		ContentLength: r.ContentLength,
	}
	c.resp.reset(respMax, c.inline[:], t.spill)
}

// sendHeader notes that the final headers are about to go out with code,
// after letting the BeforeHeaders hook change them.
func (c *rw) sendHeader(code int) {
	c.head = true
	h := c.w.Header()
	if c.t.beforeHeaders != nil {
		c.t.beforeHeaders(c.r, code, h, time.Since(c.x.Start))
	}
	c.x.TimeToHeaders = time.Since(c.x.Start)
	c.x.Response.Status = code
	c.x.Response.Header = h.Clone()
	if !c.decided {
		c.action, c.decided = decide(c.t.rules, atHeaders, c.r, code, h, 0, 0)
		if c.decided && c.action != Capture {
			c.resp.stop() // the body will not be kept
		}
	}
	if v := h["Content-Length"]; len(v) == 1 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n > 0 {
			c.resp.hint = n
		}
	}
}

func (c *rw) Header() http.Header { return c.w.Header() }

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (c *rw) Unwrap() http.ResponseWriter { return c.w }

func (c *rw) WriteHeader(code int) {
	if !c.head {
		switch {
		case code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols:
			c.x.Response.Informational = append(c.x.Response.Informational,
				Informational{Status: code, Header: c.w.Header().Clone()})
		case code >= 100 && code <= 999:
			c.sendHeader(code)
		}
		// Other codes make the server panic, as they would without us.
	}
	c.w.WriteHeader(code)
}

func (c *rw) Write(p []byte) (int, error) {
	if !c.head {
		c.sendHeader(http.StatusOK)
	}
	n, err := c.w.Write(p)
	c.resp.keep(p[:n])
	c.noteErr(err)
	return n, err
}

func (c *rw) noteErr(err error) {
	if err != nil && c.werr == nil {
		c.werr = err
	}
}

func (c *rw) WriteString(s string) (int, error) {
	if !c.head {
		c.sendHeader(http.StatusOK)
	}
	n, err := c.w.(io.StringWriter).WriteString(s)
	c.resp.keepString(s[:n])
	c.noteErr(err)
	return n, err
}

// ReadFrom keeps sendfile and splice working: the bytes that fit under the
// cap go through the wrapped writer's ReadFrom by way of a reader that
// copies them, and the rest go to it straight from src.
func (c *rw) ReadFrom(src io.Reader) (int64, error) {
	wasHead := c.head
	if !c.head {
		c.sendHeader(http.StatusOK)
	}
	rf := c.w.(io.ReaderFrom)
	var n int64
	defer func() {
		if n >= httpx.SniffLen {
			c.flushed = true
		}
		if n == 0 && !wasHead {
			// An empty copy sends nothing, headers included: the
			// handler may still choose the status.
			c.head = false
			c.x.Response.Status, c.x.Response.Header, c.x.TimeToHeaders = 0, nil, 0
		}
	}()
	if room := c.resp.roomWithSpill(); room > 0 {
		// net/http's ReadFrom copies the first httpx.SniffLen bytes, then sends
		// the headers; a first pass shorter than that would move the
		// point where they go out (and turn a chunked response into one
		// with a Content-Length).
		c.cr = capReader{src: src, c: &c.resp, room: max(room, httpx.SniffLen)}
		before := len(c.resp.buf)
		m, err := rf.ReadFrom(&c.cr)
		read, eof := c.cr.read, c.cr.eof
		c.cr = capReader{}
		n = m
		c.resp.size += m
		if m < read && int64(len(c.resp.buf)) > int64(before)+m {
			// The writer failed partway: keep only what it wrote.
			c.resp.buf = c.resp.buf[:before+int(m)]
		}
		if err != nil || eof || m < read {
			c.noteErr(err)
			return n, err
		}
	}
	m, err := rf.ReadFrom(src)
	n += m
	c.resp.size += m
	c.noteErr(err)
	return n, err
}

func (c *rw) Flush() {
	if !c.head {
		c.sendHeader(http.StatusOK)
	}
	c.flushed = true
	c.w.(http.Flusher).Flush()
}

func (c *rw) FlushError() error {
	if !c.head {
		c.sendHeader(http.StatusOK)
	}
	c.flushed = true
	err := c.w.(interface{ FlushError() error }).FlushError()
	c.noteErr(err)
	return err
}

func (c *rw) CloseNotify() <-chan bool {
	//lint:ignore SA1019 forwarding a deprecated interface that handlers still use
	return c.w.(http.CloseNotifier).CloseNotify()
}

func (c *rw) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := c.w.(http.Hijacker).Hijack()
	if err == nil {
		c.x.Hijacked = true
	}
	return conn, brw, err
}

func (c *rw) Push(target string, opts *http.PushOptions) error {
	return c.w.(http.Pusher).Push(target, opts)
}

// finish runs, deferred, when the handler has returned or panicked: it
// completes the Exchange, queues it, and lets a panic go on.
func (c *rw) finish(r *http.Request) {
	t := c.t
	x := &c.x
	var p any
	if !c.returned {
		p = recover()
	}
	if r == &c.hreq {
		if c.hreq.MultipartForm != nil && c.r.MultipartForm == nil {
			// The server removes the temporary files of a parsed
			// multipart form through its own Request, after we return.
			c.r.MultipartForm = c.hreq.MultipartForm
		}
		x.Request.Body = c.req.seal()
		if x.Request.Body.Size == 0 && r.ContentLength == 0 {
			// A declared empty body (HTTP/2 sends one for a GET) is
			// all there is, read or not.
			x.Request.Body.EOF = true
		}
	} else {
		x.Request.Body = Body{EOF: true}
	}

	switch {
	case !c.returned:
		switch {
		case p == nil:
			x.Err = fmt.Errorf("%w: runtime.Goexit", ErrHandlerPanic)
		case p == http.ErrAbortHandler:
			x.Err = ErrAborted
		default:
			x.Err = fmt.Errorf("%w: %v", ErrHandlerPanic, p)
		}
	case x.Hijacked:
		x.Err = ErrHijacked
	default:
		if !c.head {
			// The server sends the implied 200 when we return.
			c.sendHeader(http.StatusOK)
		}
		if c.canHaveTrailers(r) {
			x.Response.Trailer = httpx.Trailers(x.Response.Header, c.w.Header())
		}
		if err := r.Context().Err(); err != nil && !c.ended(r) {
			x.Err = ErrClientGone
		} else if c.werr != nil {
			x.Err = fmt.Errorf("bodytap: write response: %w", c.werr)
		}
	}
	x.Response.Body = c.resp.body(c.returned && !x.Hijacked && c.werr == nil)
	x.Route = t.route(r)
	x.Duration = time.Since(x.Start)

	// The Exchange outlives the request in the sink: drop what would keep
	// the server's connection state alive, and make late use of the
	// writer (a bug in the handler) fail instead of touching it.
	c.w = wrap.Detached{}
	c.r = nil

	if c.keep(r) {
		t.captured.Add(1)
		if !t.q.push(x) {
			t.dropped.Add(1)
			x.Release()
		}
	} else {
		x.Release()
	}
	if !c.returned && p != nil {
		panic(p)
	}
}

// ended reports whether the response was complete on the wire before the
// handler returned, so that a request context cancelled afterwards (as
// HTTP/2 does once a stream has ended) is not mistaken for a client that
// went away: a response with no body, or one that declared its length and
// sent all of it.
func (c *rw) ended(r *http.Request) bool {
	st := c.x.Response.Status
	if r.Method == http.MethodHead || st == http.StatusNoContent || st == http.StatusNotModified {
		return true
	}
	if v := c.x.Response.Header["Content-Length"]; len(v) == 1 {
		n, err := strconv.ParseInt(v[0], 10, 64)
		return err == nil && c.resp.size >= n
	}
	return false
}

// keep applies the rules and sampling that could only be decided at the
// end, and reports whether the exchange is to be recorded.
func (c *rw) keep(r *http.Request) bool {
	t, x := c.t, &c.x
	if !c.decided {
		c.action, _ = decide(t.rules, atEnd, r, x.Response.Status, x.Response.Header, x.Request.Body.Size, x.Response.Body.Size)
	}
	switch c.action {
	case Skip:
		t.skipped.Add(1)
		return false
	case HeadersOnly:
		x.Request.Body.Bytes = nil
		x.Response.Body.Bytes = nil
		x.Request.Body.Truncated = x.Request.Body.Size > 0
		x.Response.Body.Truncated = x.Response.Body.Size > 0
	}
	if !c.sampled && !t.sampling.rescues(x) {
		t.sampledOut.Add(1)
		return false
	}
	return true
}

// h1Buffer is the size of net/http's HTTP/1.x response buffer: a body that
// fits in it when the handler returns gets a Content-Length, not chunks.
const h1Buffer = 2048

// canHaveTrailers reports whether the response could carry the trailers the
// handler set, as net/http's servers send them. HTTP/2 sends them on every
// response but one to HEAD. HTTP/1.1 needs chunked encoding: a response
// with a body and no Content-Length that was declared to have trailers,
// or was flushed or too large for the buffer before the handler returned
// (otherwise the server computes a Content-Length).
func (c *rw) canHaveTrailers(r *http.Request) bool {
	if r.Method == http.MethodHead {
		return false
	}
	if r.ProtoMajor >= 2 {
		return true
	}
	st, h := c.x.Response.Status, c.x.Response.Header
	if !r.ProtoAtLeast(1, 1) || st < 200 || st == http.StatusNoContent || st == http.StatusNotModified {
		return false
	}
	if _, ok := h["Content-Length"]; ok {
		return false
	}
	if _, ok := h["Trailer"]; ok {
		return true
	}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return c.flushed || c.resp.size > h1Buffer
}

// capReader feeds the wrapped writer's ReadFrom the first bytes of src, up
// to the capture's room, keeping a copy of each; then it reports EOF.
type capReader struct {
	src  io.Reader
	c    *capture
	room int64
	read int64 // bytes read from src
	eof  bool  // src itself reached EOF
}

func (r *capReader) Read(p []byte) (int, error) {
	if r.room <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.room {
		p = p[:r.room]
	}
	n, err := r.src.Read(p)
	r.read += int64(n)
	r.room -= int64(n)
	// Only copy: ReadFrom's result is what counts as passed.
	r.c.save(p[:n])
	if err == io.EOF {
		r.eof = true
	}
	return n, err
}
