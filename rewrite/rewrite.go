package rewrite

import (
	"bufio"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/httpx"
	"github.com/bodytap/bodytap/internal/wrap"
)

// DefaultMaxBytes is how many bytes of a response [New] buffers
// when [Config.MaxBytes] is zero: 1 MiB.
const DefaultMaxBytes = 1 << 20

// Errors a rewrite can end with. [Config.ErrorHandler] receives
// them, wrapped with details; test for them with errors.Is.
var (
	// ErrPanic: the rewrite function panicked. The wrapping error
	// carries the panic value and the stack.
	ErrPanic = errors.New("bodytap: rewrite function panicked")

	// ErrStatus: the rewrite function set a status that cannot be
	// a final response status (below 200 or above 999).
	ErrStatus = errors.New("bodytap: rewrite set an invalid status")

	// ErrUnsupportedEncoding is [Response.DecodeErr] when the built-in
	// decoder (Config.Decode nil) meets a content coding it cannot undo
	// (br, zstd, compress, an unknown one) or more than five stacked.
	ErrUnsupportedEncoding = errors.New("bodytap: unsupported content coding")

	// ErrDecodedTooLarge is [Response.DecodeErr] when the decoded body
	// would be larger than [Config.MaxDecodedBytes].
	ErrDecodedTooLarge = errors.New("bodytap: decoded body too large")
)

// A FallbackReason says why the middleware gave up buffering a response and let
// it stream through unchanged.
type FallbackReason uint8

// The reasons for a fallback.
const (
	// FallbackTooLarge: the handler wrote more than
	// Config.MaxBytes, or declared a larger Content-Length.
	FallbackTooLarge FallbackReason = iota + 1

	// FallbackFlush: the handler flushed (http.Flusher or
	// http.ResponseController), asking for what it wrote to reach the
	// client now.
	FallbackFlush

	// FallbackHijack: the handler hijacked the connection.
	FallbackHijack

	// FallbackStreaming: the response is a streaming one, as
	// Config.Stream judged from its status and headers.
	FallbackStreaming

	// FallbackUpgrade: the request asks for a protocol upgrade (an
	// Upgrade header, as for WebSocket, or the CONNECT method), or the
	// handler answered 101 Switching Protocols.
	FallbackUpgrade
)

var fallbackNames = [...]string{
	FallbackTooLarge:  "too large",
	FallbackFlush:     "flush",
	FallbackHijack:    "hijack",
	FallbackStreaming: "streaming",
	FallbackUpgrade:   "upgrade",
}

// String returns a short lower-case description of r, for logs.
func (r FallbackReason) String() string {
	if int(r) < len(fallbackNames) && fallbackNames[r] != "" {
		return fallbackNames[r]
	}
	return "FallbackReason(" + strconv.Itoa(int(r)) + ")"
}

// Config configures [New]. The zero value is valid: it buffers
// up to DefaultMaxBytes, leaves encoded bodies encoded, and answers
// a failed rewrite with a plain 500.
type Config struct {
	// MaxBytes is the most a response's body may hold (as the handler
	// writes it, encoded or not) and still be rewritten. A handler that
	// writes more makes the rewrite fall back: the response streams
	// through unchanged. Zero means DefaultMaxBytes (1 MiB); a
	// negative value buffers no body at all, so that only bodyless
	// responses (redirects, 204, 304) are rewritten.
	MaxBytes int64

	// DecodeBodies asks for bodies with a Content-Encoding to be handed
	// to the function decoded by Decode, with Response.Decoded set. How
	// they are encoded again is described in the package documentation.
	// A body that cannot be decoded is handed over as the handler wrote
	// it, with Response.DecodeErr saying why. False hands every body over
	// as the handler wrote it.
	DecodeBodies bool

	// Decode undoes the content codings of a body for DecodeBodies. It is
	// the hook of [bodytap.Config].Decode, with the same default: nil is
	// the built-in decoder, which undoes gzip (and x-gzip) and deflate
	// (zlib-wrapped, or raw as some servers send it), stacked up to five;
	// decode.Func (package github.com/bodytap/bodytap/decode) adds br and
	// zstd. It is called with the whole body, truncated false, and a
	// limit one byte over MaxDecodedBytes, and must remove every coding
	// listed. It runs on the request path, concurrently for different
	// requests.
	Decode bodytap.DecodeFunc

	// MaxDecodedBytes bounds a decoded body, so that a small compressed
	// body cannot expand into gigabytes. A body that would decode to more
	// is handed over encoded, with Response.DecodeErr set to
	// ErrDecodedTooLarge. Zero means 8 × MaxBytes.
	MaxDecodedBytes int64

	// Stream reports whether a response is a streaming one, from the
	// status and headers the handler is sending; such responses fall
	// back as soon as their headers are known, before any body is
	// buffered. Nil means IsStreamingResponse.
	Stream func(status int, h http.Header) bool

	// Skip, when it returns true, lets the request through untouched:
	// the handler gets the original ResponseWriter and nothing is
	// buffered. Nil skips nothing. It runs on the request path.
	Skip func(r *http.Request) bool

	// OnFallback, if set, is called on the request path when a response
	// falls back to streaming, with the reason, before anything of it is
	// sent. It is how to log that a response was not rewritten. It must
	// not use the ResponseWriter.
	OnFallback func(r *http.Request, reason FallbackReason)

	// ErrorHandler writes the response when the rewrite fails: the
	// function returned an error or panicked, or set an invalid status.
	// By then nothing of the handler's response has been sent and its
	// headers have been removed from w.Header(): only headers set before
	// the middleware ran (by outer middleware) are left. Nil answers with
	// a plain-text 500 Internal Server Error and does not log; set
	// ErrorHandler to log err.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Response is a complete response, held back by the middleware for its
// function to read and change before anything of it is sent.
//
// The function may change any field. It must not use resp after it
// returns, except that it may keep Body: the middleware never reuses it.
type Response struct {
	// Status is the final status the handler chose: 200 if it wrote
	// without calling WriteHeader, or never wrote at all. Informational
	// 1xx responses have already been sent and are not seen here. The
	// function may set any status from 200 to 999.
	Status int

	// Header is a copy of the header map as it was when the handler
	// committed its status (as the server would have sent it), trailers
	// excepted. Content-Length is recomputed from the final body; see
	// the package documentation for it and for ETag and digests.
	Header http.Header

	// Body is the body as the handler wrote it, or decoded if Decoded
	// is true.
	Body []byte

	// Trailer holds the trailers the handler set, declared in the
	// Trailer header or named with http.TrailerPrefix; nil if none.
	// Trailers added by the function are sent as undeclared ones
	// (http.TrailerPrefix) unless Header declares them.
	Trailer http.Header

	// Decoded reports that Config.DecodeBodies asked for decoding and
	// Body holds the content decoded from the codings that Header's
	// Content-Encoding lists.
	Decoded bool

	// DecodeErr says why a body that Config.DecodeBodies asked to decode
	// was handed over still encoded: ErrUnsupportedEncoding (from the
	// built-in decoder: br, zstd, ...), ErrDecodedTooLarge, or, wrapped,
	// the decoder's error for a corrupt body or the error that a
	// Config.Decode function returned. Nil when the body was decoded, had
	// no content coding, or DecodeBodies was not asked for.
	DecodeErr error
}

// New returns a middleware that buffers each response, lets fn change its
// status, headers, body and trailers, and then sends it. Responses that
// cannot be buffered without changing what the client experiences fall
// back to streaming through unchanged; see the package documentation.
//
// fn runs on the request path once the handler has returned. If it returns
// an error or panics, nothing of the handler's response is sent: its
// headers are dropped and Config.ErrorHandler answers instead (a 500 by
// default). A panic with http.ErrAbortHandler is not recovered.
//
// The middleware is safe for concurrent use: fn and the hooks of c run on
// the goroutine of the request they are called for, concurrently for
// different requests.
//
// New panics if fn is nil.
func New(fn func(r *http.Request, resp *Response) error, c Config) func(http.Handler) http.Handler {
	cfg := newConfig(fn, c)
	return func(next http.Handler) http.Handler {
		return &handler{c: cfg, next: next}
	}
}

func newConfig(fn func(*http.Request, *Response) error, c Config) *config {
	if fn == nil {
		panic("bodytap: rewrite.New called with a nil function")
	}
	cfg := &config{
		fn:         fn,
		max:        c.MaxBytes,
		decode:     c.Decode,
		maxDecoded: c.MaxDecodedBytes,
		stream:     c.Stream,
		skip:       c.Skip,
		onFallback: c.OnFallback,
		onError:    c.ErrorHandler,
	}
	switch {
	case cfg.max == 0:
		cfg.max = DefaultMaxBytes
	case cfg.max < 0:
		cfg.max = 0
	}
	if !c.DecodeBodies {
		cfg.decode = nil
	} else if cfg.decode == nil {
		cfg.decode = stdDecode
	}
	if cfg.maxDecoded <= 0 {
		cfg.maxDecoded = 8 * max(cfg.max, 1<<10)
	}
	if cfg.stream == nil {
		cfg.stream = IsStreamingResponse
	}
	if cfg.onError == nil {
		cfg.onError = func(w http.ResponseWriter, _ *http.Request, _ error) {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		}
	}
	return cfg
}

type config struct {
	fn         func(*http.Request, *Response) error
	max        int64
	decode     bodytap.DecodeFunc // nil: DecodeBodies off
	maxDecoded int64
	stream     func(int, http.Header) bool
	skip       func(*http.Request) bool
	onFallback func(*http.Request, FallbackReason)
	onError    func(http.ResponseWriter, *http.Request, error)
}

type handler struct {
	c    *config
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.c.skip != nil && h.c.skip(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	if isUpgradeRequest(r) {
		if h.c.onFallback != nil {
			h.c.onFallback(r, FallbackUpgrade)
		}
		h.next.ServeHTTP(w, r)
		return
	}
	c := &rewriter{w: w}
	ww := wrap.New(&c.ws, c, w)
	c.init(h.c, r)
	defer c.finish()
	h.next.ServeHTTP(ww, r)
	c.returned = true
}

// isUpgradeRequest reports whether r asks to switch protocols or tunnel:
// such exchanges are not responses that can be buffered.
func isUpgradeRequest(r *http.Request) bool {
	if r.Method == http.MethodConnect {
		return true
	}
	if _, ok := r.Header["Upgrade"]; !ok {
		return false
	}
	for _, v := range r.Header["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// rewriter is the state of one response through the middleware and the
// [wrap.Core] of the ResponseWriter the handler gets, which lives in its
// State: that writer has exactly the optional interfaces of the writer it
// wraps, and forwards them to the methods of the same names here.
//
// Until it falls back, it holds the response back: WriteHeader notes the
// status and a copy of the headers, as the server itself would, and
// writes go to buf. Once it falls back (passing), every call goes straight
// to w.
type rewriter struct {
	w            http.ResponseWriter // the writer wrapped
	ws           wrap.State          // the handler's writer
	c            *config
	r            *http.Request
	hdr          http.Header // w.Header(), the live map the handler changes
	outer        http.Header // hdr as it was when the request reached us; nil if empty
	passing      bool        // fallen back (or never buffering): forward everything
	committed    bool        // the handler chose its final status
	returned     bool        // the handler returned normally
	status       int
	snap         http.Header // hdr when the status was committed
	snapTrailers bool        // snap has keys with http.TrailerPrefix
	declared     int64       // Content-Length the handler declared, -1 if none
	sniffed      bool        // a ReadFrom call read httpx.SniffLen bytes: the server would have flushed
	buf          []byte
	resp         Response
	clen         [1]string
	inline       [1 << 10]byte // room for a small body, which then costs no allocation of its own
}

var _ wrap.Core = (*rewriter)(nil)

func (c *rewriter) init(cfg *config, r *http.Request) {
	c.c = cfg
	c.r = r
	c.hdr = c.w.Header()
	if len(c.hdr) > 0 {
		c.outer = c.hdr.Clone()
	}
	c.declared = -1
	c.buf = c.inline[:0]
}

func (c *rewriter) Header() http.Header { return c.w.Header() }

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (c *rewriter) Unwrap() http.ResponseWriter { return c.w }

func (c *rewriter) WriteHeader(code int) {
	switch {
	case c.passing:
		c.w.WriteHeader(code)
	case c.committed:
		// Superfluous, ignored as the server would.
	case code < 100 || code > 999:
		// The server panics alike (it would also log the caller).
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	case code < 200 && code != http.StatusSwitchingProtocols:
		// Informational: sent at once, as 103 Early Hints must be.
		c.w.WriteHeader(code)
	default:
		c.commit(code)
	}
}

// commit notes the final status, with the headers as they are now, and
// falls back at once if the response cannot be buffered. It reports
// whether the response is still being buffered.
func (c *rewriter) commit(code int) bool {
	c.committed = true
	c.status = code
	c.snap, c.snapTrailers = cloneHeader(c.hdr)
	if v := c.snap["Content-Length"]; len(v) > 0 {
		if n, err := strconv.ParseInt(strings.TrimSpace(v[0]), 10, 64); err == nil && n >= 0 {
			c.declared = n
		}
	}
	switch {
	case code == http.StatusSwitchingProtocols:
		c.fallback(FallbackUpgrade)
	case c.declared > c.c.max && bodyAllowed(code) && c.r.Method != http.MethodHead:
		c.fallback(FallbackTooLarge)
	case c.c.stream(code, c.snap):
		c.fallback(FallbackStreaming)
	}
	return !c.passing
}

// fallback gives up buffering: it sends the status, headers and body that
// the handler has committed so far, if any, exactly as they would have been
// sent without us, and lets everything else through.
func (c *rewriter) fallback(reason FallbackReason) error {
	c.passing = true
	if c.c.onFallback != nil {
		c.c.onFallback(c.r, reason)
	}
	if !c.committed {
		return nil
	}
	if headerEqual(c.hdr, c.snap) {
		c.w.WriteHeader(c.status)
	} else {
		// The handler changed the map after committing: those changes
		// must not reach the client as headers (the server would have
		// sent the map as it was), but may be trailers it reads later.
		now := c.hdr.Clone()
		replaceHeader(c.hdr, c.snap)
		c.w.WriteHeader(c.status)
		replaceHeader(c.hdr, now)
	}
	var err error
	if len(c.buf) > 0 {
		_, err = c.w.Write(c.buf)
	}
	c.buf = nil
	c.flushIfSniffed(c.w)
	return err
}

// flushIfSniffed flushes w if the server would have by now: its ReadFrom
// sends the headers, without a Content-Length unless the handler set one,
// as soon as one call has read httpx.SniffLen bytes.
func (c *rewriter) flushIfSniffed(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok && c.sniffed {
		f.Flush()
	}
}

// room checks that n more body bytes may be buffered, falling back if they
// would pass the cap. It returns false when they must go to w instead, or
// an error that the write must return.
func (c *rewriter) room(n int) (bool, error) {
	if !c.committed && !c.commit(http.StatusOK) {
		return false, nil
	}
	if !bodyAllowed(c.status) && (n > 0 || c.r.ProtoMajor >= 2) {
		// HTTP/2 refuses even an empty write, HTTP/1 does not.
		return true, http.ErrBodyNotAllowed
	}
	if n == 0 {
		return true, nil
	}
	size := int64(len(c.buf)) + int64(n)
	if c.declared >= 0 && size > c.declared {
		return true, http.ErrContentLength
	}
	if size > c.c.max {
		return false, c.fallback(FallbackTooLarge)
	}
	c.grow(n)
	return true, nil
}

// grow makes room for n more bytes, never reserving past the cap.
func (c *rewriter) grow(n int) {
	need := len(c.buf) + n
	if need <= cap(c.buf) {
		return
	}
	size := max(2*cap(c.buf), need)
	if c.declared > int64(size) {
		size = int(c.declared)
	}
	size = int(min(int64(size), c.c.max))
	b := make([]byte, len(c.buf), size)
	copy(b, c.buf)
	c.buf = b
}

func (c *rewriter) Write(p []byte) (int, error) {
	if !c.passing {
		if ok, err := c.room(len(p)); err != nil {
			return 0, err
		} else if ok {
			c.buf = append(c.buf, p...)
			return len(p), nil
		}
	}
	return c.w.Write(p)
}

func (c *rewriter) WriteString(s string) (int, error) {
	if !c.passing {
		if ok, err := c.room(len(s)); err != nil {
			return 0, err
		} else if ok {
			c.buf = append(c.buf, s...)
			return len(s), nil
		}
	}
	return c.w.(io.StringWriter).WriteString(s)
}

// ReadFrom buffers src while it fits under the cap. Past the cap it falls
// back and hands the rest of src to the wrapped writer's ReadFrom, so
// that sendfile and splice still do the bulk of the work.
//
// It follows the server's own ReadFrom: the status is committed only once
// a first byte has arrived, and before switching to sendfile the headers
// are sent once httpx.SniffLen bytes have.
func (c *rewriter) ReadFrom(src io.Reader) (int64, error) {
	var n int64
	var probe []byte
	for !c.passing {
		limit := c.c.max
		if c.declared >= 0 {
			limit = min(limit, c.declared)
		}
		if c.committed && bodyAllowed(c.status) && int64(len(c.buf)) < limit {
			if len(c.buf) == cap(c.buf) {
				c.grow(int(min(32<<10, limit-int64(len(c.buf)))))
			}
			end := int(min(int64(cap(c.buf)), limit))
			m, err := src.Read(c.buf[len(c.buf):end])
			c.buf = c.buf[:len(c.buf)+m]
			n += int64(m)
			c.sniffed = c.sniffed || n >= httpx.SniffLen
			if err == io.EOF {
				return n, nil
			} else if err != nil {
				return n, err
			}
			continue
		}
		// Nothing committed yet, or no room left: read what decides, and
		// let Write decide (commit, refuse, or fall back).
		if probe == nil {
			probe = make([]byte, httpx.SniffLen)
		}
		m, err := io.ReadAtLeast(src, probe, max(1, httpx.SniffLen-int(n)))
		if m > 0 {
			buffering := !c.passing
			k, werr := c.Write(probe[:m])
			n += int64(k)
			if buffering && !c.passing {
				c.sniffed = c.sniffed || n >= httpx.SniffLen
			}
			if werr != nil {
				return n, werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return n, nil
		} else if err != nil {
			return n, err
		}
	}
	if f, ok := c.w.(http.Flusher); ok && n >= httpx.SniffLen && !c.sniffed {
		f.Flush()
	}
	m, err := c.w.(io.ReaderFrom).ReadFrom(src)
	return n + m, err
}

func (c *rewriter) Flush() {
	if !c.passing && (c.committed || c.commit(http.StatusOK)) {
		c.fallback(FallbackFlush)
	}
	c.w.(http.Flusher).Flush()
}

func (c *rewriter) FlushError() error {
	if !c.passing && (c.committed || c.commit(http.StatusOK)) {
		if err := c.fallback(FallbackFlush); err != nil {
			return err
		}
	}
	return c.w.(interface{ FlushError() error }).FlushError()
}

func (c *rewriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !c.passing {
		// What the handler wrote before hijacking goes to the server as
		// it would without us: it sends the headers and drops what of
		// the body is still in its buffer.
		if err := c.fallback(FallbackHijack); err != nil {
			return nil, nil, err
		}
	}
	return c.w.(http.Hijacker).Hijack()
}

func (c *rewriter) CloseNotify() <-chan bool {
	//lint:ignore SA1019 forwarding a deprecated interface that handlers still use
	return c.w.(http.CloseNotifier).CloseNotify()
}

func (c *rewriter) Push(target string, opts *http.PushOptions) error {
	return c.w.(http.Pusher).Push(target, opts)
}

// finish runs, deferred, when the handler has returned or panicked.
func (c *rewriter) finish() {
	var p any
	if !c.returned {
		p = recover()
	}
	w, passing := c.w, c.passing
	// The handler is done with its ResponseWriter: late use fails.
	c.w, c.passing = wrap.Detached{}, true
	switch {
	case passing:
	case !c.returned:
		// Nothing reached the client. Take back the handler's headers too,
		// so that whoever handles the panic starts clean.
		replaceHeader(c.hdr, c.outer)
	default:
		c.rewrite(w)
	}
	if p != nil {
		panic(p)
	}
}

var seed = maphash.MakeSeed()

// Headers that describe the exact bytes of a body and go stale when they
// change.
var digestHeaders = []string{"Content-Digest", "Repr-Digest", "Digest", "Content-Md5"}

// rewrite hands the complete response to the function and sends what it
// leaves.
func (c *rewriter) rewrite(w http.ResponseWriter) {
	if !c.committed {
		c.committed = true
		c.status = http.StatusOK
		c.snap, c.snapTrailers = cloneHeader(c.hdr)
	}
	resp := &c.resp
	*resp = Response{Status: c.status, Header: c.snap, Body: c.buf}

	// Trailers: declared ones with the values the handler set by now,
	// and those named with the prefix. Undeclared ones that were in the
	// map before the status was committed go back in before the headers
	// are sent, the others after, as the handler did.
	resp.Trailer = httpx.Trailers(c.snap, c.hdr)
	var handlerTrailers, early []string
	for k := range resp.Trailer {
		handlerTrailers = append(handlerTrailers, k)
	}
	if c.snapTrailers {
		for k := range c.snap {
			if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
				early = append(early, http.CanonicalHeaderKey(name))
				delete(c.snap, k)
			}
		}
	}

	orig, codings := c.buf, ""
	var removed []string
	if c.c.decode != nil && len(orig) > 0 {
		if codings = codingList(resp.Header); codings != "" {
			b, names, err := decodeBody(c.c.decode, codings, orig, c.c.maxDecoded)
			if err != nil {
				resp.DecodeErr = err
			} else {
				resp.Body, removed, resp.Decoded = b, names, true
			}
		}
	}

	// What fn changed is told by comparing: the handler's validators are
	// copied (fn may change the slices in place), the body hashed.
	etag := slices.Clone(resp.Header["Etag"])
	clen := slices.Clone(resp.Header["Content-Length"])
	var digests [4][]string
	for i, k := range digestHeaders {
		digests[i] = slices.Clone(resp.Header[k])
	}
	n0, sum0 := len(resp.Body), maphash.Bytes(seed, resp.Body)

	err := c.call(resp)
	if err == nil && (resp.Status < 200 || resp.Status > 999) {
		err = fmt.Errorf("%w: %d", ErrStatus, resp.Status)
	}
	if err != nil {
		replaceHeader(c.hdr, c.outer)
		c.c.onError(w, c.r, fmt.Errorf("bodytap: rewrite: %w", err))
		return
	}

	h := resp.Header
	if h == nil {
		h = http.Header{}
	}
	contentChanged := len(resp.Body) != n0 || maphash.Bytes(seed, resp.Body) != sum0
	out, wireChanged := resp.Body, contentChanged
	if resp.Decoded {
		switch final := codingList(h); {
		case final != codings:
			// fn removed the codings (the decoded body is sent as it
			// is) or set others (Body must be in them).
			wireChanged = true
		case !contentChanged:
			out, wireChanged = orig, false
		case encodable(removed):
			if out, err = encodeBody(resp.Body, removed); err != nil {
				replaceHeader(c.hdr, c.outer)
				c.c.onError(w, c.r, fmt.Errorf("bodytap: rewrite: %w", err))
				return
			}
		default:
			// br, zstd: the standard library cannot write them, so the
			// new body goes out as identity. Vary stays: the response
			// still depends on Accept-Encoding for caches.
			delete(h, "Content-Encoding")
		}
	}

	status, head := resp.Status, c.r.Method == http.MethodHead
	// A 204 or 304 sends no body, whatever Body holds: its validators
	// still name the representation the client has (a 304's ETag is what
	// revalidation compares), so a Body set on one changes none of them.
	if wireChanged && bodyAllowed(status) {
		if v := h["Etag"]; slices.Equal(v, etag) && len(v) > 0 {
			if contentChanged {
				delete(h, "Etag")
			} else if !strings.HasPrefix(v[0], "W/") {
				h["Etag"] = []string{"W/" + v[0]}
			}
		}
		for i, k := range digestHeaders {
			if v := h[k]; len(v) > 0 && slices.Equal(v, digests[i]) {
				delete(h, k)
			}
		}
	}

	_, declaresTrailers := h["Trailer"]
	_, hasTE := h["Transfer-Encoding"]
	switch {
	case !bodyAllowed(status):
	case head && len(orig) == 0 && len(out) == 0:
		// A HEAD the handler answered with headers alone (as
		// http.ServeContent does) keeps the length it declared; once it
		// wrote a body, HEAD gets the length the GET would.
	case len(resp.Trailer) > 0 || declaresTrailers || hasTE:
		if cl := h["Content-Length"]; wireChanged && len(cl) > 0 && slices.Equal(cl, clen) {
			delete(h, "Content-Length")
		}
	default:
		c.clen[0] = strconv.Itoa(len(out))
		h["Content-Length"] = c.clen[:]
	}

	// Replay what the handler did, with fn's changes: headers, status,
	// body, then trailers. Undeclared trailers that the handler set before
	// committing its status, and those fn added, go in before the headers
	// (so that HTTP/1.1 chunks the body and can carry them); the rest after
	// the body, where the handler set them.
	replaceHeader(c.hdr, h)
	declared := declaredTrailers(h)
	var late []string
	for k, v := range resp.Trailer {
		if declared[k] || (slices.Contains(handlerTrailers, k) && !slices.Contains(early, k)) {
			late = append(late, k)
		} else {
			c.hdr[http.TrailerPrefix+k] = v
		}
	}
	w.WriteHeader(status)
	if len(out) > 0 && bodyAllowed(status) {
		// Even for HEAD: the server discards the body but sniffs its
		// Content-Type from it, as it would have from the handler's.
		w.Write(out)
	}
	c.flushIfSniffed(w)
	for _, k := range late {
		if declared[k] {
			c.hdr[k] = resp.Trailer[k]
		} else {
			c.hdr[http.TrailerPrefix+k] = resp.Trailer[k]
		}
	}
}

// call runs the function, turning a panic into an error.
func (c *rewriter) call(resp *Response) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				replaceHeader(c.hdr, c.outer)
				panic(p)
			}
			err = fmt.Errorf("%w: %v\n%s", ErrPanic, p, debug.Stack())
		}
	}()
	return c.c.fn(c.r, resp)
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// declaredTrailers returns the set of trailers h declares.
func declaredTrailers(h http.Header) map[string]bool {
	var m map[string]bool
	for _, v := range h["Trailer"] {
		for k := range strings.SplitSeq(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				if m == nil {
					m = map[string]bool{}
				}
				m[http.CanonicalHeaderKey(k)] = true
			}
		}
	}
	return m
}

// replaceHeader makes dst hold what src holds, keeping dst's identity: it
// is the map the wrapped writer reads.
func replaceHeader(dst, src http.Header) {
	clear(dst)
	for k, v := range src {
		dst[k] = v
	}
}

// cloneHeader is http.Header.Clone, which also reports whether h holds
// keys with http.TrailerPrefix.
func cloneHeader(h http.Header) (http.Header, bool) {
	n, prefixed := 0, false
	for k, v := range h {
		n += len(v)
		prefixed = prefixed || strings.HasPrefix(k, http.TrailerPrefix)
	}
	all := make([]string, n)
	c := make(http.Header, len(h))
	for k, v := range h {
		if v == nil {
			c[k] = nil
			continue
		}
		n = copy(all, v)
		c[k] = all[:n:n]
		all = all[n:]
	}
	return c, prefixed
}

func headerEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}
