package otlp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/media"
)

// EventName is the event name of the LogRecord of an exchange: what
// [Receiver] and bodytap collect recognize bodytap's records by.
const EventName = "bodytap.exchange"

// Attribute keys. Those of the OpenTelemetry semantic conventions come
// first; the bodytap.* ones hold what the conventions have no attribute for,
// or the exact value when the convention's form would change it.
const (
	keyMethod         = "http.request.method"
	keyMethodOriginal = "http.request.method_original"
	keyURLFull        = "url.full"
	keyURLScheme      = "url.scheme"
	keyURLPath        = "url.path"
	keyURLQuery       = "url.query"
	keyRoute          = "http.route"
	keyStatus         = "http.response.status_code"
	keyReqSize        = "http.request.body.size"
	keyRespSize       = "http.response.body.size"
	keyReqContent     = "http.request.body.content"
	keyRespContent    = "http.response.body.content"
	keyProtoName      = "network.protocol.name"
	keyProtoVersion   = "network.protocol.version"
	keyClientAddress  = "client.address"
	keyClientPort     = "client.port"
	keyServerAddress  = "server.address"
	keyServerPort     = "server.port"
	keyUserAgent      = "user_agent.original"
	keyErrorType      = "error.type"

	keyID            = "bodytap.id"
	keyStart         = "bodytap.start"
	keyDuration      = "bodytap.duration_ns"
	keyTimeToHeaders = "bodytap.time_to_headers_ns"
	keyBTRoute       = "bodytap.route"
	keyProto         = "bodytap.request.proto"
	keyHost          = "bodytap.request.host"
	keyRemoteAddr    = "bodytap.request.remote_addr"
	keyContentLength = "bodytap.request.content_length"
	keyReqHeader     = "bodytap.request.header"
	keyRespHeader    = "bodytap.response.header"
	keyTrailer       = "bodytap.response.trailer"
	keyInformational = "bodytap.response.informational"
	keyChunks        = "bodytap.response.chunks"
	keyChunksOmitted = "bodytap.response.chunks_omitted"
	keyHijacked      = "bodytap.hijacked"
	keyError         = "bodytap.error"
	keyDetected      = "bodytap.detected"

	// Prefixes of the body flags: bodytap.request.body.truncated and so
	// on.
	prefixReqBody  = "bodytap.request.body."
	prefixRespBody = "bodytap.response.body."
)

// Suffixes of the body attributes under prefixReqBody and prefixRespBody.
const (
	bodyTruncated = "truncated"
	bodyEOF       = "eof"
	bodyDecoded   = "decoded"
	bodyRedacted  = "redacted"
	bodyWithheld  = "withheld"
	bodyError     = "error"
	bodyEncoded   = "encoded" // the copy, still in its content coding
	bodyTail      = "tail"    // the bytes of a character the cap cut off
)

// knownMethods are the methods http.request.method may hold; any other
// goes as "_OTHER", with http.request.method_original.
var knownMethods = map[string]bool{
	"CONNECT": true, "DELETE": true, "GET": true, "HEAD": true, "OPTIONS": true,
	"PATCH": true, "POST": true, "PUT": true, "TRACE": true,
}

// NewRecord returns the LogRecord of x, in the form the package doc
// describes, and ctx with x's trace context as its span context, for
// log.Logger.Emit: the OpenTelemetry SDK takes a record's trace and span
// IDs from the context it is emitted with.
//
// The record shares x's body copies.
func NewRecord(ctx context.Context, x *bodytap.Exchange) (context.Context, log.Record) {
	var r log.Record
	r.SetEventName(EventName)
	sev, text := severity(x)
	r.SetSeverity(sev)
	r.SetSeverityText(text)
	if ts, ok := timestamp(x.Start); ok {
		r.SetTimestamp(ts)
		r.SetObservedTimestamp(ts)
	} else {
		// Outside what a Unix time in nanoseconds holds: the exact text.
		r.AddAttributes(log.String(keyStart, x.Start.UTC().Format(time.RFC3339Nano)))
		r.SetObservedTimestamp(time.Now())
	}
	r.SetBody(log.StringValue(summary(x)))
	attrs := make([]log.KeyValue, 0, 32)
	attrs = appendExchange(attrs, x)
	r.AddAttributes(attrs...)
	if tc := x.Trace; tc != (bodytap.TraceContext{}) {
		ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    tc.TraceID,
			SpanID:     tc.SpanID,
			TraceFlags: trace.TraceFlags(tc.Flags),
		}))
	}
	return ctx, r
}

// timestamp returns t if a LogRecord's time (Unix nanoseconds, unsigned)
// holds it exactly, with 0 meaning unknown.
func timestamp(t time.Time) (time.Time, bool) {
	if t.Before(time.Unix(0, 1)) || t.After(time.Unix(0, 1<<63-1)) {
		return time.Time{}, false
	}
	return t, true
}

// severity is ERROR for a server error or a failed exchange, WARN for a
// client error, INFO otherwise.
func severity(x *bodytap.Exchange) (log.Severity, string) {
	switch s := x.Response.Status; {
	case s >= 500 || x.Err != nil:
		return log.SeverityError, "ERROR"
	case s >= 400:
		return log.SeverityWarn, "WARN"
	}
	return log.SeverityInfo, "INFO"
}

// summary is the record's body: a line such as a log viewer shows,
// "POST http://example.com/items 201".
func summary(x *bodytap.Exchange) string {
	var b strings.Builder
	b.WriteString(x.Request.Method)
	if u := x.Request.URL; u != nil {
		b.WriteByte(' ')
		b.WriteString(u.String())
	}
	if x.Response.Status != 0 {
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(x.Response.Status))
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// appendExchange appends the attributes of x.
func appendExchange(a []log.KeyValue, x *bodytap.Exchange) []log.KeyValue {
	req, resp := &x.Request, &x.Response
	a = append(a, log.String(keyID, x.ID.String()))

	if knownMethods[req.Method] {
		a = append(a, log.String(keyMethod, req.Method))
	} else {
		a = append(a, log.String(keyMethod, "_OTHER"), strAttr(keyMethodOriginal, req.Method))
	}
	if u := req.URL; u != nil {
		a = append(a, strAttr(keyURLFull, u.String()))
		if u.Scheme != "" {
			a = append(a, strAttr(keyURLScheme, u.Scheme))
		}
		if u.Path != "" {
			a = append(a, strAttr(keyURLPath, u.Path))
		}
		if u.RawQuery != "" {
			a = append(a, strAttr(keyURLQuery, u.RawQuery))
		}
	}
	if x.Route != "" {
		tmpl := routeTemplate(x.Route)
		if tmpl != "" {
			a = append(a, strAttr(keyRoute, tmpl))
		}
		if tmpl != x.Route {
			a = append(a, strAttr(keyBTRoute, x.Route))
		}
	}
	if resp.Status != 0 {
		a = append(a, log.Int(keyStatus, resp.Status))
	}
	a = append(a, log.Int64(keyReqSize, req.Body.Size), log.Int64(keyRespSize, resp.Body.Size))

	if v, ok := protoVersion(req.Proto); ok {
		a = append(a, log.String(keyProtoName, "http"), log.String(keyProtoVersion, v))
	} else if req.Proto != "" {
		a = append(a, strAttr(keyProto, req.Proto))
	}
	a = appendAddr(a, req.RemoteAddr, keyClientAddress, keyClientPort, keyRemoteAddr)
	a = appendAddr(a, req.Host, keyServerAddress, keyServerPort, keyHost)
	if ua := req.Header["User-Agent"]; len(ua) > 0 && utf8.ValidString(ua[0]) {
		a = append(a, log.String(keyUserAgent, ua[0]))
	}
	if t := errorType(x); t != "" {
		a = append(a, log.String(keyErrorType, t))
	}

	a = append(a, log.Int64(keyDuration, int64(x.Duration)), log.Int64(keyTimeToHeaders, int64(x.TimeToHeaders)))
	a = append(a, log.Int64(keyContentLength, req.ContentLength))
	if req.Header != nil {
		a = append(a, log.KeyValue{Key: keyReqHeader, Value: headerValue(req.Header)})
	}
	if resp.Header != nil {
		a = append(a, log.KeyValue{Key: keyRespHeader, Value: headerValue(resp.Header)})
	}
	if resp.Trailer != nil {
		a = append(a, log.KeyValue{Key: keyTrailer, Value: headerValue(resp.Trailer)})
	}
	if resp.Informational != nil {
		vs := make([]log.Value, len(resp.Informational))
		for i, in := range resp.Informational {
			kvs := []log.KeyValue{log.Int("status", in.Status)}
			if in.Header != nil {
				kvs = append(kvs, log.KeyValue{Key: "header", Value: headerValue(in.Header)})
			}
			vs[i] = log.MapValue(kvs...)
		}
		a = append(a, log.Slice(keyInformational, vs...))
	}
	if resp.Chunks != nil {
		vs := make([]log.Value, len(resp.Chunks))
		for i, c := range resp.Chunks {
			vs[i] = log.MapValue(log.Int64("offset", c.Offset), log.Int64("at_ns", int64(c.At)))
		}
		a = append(a, log.Slice(keyChunks, vs...))
	}
	if resp.ChunksOmitted != 0 {
		a = append(a, log.Int(keyChunksOmitted, resp.ChunksOmitted))
	}
	a = appendBody(a, &req.Body, req.Header, keyReqContent, prefixReqBody)
	a = appendBody(a, &resp.Body, resp.Header, keyRespContent, prefixRespBody)
	if x.Hijacked {
		a = append(a, log.Bool(keyHijacked, true))
	}
	if x.Err != nil {
		a = append(a, strAttr(keyError, x.Err.Error()))
	}
	if x.Detected != 0 {
		names := x.Detected.Names()
		vs := make([]log.Value, len(names))
		for i, n := range names {
			vs[i] = log.StringValue(n)
		}
		a = append(a, log.Slice(keyDetected, vs...))
	}
	return a
}

// appendBody appends the attributes of body, sent with header h: its copy
// under content (the convention's attribute), its flags under prefix.
//
// The convention wants the content with its content coding removed, as a
// string when it is text and as bytes otherwise, never in base64. A copy
// still in a content coding goes under prefix+"encoded" instead. A text
// copy that the capture cap cut inside a character goes as the string up
// to that character, and the cut bytes under prefix+"tail", so that the
// string stays valid text and nothing is lost.
func appendBody(a []log.KeyValue, body *bodytap.Body, h http.Header, content, prefix string) []log.KeyValue {
	if p := body.Bytes; len(p) > 0 {
		switch {
		case body.Decoded == "" && hasContentCoding(h):
			a = append(a, log.Bytes(prefix+bodyEncoded, p))
		case media.IsTextBody(h, body.Decoded != "", p):
			text := p
			if body.Truncated {
				text = media.TrimCutRune(p)
			}
			if utf8.Valid(text) {
				a = append(a, log.String(content, string(text)))
				if len(text) < len(p) {
					a = append(a, log.Bytes(prefix+bodyTail, p[len(text):]))
				}
				break
			}
			a = append(a, log.Bytes(content, p))
		default:
			a = append(a, log.Bytes(content, p))
		}
	}
	if body.Truncated {
		a = append(a, log.Bool(prefix+bodyTruncated, true))
	}
	if body.EOF {
		a = append(a, log.Bool(prefix+bodyEOF, true))
	}
	if body.Decoded != "" {
		a = append(a, strAttr(prefix+bodyDecoded, body.Decoded))
	}
	if body.Redacted {
		a = append(a, log.Bool(prefix+bodyRedacted, true))
	}
	if body.Withheld {
		a = append(a, log.Bool(prefix+bodyWithheld, true))
	}
	if body.Err != nil {
		a = append(a, strAttr(prefix+bodyError, body.Err.Error()))
	}
	return a
}

// hasContentCoding reports whether h names a content coding other than
// identity.
func hasContentCoding(h http.Header) bool {
	for _, ce := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(ce, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return true
			}
		}
	}
	return false
}

// strAttr returns s as a string attribute, or as bytes when s is not
// valid UTF-8, which an OTLP string may not hold.
func strAttr(key, s string) log.KeyValue {
	return log.KeyValue{Key: key, Value: strValue(s)}
}

func strValue(s string) log.Value {
	if utf8.ValidString(s) {
		return log.StringValue(s)
	}
	return log.BytesValue([]byte(s))
}

// headerValue returns h as a map from each name to the list of its values,
// names sorted; nil values are an empty value. A header with a name that
// is not valid UTF-8 (which the map's keys cannot hold) goes as a list of
// [name, values] pairs instead.
func headerValue(h http.Header) log.Value {
	keys := make([]string, 0, len(h))
	valid := true
	for k := range h {
		keys = append(keys, k)
		valid = valid && utf8.ValidString(k)
	}
	slices.Sort(keys)
	values := func(vs []string) log.Value {
		if vs == nil {
			return log.Value{}
		}
		out := make([]log.Value, len(vs))
		for i, v := range vs {
			out[i] = strValue(v)
		}
		return log.SliceValue(out...)
	}
	if valid {
		kvs := make([]log.KeyValue, len(keys))
		for i, k := range keys {
			kvs[i] = log.KeyValue{Key: k, Value: values(h[k])}
		}
		return log.MapValue(kvs...)
	}
	pairs := make([]log.Value, len(keys))
	for i, k := range keys {
		pairs[i] = log.SliceValue(strValue(k), values(h[k]))
	}
	return log.SliceValue(pairs...)
}

// routeTemplate returns the path template of route, as http.route wants
// it: a ServeMux pattern ("POST example.com/items/{id}") loses its method
// and host. Another route is returned as it is if it starts with "/", else
// "" (then only bodytap.route holds it).
func routeTemplate(route string) string {
	if i := strings.IndexByte(route, '/'); i >= 0 {
		head := route[:i]
		method, host, found := strings.Cut(head, " ")
		if !found {
			host, method = head, ""
		}
		if !strings.ContainsAny(method, " \t") && !strings.ContainsAny(host, " \t") {
			return route[i:]
		}
	}
	return ""
}

// protoVersion returns the network.protocol.version of proto ("1.1" for
// "HTTP/1.1", "2" for "HTTP/2.0"), if parseProto gives proto back from it.
func protoVersion(proto string) (string, bool) {
	v, ok := strings.CutPrefix(proto, "HTTP/")
	if !ok || v == "" {
		return "", false
	}
	v = strings.TrimSuffix(v, ".0")
	if v == "1" {
		v = "1.0"
	}
	return v, protoFromVersion(v) == proto
}

// protoFromVersion undoes protoVersion.
func protoFromVersion(v string) string {
	if !strings.Contains(v, ".") {
		v += ".0"
	}
	return "HTTP/" + v
}

// appendAddr appends addr (a host:port) as the address and port
// attributes if they give addr back exactly, else as exact.
func appendAddr(a []log.KeyValue, addr, keyAddr, keyPort, exact string) []log.KeyValue {
	if addr == "" {
		return a
	}
	host, port, ok := splitAddr(addr)
	if ok {
		a = append(a, log.String(keyAddr, host))
		if port >= 0 {
			a = append(a, log.Int(keyPort, port))
		}
		return a
	}
	return append(a, strAttr(exact, addr))
}

// splitAddr splits addr into host and port (-1 for none) when joinAddr
// gives it back exactly.
func splitAddr(addr string) (host string, port int, ok bool) {
	if !utf8.ValidString(addr) {
		return "", 0, false
	}
	port = -1
	host = addr
	if h, p, err := net.SplitHostPort(addr); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return "", 0, false
		}
		host, port = h, n
	}
	if host == "" || joinAddr(host, port) != addr {
		return "", 0, false
	}
	return host, port, true
}

// joinAddr undoes splitAddr.
func joinAddr(host string, port int) string {
	if port < 0 {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// errorType is the error.type of x: a short name of what went wrong, or
// the status code of a server error, as the conventions ask.
func errorType(x *bodytap.Exchange) string {
	switch err := x.Err; {
	case err == nil:
	case errors.Is(err, bodytap.ErrClientGone):
		return "client_gone"
	case errors.Is(err, bodytap.ErrHandlerPanic):
		return "handler_panic"
	case errors.Is(err, bodytap.ErrAborted):
		return "aborted"
	case errors.Is(err, bodytap.ErrHijacked):
		return "hijacked"
	default:
		return "_OTHER"
	}
	if s := x.Response.Status; s >= 500 && s <= 599 {
		return strconv.Itoa(s)
	}
	return ""
}
