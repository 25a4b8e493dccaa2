package bodytap

import (
	"encoding/hex"
	"net/http"
)

// A TraceContext is the W3C trace context (https://www.w3.org/TR/trace-context/)
// an exchange belongs to: the trace, the span, and the trace flags (bit 0:
// sampled). The zero value means none.
type TraceContext struct {
	TraceID [16]byte
	SpanID  [8]byte
	Flags   byte
}

// IsValid reports whether tc names a trace and a span: both IDs non-zero.
func (tc TraceContext) IsValid() bool {
	return tc.TraceID != [16]byte{} && tc.SpanID != [8]byte{}
}

// String returns tc in the traceparent header's form,
// "00-<trace-id>-<span-id>-<flags>", or "" for an invalid tc.
func (tc TraceContext) String() string {
	if !tc.IsValid() {
		return ""
	}
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, tc.TraceID[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, tc.SpanID[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, []byte{tc.Flags})
	return string(b)
}

// ParseTraceparent parses a traceparent header value. It accepts version
// 00 exactly and, as the specification asks, later versions by their first
// four fields; it refuses all-zero IDs and version ff.
func ParseTraceparent(s string) (TraceContext, bool) {
	var tc TraceContext
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' || (len(s) > 55 && (s[:2] == "00" || s[55] != '-')) {
		return tc, false
	}
	var version [1]byte
	if !decodeLowerHex(version[:], s[0:2]) || version[0] == 0xff ||
		!decodeLowerHex(tc.TraceID[:], s[3:35]) ||
		!decodeLowerHex(tc.SpanID[:], s[36:52]) {
		return TraceContext{}, false
	}
	var flags [1]byte
	if !decodeLowerHex(flags[:], s[53:55]) {
		return TraceContext{}, false
	}
	tc.Flags = flags[0]
	if !tc.IsValid() {
		return TraceContext{}, false
	}
	return tc, true
}

// decodeLowerHex decodes s, lower-case hex only as traceparent requires,
// into dst, which must be len(s)/2 long.
func decodeLowerHex(dst []byte, s string) bool {
	for i := range dst {
		hi, ok1 := lowerHex(s[2*i])
		lo, ok2 := lowerHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// traceOf returns the trace context of r: Config.Trace's answer if it
// has one, else the request's traceparent header.
func (t *Tap) traceOf(r *http.Request) TraceContext {
	if t.trace != nil {
		if tc, ok := t.trace(r); ok && tc.IsValid() {
			return tc
		}
	}
	if v := r.Header["Traceparent"]; len(v) == 1 {
		tc, _ := ParseTraceparent(v[0])
		return tc
	}
	return TraceContext{}
}
