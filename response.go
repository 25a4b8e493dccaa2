package bodytap

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bodytap/bodytap/internal/httpx"
	"github.com/bodytap/bodytap/internal/wrap"
)

// rw is the state of one request through the Tap and the [wrap.Core] of
// the ResponseWriter the handler gets: that writer has exactly the
// optional interfaces of the writer it wraps, and forwards them to the
// methods of the same names here.
//
// An rw comes from a pool, with its body buffers. When the sink keeps
// exchanges it goes back to the pool as soon as the handler has
// returned: what outlives the request (the Exchange the sink gets, and
// what the handler may hold on to) lives in the request's [record]
// instead. When the Tap reuses exchanges ([Config.ReuseExchanges]), the
// Exchange, its body copies and its header snapshot live in the rw
// itself, which goes back to the pool once the sink is done with them.
//
// The body buffers come last: the garbage collector, which scans every
// pooled rw in each cycle, stops at the last field with pointers.
type rw struct {
	rwState
	own        reused            // the record, when the Tap reuses exchanges
	reqInline  [inlineBytes]byte // the request body copy, while it fits
	respInline [inlineBytes]byte // the response body copy, while it fits
}

// rwState is the part of an rw that starts each request zeroed.
type rwState struct {
	w        http.ResponseWriter // the writer wrapped
	t        *Tap
	r        *http.Request
	x        *Exchange   // the record: in a record, or the rw's own
	ws       *wrap.State // the handler's writer
	body     *reqBody    // the handler's request body, if the request has one
	vals     []string    // room for the response header snapshot's values
	resp     capture
	req      capture
	cr       capReader
	action   Action // what the rules chose, once decided
	decided  bool   // the rules have decided
	sampled  bool   // picked by sampling (or no sampling)
	head     bool   // final headers sent (or implied)
	flushed  bool   // the server may have sent part of the body before the end
	returned bool   // the handler returned normally
	werr     error  // first error writing the response
	chunkAt  int64  // body bytes sent at the last flush noted in Response.Chunks

	sent headerFacts // what the final headers sent hold
}

// reused is the record of a Tap that reuses exchanges, kept with the
// rw across requests: the Exchange, the response header map and values
// of its snapshot, and body buffers larger than the inline ones that a
// request grew, for the next.
type reused struct {
	x                   Exchange
	hdr                 http.Header
	vals                [snapValues]string
	layout              snapLayout // of hdr's values in vals
	reqSpare, respSpare []byte
}

// A snapLayout remembers where the last snapshot into a reused header
// map put its values: its names, in the order their values sit in vals,
// and how many values each has. When the next response sets the same
// names with as many values each (a handler tends to answer alike every
// time), its snapshot is a lookup of each name in the live header and in
// the map, and a copy of the values into vals, where ranging over the
// header and writing each entry of the map anew cost about three times
// as much (callgrind, 1 KiB JSON in process).
type snapLayout struct {
	names  [snapValues]string
	counts [snapValues]uint8
	n      int // names remembered; 0: none
}

// refill writes the values of h into vals, where the snapshot h2 already
// has them, if h has exactly the names l remembers with as many values
// each, and h2 still holds the entries l describes (a sink may have
// changed its copy). It reports whether it did, with the facts and
// Content-Length cloneHeader returns.
func (l *snapLayout) refill(h, h2 http.Header, vals []string) (f headerFacts, contentLength string, ok bool) {
	if l.n == 0 || len(h) != l.n || len(h2) != l.n {
		return f, "", false
	}
	off := 0
	for i, k := range l.names[:l.n] {
		n := int(l.counts[i])
		vv, cur := h[k], h2[k]
		if len(vv) != n || len(cur) != n || &cur[0] != &vals[off] {
			return f, "", false
		}
		copy(vals[off:off+n], vv)
		off += n
		f.note(k, vv, &contentLength)
	}
	return f, contentLength, true
}

var _ wrap.Core = (*rw)(nil)

var rwPool = sync.Pool{New: func() any { return new(rw) }}

// snapValues is how many response header values the snapshot of a record
// holds without an allocation of their own.
// Four fit the common response (Content-Type and a few more) and keep a
// record in the 1 KiB size class.
const snapValues = 4

// maxSpare bounds the body buffers an rw keeps for the next request.
const maxSpare = DefaultMaxBodyBytes

// hold is what the handler may keep using after it returned (its
// ResponseWriter, its copy of the Request and that copy's Body), which
// therefore cannot come from a pool: each captured request allocates
// one. Once the handler has returned, its writer and body are detached:
// late use fails instead of reaching the pooled state of another
// request.
type hold struct {
	ws   wrap.State   // the handler's writer
	hreq http.Request // the handler's copy of the request, when it has a body
	body reqBody      // hreq.Body
}

// record is what one captured request allocates, in one piece, when the
// sink keeps exchanges: the Exchange the sink gets, and the hold.
type record struct {
	hold
	x    Exchange
	vals [snapValues]string
}

// begin starts the record of r: the handler's writer lives in ws, the
// Exchange is x, and vals is room for the values of its header snapshot.
func (c *rw) begin(t *Tap, ws *wrap.State, x *Exchange, vals []string, w http.ResponseWriter, r *http.Request, respMax int64) {
	if x == &c.own.x {
		x.resetReused()
		if len(c.own.hdr) > 4*snapValues {
			c.own.hdr = nil // a map that grew large costs to clear and to range over
		}
	}
	c.w = w
	c.t = t
	c.r = r
	c.ws = ws
	c.x = x
	c.vals = vals
	x.Start = now()
	x.ID = newID(x.Start)
	x.Trace = t.traceOf(r)
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
	c.resp.reset(respMax, buffer(c.respInline[:], &c.own.respSpare), t.spill)
}

// resetReused clears what a reused Exchange may still hold of its last
// request and what begin and finish do not write anew (ID, Start, Trace,
// the URL and Request, which begin writes whole; Route and owner, which
// finish always writes). Clearing the whole record first would write
// each of those pointers twice, and while the garbage collector marks,
// every pointer written into old memory costs a write barrier.
func (x *Exchange) resetReused() {
	x.Duration, x.TimeToHeaders = 0, 0
	x.Response = Response{}
	x.Detected, x.Hijacked, x.Err = 0, false, nil
	x.notes = nil
}

// detachedCore is the Core of a handler's writer once the handler has
// returned.
type detachedCore struct{ wrap.Detached }

func (detachedCore) Unwrap() http.ResponseWriter { return wrap.Detached{} }

// release detaches what the handler may still hold from c and clears
// c's state. When the sink keeps exchanges, it puts c back in the pool:
// c must not be used afterwards; otherwise [rw.recycle] does, once the
// sink is done with c's Exchange.
func (c *rw) release() {
	c.ws.SetCore(detachedCore{})
	reuse := c.reusing()
	c.rwState = rwState{}
	if !reuse {
		rwPool.Put(c)
	}
}

// reusing reports whether c's Exchange is its own, to be reused.
func (c *rw) reusing() bool { return c.x == &c.own.x }

// keepSpares keeps the body buffers grown past the inline ones, within
// maxSpare, for the next request on c (when the Tap reuses exchanges).
func (c *rw) keepSpares() {
	if b := c.req.buf; cap(b) > inlineBytes && cap(b) <= maxSpare {
		c.own.reqSpare = b[:0]
	}
	if b := c.resp.buf; cap(b) > inlineBytes && cap(b) <= maxSpare {
		c.own.respSpare = b[:0]
	}
}

// recycle puts c back in the pool once its sink is done with its
// Exchange. Of c it clears only what would keep the last request alive
// (forget); the next request clears the rest of what it reuses, on its own
// core, where it is about to write anyway.
func (c *rw) recycle() {
	c.forget()
	rwPool.Put(c)
}

// buffer returns the buffer a body copy starts in: inline, or the spare
// one a former request grew if larger.
func buffer(inline []byte, spare *[]byte) []byte {
	if b := *spare; cap(b) > len(inline) {
		*spare = nil
		return b
	}
	return inline
}

// inPool reports whether b is a copy held in c's own buffers, which go
// back to the pool.
func (c *rw) inPool(b []byte) bool {
	return len(b) > 0 && (&b[0] == &c.reqInline[0] || &b[0] == &c.respInline[0])
}

// ownBodies gives x body copies of its own where they are still in c's
// buffers, both in one allocation.
func (c *rw) ownBodies(x *Exchange) {
	q, s := &x.Request.Body.Bytes, &x.Response.Body.Bytes
	switch pq, ps := c.inPool(*q), c.inPool(*s); {
	case pq && ps:
		// Join allocates exactly once and clears nothing it copies over.
		n := len(*q)
		buf := bytes.Join([][]byte{*q, *s}, nil)
		*q, *s = buf[:n:n], buf[n:]
	case pq:
		*q = bytes.Clone(*q)
	case ps:
		*s = bytes.Clone(*s)
	}
}

// headerFacts are what the Tap needs to know of the final response
// headers: noted as cloneHeader ranges over them, they cost the request
// path no map lookups of their own.
type headerFacts struct {
	contentLength bool // Content-Length is set
	trailer       bool // Trailer is set
	prefixed      bool // some names have http.TrailerPrefix, which declare trailers
}

// cloneHeader is h.Clone, with the values in vals while they fit, into
// h2 if not nil, of which it keeps nothing else. It also returns the facts of h, and the
// single value of its Content-Length if it has exactly one. It ranges
// over h once when the values fit, as they do in the common response.
func cloneHeader(h, h2 http.Header, vals []string, l *snapLayout) (_ http.Header, f headerFacts, contentLength string) {
	if l != nil {
		if f, contentLength, ok := l.refill(h, h2, vals); ok {
			return h2, f, contentLength
		}
		l.n = 0
	}
	if h == nil {
		return nil, f, ""
	}
	if h2 == nil {
		h2 = make(http.Header, len(h))
	}
	f, contentLength = fillHeader(h, h2, vals, l)
	if len(h2) > len(h) {
		// h2 held names that h lacks: start again from an empty map.
		clear(h2)
		f, contentLength = fillHeader(h, h2, vals, l)
	}
	return h2, f, contentLength
}

// note adds to f what the header named k, with values vv, tells, and
// sets *contentLength to the single value of a Content-Length.
func (f *headerFacts) note(k string, vv []string, contentLength *string) {
	switch {
	case k == "Content-Length":
		f.contentLength = true
		if len(vv) == 1 {
			*contentLength = vv[0]
		}
	case k == "Trailer":
		f.trailer = true
	case strings.HasPrefix(k, http.TrailerPrefix):
		f.prefixed = true
	}
}

// fillHeader sets in h2 the names of h with copies of their values, in
// vals while they fit, and returns what cloneHeader returns of h. A
// reused h2 is not cleared first: a response that sets the same names as
// the last one (the common case) then only overwrites their entries,
// where clearing would write every slot of the map twice, each a write
// barrier while the garbage collector marks.
func fillHeader(h, h2 http.Header, vals []string, l *snapLayout) (f headerFacts, contentLength string) {
	// The layout of the values in vals, noted in l while all of them
	// fit (see snapLayout).
	fits := l != nil && len(h) <= len(l.names)
	names := 0
	for k, vv := range h {
		f.note(k, vv, &contentLength)
		if vv == nil {
			// Preserve nil values: ReverseProxy distinguishes them.
			h2[k] = nil
			fits = false
			continue
		}
		if len(vv) > len(vals) {
			fits = false
			// Room for all the values, in one allocation as Clone makes.
			n := 0
			for _, vv := range h {
				n += len(vv)
			}
			vals = make([]string, n)
		}
		n := copy(vals, vv)
		h2[k] = vals[:n:n]
		vals = vals[n:]
		if fits {
			l.names[names], l.counts[names] = k, uint8(n)
			names++
		}
	}
	if fits {
		l.n = names
	}
	return f, contentLength
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
	var (
		into   http.Header
		layout *snapLayout
	)
	if c.reusing() {
		into = c.own.hdr // cloneHeader drops what it holds of another response
		layout = &c.own.layout
	}
	var cl string
	c.x.Response.Header, c.sent, cl = cloneHeader(h, into, c.vals, layout)
	if into == nil && c.reusing() {
		c.own.hdr = c.x.Response.Header
	}
	if !c.decided {
		c.action, c.decided = decide(c.t.rules, atHeaders, c.r, code, h, 0, 0)
		if c.decided && c.action != Capture {
			c.resp.stop() // the body will not be kept
		}
	}
	if cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n > 0 {
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
			c.noteChunk()
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
	c.noteChunk()
}

func (c *rw) FlushError() error {
	if !c.head {
		c.sendHeader(http.StatusOK)
	}
	c.flushed = true
	err := c.w.(interface{ FlushError() error }).FlushError()
	c.noteErr(err)
	if err == nil {
		c.noteChunk()
	}
	return err
}

// noteChunk adds a Chunk to the response for a flush that sent more of
// the body: a flush with nothing new (or only the headers, which
// TimeToHeaders times) adds none.
func (c *rw) noteChunk() {
	n := c.resp.size
	if n <= c.chunkAt || c.decided && c.action == Skip {
		return
	}
	c.chunkAt = n
	r := &c.x.Response
	if len(r.Chunks) >= MaxChunks {
		r.ChunksOmitted++
		return
	}
	if r.Chunks == nil {
		r.Chunks = make([]Chunk, 0, 8)
	}
	r.Chunks = append(r.Chunks, Chunk{Offset: n, At: time.Since(c.x.Start)})
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
	t, x := c.t, c.x
	var p any
	if !c.returned {
		p = recover()
	}
	if c.body != nil {
		// r is the handler's copy of the request.
		if r.MultipartForm != nil && c.r.MultipartForm == nil {
			// The server removes the temporary files of a parsed
			// multipart form through its own Request, after we return.
			c.r.MultipartForm = r.MultipartForm
		}
		c.req.fill(&x.Request.Body, c.body.seal())
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
	c.resp.fill(&x.Response.Body, c.returned && !x.Hijacked && c.werr == nil)
	x.Route = t.route(r)
	x.Duration = time.Since(x.Start)

	kept := c.keep(r)
	if c.reusing() {
		c.keepSpares()
		x.owner = c
	} else if kept {
		c.ownBodies(x)
	}
	// From here on the Exchange is on its own: c goes back to the pool
	// (or, reused, comes back when the sink is done), and the handler's
	// writer and body fail if used late (a bug in the handler) instead of
	// touching a response.
	c.release()
	if kept {
		if !t.push(x) {
			drop(x)
		}
	} else {
		drop(x)
	}
	if p != nil {
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
	t, x := c.t, c.x
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
	st := c.x.Response.Status
	if !r.ProtoAtLeast(1, 1) || st < 200 || st == http.StatusNoContent || st == http.StatusNotModified {
		return false
	}
	if c.sent.contentLength {
		return false
	}
	if c.sent.trailer {
		return true
	}
	return c.sent.prefixed || c.flushed || c.resp.size > h1Buffer
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
