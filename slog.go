package bodytap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bodytap/bodytap/internal/media"
)

// DefaultSlogBodyBytes is how many bytes of each body a log record shows
// when [SlogOptions.MaxBodyBytes] is zero, and what [Exchange.LogValue]
// shows.
const DefaultSlogBodyBytes = 1 << 10

// DefaultSlogMessage is the message of the records a [SlogSink] logs when
// [SlogOptions.Message] is empty.
const DefaultSlogMessage = "http exchange"

// SlogOptions configures a [SlogSink]. The zero value logs each exchange
// with the message "http exchange", at the level [SlogLevel] chooses,
// with the first 1 KiB of each body and no headers.
type SlogOptions struct {
	// Message is the message of every record. Empty means
	// DefaultSlogMessage.
	Message string

	// Level chooses the level of an exchange's record. Nil means
	// SlogLevel: Error for a 5xx status or an exchange with an error, Warn
	// for 4xx, Info otherwise.
	Level func(x *Exchange) slog.Level

	// MaxBodyBytes is how many bytes of each body's copy a record shows.
	// Zero means DefaultSlogBodyBytes (1 KiB); a negative value shows no
	// body bytes (sizes and flags are still logged).
	MaxBodyBytes int

	// Headers adds the request and response headers (and trailers) to
	// each record. The Tap has redacted credentials in them by then,
	// unless redaction is disabled.
	Headers bool
}

// SlogSink is a [Sink] that logs each exchange as one log/slog record.
// Create one with [NewSlogSink]. It is safe for concurrent use.
//
// A record carries the attributes of [Exchange.LogValue], at the top level
// (use [slog.Logger.WithGroup] to nest them): id, method, url, route,
// status, duration, time_to_headers, request and response groups with the
// bodies (and headers, if [SlogOptions.Headers]), hijacked and error.
type SlogSink struct {
	logger *slog.Logger
	opts   SlogOptions
}

var _ ReusingSink = (*SlogSink)(nil)

// ReusesExchanges reports true: a SlogSink logs copies (strings, numbers)
// of what it takes from an exchange, never the exchange's own memory, so
// a Tap may reuse it (see [ReusingSink]).
func (s *SlogSink) ReusesExchanges() bool { return true }

// NewSlogSink returns a sink that logs each exchange to l. A nil l means
// slog.Default(), looked up at each record.
func NewSlogSink(l *slog.Logger, opts SlogOptions) *SlogSink {
	return &SlogSink{logger: l, opts: opts}
}

// SlogLevel is the level a [SlogSink] gives an exchange by default:
// slog.LevelError for a 5xx status or a failure on the server's side (the
// handler panicked or aborted, a write failed), slog.LevelWarn for a 4xx
// status or a client that went away ([ErrClientGone]), slog.LevelInfo
// otherwise, a hijacked connection (a WebSocket, say) included. Set
// [SlogOptions.Level] to decide otherwise.
func SlogLevel(x *Exchange) slog.Level {
	s := x.Response.Status
	switch {
	case s >= 500:
		return slog.LevelError
	case x.Err == nil, errors.Is(x.Err, ErrHijacked):
	case errors.Is(x.Err, ErrClientGone):
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
	if s >= 400 {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// Record logs x. It builds the record only if the logger is enabled at
// x's level.
func (s *SlogSink) Record(x *Exchange) {
	l := s.logger
	if l == nil {
		l = slog.Default()
	}
	level := s.opts.Level
	if level == nil {
		level = SlogLevel
	}
	lv := level(x)
	ctx := context.Background()
	if !l.Enabled(ctx, lv) {
		return
	}
	msg := s.opts.Message
	if msg == "" {
		msg = DefaultSlogMessage
	}
	l.LogAttrs(ctx, lv, msg, logAttrs(x, &s.opts)...)
}

// LogValue implements slog.LogValuer: logged as an attribute, an Exchange
// is a group of
//
//	id               the ULID text of ID
//	method, url      the request's
//	route            when not empty
//	status           the response's
//	duration         Duration, a time.Duration (JSON handlers write nanoseconds)
//	time_to_headers  TimeToHeaders
//	request          a group: body (below), and headers when asked for
//	response         a group: body, and headers and trailers when asked for
//	detected         the names of the value detectors that found a secret
//	                 (Detected, as "jwt,card"), when any did
//	hijacked         true, when the connection was hijacked
//	error            Err's text, when there is one
//
// and each body is a group of
//
//	size       Body.Size, when not zero
//	text       a preview of the copy, when it is text (see below)
//	binary     "(N bytes, binary)" instead of text, for a binary copy
//	cut        how many bytes of the copy the preview leaves out, when any
//	truncated  true, when the copy holds only the first part of the body
//	eof        false, when the body was not seen to its end
//	decoded, redacted, withheld, error  Body's, when set
//
// A copy is text when its Content-Type says so (text/*, JSON, XML,
// JavaScript, form data, YAML, …) or, with no or a generic Content-Type,
// when it is UTF-8 without control bytes; one still in a content coding
// is binary. A preview shows at most DefaultSlogBodyBytes (1 KiB) of the
// copy, cut at a character boundary and ended with "…" when cut; bytes
// that are not UTF-8 show as U+FFFD. Binary copies are not shown (base64
// makes long lines that no one reads in a log): use package jsonl to
// keep them. Empty groups, such as the body of a GET, are left out by slog.
//
// Headers are not part of LogValue; a [SlogSink] adds them when
// [SlogOptions.Headers] is set, as groups of name=value, with the values
// of a repeated header joined by ", ".
func (x Exchange) LogValue() slog.Value {
	return slog.GroupValue(logAttrs(&x, &SlogOptions{})...)
}

// logAttrs returns the attributes of x's log record, as LogValue documents.
func logAttrs(x *Exchange, o *SlogOptions) []slog.Attr {
	limit := o.MaxBodyBytes
	if limit == 0 {
		limit = DefaultSlogBodyBytes
	}
	u := ""
	if x.Request.URL != nil {
		u = x.Request.URL.String()
	}
	as := make([]slog.Attr, 0, 12)
	as = append(as,
		slog.String("id", x.ID.String()),
		slog.String("method", x.Request.Method),
		slog.String("url", u))
	if x.Route != "" {
		as = append(as, slog.String("route", x.Route))
	}
	as = append(as,
		slog.Int("status", x.Response.Status),
		slog.Duration("duration", x.Duration),
		slog.Duration("time_to_headers", x.TimeToHeaders))

	req := make([]slog.Attr, 0, 2)
	if o.Headers {
		req = appendHeader(req, "headers", x.Request.Header)
	}
	req = appendBody(req, &x.Request.Body, x.Request.Header, limit)
	as = append(as, slog.Attr{Key: "request", Value: slog.GroupValue(req...)})

	resp := make([]slog.Attr, 0, 3)
	if o.Headers {
		resp = appendHeader(resp, "headers", x.Response.Header)
		resp = appendHeader(resp, "trailers", x.Response.Trailer)
	}
	resp = appendBody(resp, &x.Response.Body, x.Response.Header, limit)
	as = append(as, slog.Attr{Key: "response", Value: slog.GroupValue(resp...)})

	if x.Detected&AllDetectors != 0 {
		as = append(as, slog.String("detected", x.Detected.String()))
	}
	if x.Hijacked {
		as = append(as, slog.Bool("hijacked", true))
	}
	if x.Err != nil {
		as = append(as, slog.String("error", x.Err.Error()))
	}
	return as
}

// appendHeader appends h as a group named key, names sorted for a stable
// output; nothing if h is empty.
func appendHeader(as []slog.Attr, key string, h http.Header) []slog.Attr {
	if len(h) == 0 {
		return as
	}
	hs := make([]slog.Attr, 0, len(h))
	for _, name := range slices.Sorted(maps.Keys(h)) {
		hs = append(hs, slog.String(name, strings.Join(h[name], ", ")))
	}
	return append(as, slog.Attr{Key: key, Value: slog.GroupValue(hs...)})
}

// appendBody appends b, a body sent with header h, as a group named
// "body", its preview at most limit bytes (none if limit < 0).
func appendBody(as []slog.Attr, b *Body, h http.Header, limit int) []slog.Attr {
	bs := make([]slog.Attr, 0, 4)
	if b.Size != 0 {
		bs = append(bs, slog.Int64("size", b.Size))
	}
	if p := b.Bytes; len(p) > 0 && limit > 0 {
		cut := 0
		if len(p) > limit {
			n := limit
			// Back up to the start of the character the cap splits,
			// if it is one; at most UTFMax-1 bytes, whatever p holds.
			for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(p[n]); i++ {
				n--
			}
			cut = len(p) - n
			p = p[:n]
		}
		if media.IsTextBody(h, b.Decoded != "", p) {
			s := strings.ToValidUTF8(string(p), "\uFFFD")
			if cut > 0 {
				s += "…"
			}
			bs = append(bs, slog.String("text", s))
			if cut > 0 {
				bs = append(bs, slog.Int("cut", cut))
			}
		} else {
			bs = append(bs, slog.String("binary", fmt.Sprintf("(%d bytes, binary)", len(b.Bytes))))
		}
	}
	if b.Truncated {
		bs = append(bs, slog.Bool("truncated", true))
	}
	if !b.EOF {
		bs = append(bs, slog.Bool("eof", false))
	}
	if b.Decoded != "" {
		bs = append(bs, slog.String("decoded", b.Decoded))
	}
	if b.Redacted {
		bs = append(bs, slog.Bool("redacted", true))
	}
	if b.Withheld {
		bs = append(bs, slog.Bool("withheld", true))
	}
	if b.Err != nil {
		bs = append(bs, slog.String("error", b.Err.Error()))
	}
	return append(as, slog.Attr{Key: "body", Value: slog.GroupValue(bs...)})
}
