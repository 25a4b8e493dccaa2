package bodytap

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/bodytap/bodytap/internal/spill"
)

// An Exchange is one request and its response as they passed through a
// [Tap]: the one data model that every sink, the store, HAR export, the CLI
// and the viewer share.
//
// The Tap fills an Exchange on the request path and hands it to the
// [Sink] when the handler has returned. From then on the Exchange belongs
// to the sink: the Tap never touches it again, so the sink may keep it,
// change it or pass it to another goroutine.
type Exchange struct {
	// ID identifies the exchange. IDs sort by the time the request
	// arrived (to the millisecond) and are unique across processes with
	// overwhelming probability.
	ID ID

	// Start is when the Tap received the request.
	Start time.Time

	// Duration runs from Start until the handler returned.
	Duration time.Duration

	// TimeToHeaders runs from Start until the final response headers
	// were handed to the server (0 if they never were, as after a
	// hijack).
	TimeToHeaders time.Duration

	// Route is the pattern that matched the request, when the router
	// exposes one: the Go 1.22+ ServeMux pattern (http.Request.Pattern) by
	// default, or what [Config.Route] returns.
	Route string

	// Trace is the W3C trace context of the request: the server span's
	// IDs when [Config.Trace] supplies them (package oteltrace does, for
	// OpenTelemetry), else the traceparent header the request carried
	// (its span ID is then the caller's). Zero when there is none.
	Trace TraceContext

	Request  Request
	Response Response

	// Detected lists the value detectors that found a secret somewhere in
	// the exchange (URL, headers or bodies) and had it replaced, whatever
	// name it was under; see [Redaction]. Zero when none did, or when
	// redaction is off.
	Detected Detector

	// Hijacked reports that the handler took over the connection
	// (http.Hijacker). Bytes written to a hijacked connection are not
	// captured.
	Hijacked bool

	// Err says what went wrong, if anything: the client went away
	// ([ErrClientGone]), a write to the client failed, the handler
	// panicked ([ErrHandlerPanic]) or aborted ([ErrAborted]), or the
	// connection was hijacked ([ErrHijacked]). Nil for an exchange that
	// completed normally.
	Err error

	// url holds the copy that Request.URL points to, so that building an
	// Exchange costs one allocation less.
	url url.URL

	// notes are the functions Annotate added, run before redaction.
	notes []func(*Exchange)

	// owner is the pooled state x lives in when the Tap reuses
	// exchanges, nil otherwise.
	owner *rw
}

// Request is the request half of an [Exchange].
type Request struct {
	Method string

	// URL is the absolute URL of the request: its scheme comes from the
	// connection (https when it used TLS) and its host from Host.
	URL *url.URL

	Proto      string
	Host       string
	RemoteAddr string

	// Header is the request's header map. Following net/http's rule that
	// handlers do not modify the Request they are given, the Tap shares
	// the map instead of copying it.
	Header http.Header

	// ContentLength is the length the client declared: -1 if unknown,
	// 0 for no body. Body.Size is what the handler actually read.
	ContentLength int64

	Body Body
}

// Response is the response half of an [Exchange].
type Response struct {
	// Status is the final status code sent; 0 if none was (the handler
	// hijacked the connection, or aborted before writing anything).
	// Informational 1xx responses are never taken for it.
	Status int

	// Header is a copy of the header map as it was when the final headers
	// were sent; headers set later never reached the client and are not
	// here. Headers the server adds itself (Date, a Content-Length it
	// computed, a sniffed Content-Type) are not included.
	Header http.Header

	// Trailer holds the trailers the handler set: those it declared in the
	// Trailer header and those it set with the http.TrailerPrefix. Nil if
	// none.
	Trailer http.Header

	// Informational lists the 1xx responses (such as 103 Early Hints)
	// sent before the final one, in order.
	Informational []Informational

	Body Body

	// Chunks tells when the body of a streamed response (server-sent
	// events, a long download sent in parts) went out: each time the
	// handler flushed with more of the body written since the last
	// flush (http.Flusher, http.ResponseController's Flush), and each
	// ReadFrom that may have sent bytes itself, adds one [Chunk]. What
	// is written after the last one goes out when the handler returns,
	// at Duration. Nil for a response that was never flushed, as most
	// are: for them the Tap records nothing and allocates nothing.
	//
	// At most [MaxChunks] are kept, the first ones; ChunksOmitted
	// counts the flushes past them.
	Chunks []Chunk

	// ChunksOmitted counts the flushes that would have added a Chunk
	// past [MaxChunks].
	ChunksOmitted int
}

// MaxChunks is how many [Chunk]s a Tap records for one response; a
// stream that flushes more often is counted in Response.ChunksOmitted.
const MaxChunks = 64

// A Chunk marks a point where part of a streamed response body was
// flushed to the client.
type Chunk struct {
	// Offset is how many bytes of the body had been sent at that point,
	// counted as Body.Size counts them: on the wire, before any content
	// coding was undone (see Body.Decoded).
	Offset int64

	// At is when, since Exchange.Start.
	At time.Duration
}

// Informational is a 1xx response sent before the final response.
type Informational struct {
	Status int
	Header http.Header
}

// Body is a captured body: a bounded copy of its first bytes and the count
// of every byte that passed.
type Body struct {
	// Bytes is the kept copy, exactly as on the wire (still compressed if
	// the body was): at most the configured cap.
	Bytes []byte

	// Size counts every byte that really passed: for a request, what the
	// handler read; for a response, what the ResponseWriter accepted.
	Size int64

	// Truncated reports that Bytes holds only the first part of the body
	// because it was larger than the cap.
	Truncated bool

	// EOF reports that the whole body was seen. For a request it is false
	// when the handler read the body only partly or not at all: Size then
	// counts only what it read, and the rest is never invented. For a
	// response it is false when the handler panicked, or the write failed.
	EOF bool

	// Decoded names the content codings (as in Content-Encoding, e.g.
	// "gzip") that were undone in Bytes before the sink saw them. Empty
	// when Bytes are exactly as on the wire. Size always counts wire
	// bytes.
	Decoded string

	// Redacted reports that values in Bytes were replaced by redaction
	// before the sink saw them.
	Redacted bool

	// Withheld reports that the copy was dropped before the sink saw it,
	// because it could not be made safe to keep (say, a body in an
	// encoding that could not be decoded for redaction). Err says why.
	Withheld bool

	// Err says what went wrong preparing the copy: a body that failed to
	// decode, a spill file that could not be written. The response on the
	// wire is never affected.
	Err error

	// spill is the part of the copy past Bytes, on disk (Config.SpillDir).
	spill *spill.File
}

// errJSONMoved is what encoding/json reports for an Exchange: its JSON
// form is package jsonl's, and the default struct encoding would be
// silently different.
var errJSONMoved = errors.New("bodytap: the JSON form of an Exchange is in package jsonl: use jsonl.Marshal and jsonl.Unmarshal")

// MarshalJSON fails with an error that points to package jsonl.
//
// Deprecated: the JSON form of an Exchange moved to package jsonl; use
// jsonl.Marshal. This method stays so that json.Marshal of an Exchange
// fails loudly instead of writing a different, undocumented form.
func (x Exchange) MarshalJSON() ([]byte, error) { return nil, errJSONMoved }

// UnmarshalJSON fails with an error that points to package jsonl.
//
// Deprecated: use jsonl.Unmarshal.
func (x *Exchange) UnmarshalJSON([]byte) error { return errJSONMoved }
