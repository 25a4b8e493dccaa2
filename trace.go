package bodytap

import (
	"encoding/hex"
	"fmt"
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
	b, _ := tc.AppendText(nil)
	return string(b)
}

// AppendText implements encoding.TextAppender: it appends tc's String
// form (nothing for an invalid tc) to b.
func (tc TraceContext) AppendText(b []byte) ([]byte, error) {
	if !tc.IsValid() {
		return b, nil
	}
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, tc.TraceID[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, tc.SpanID[:])
	b = append(b, '-')
	return hex.AppendEncode(b, []byte{tc.Flags}), nil
}

// MarshalText implements encoding.TextMarshaler, as String.
func (tc TraceContext) MarshalText() ([]byte, error) { return tc.AppendText(make([]byte, 0, 55)) }

// UnmarshalText implements encoding.TextUnmarshaler: the traceparent form
// ([ParseTraceparent]); empty text is the zero TraceContext.
func (tc *TraceContext) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*tc = TraceContext{}
		return nil
	}
	v, ok := ParseTraceparent(string(b))
	if !ok {
		return fmt.Errorf("bodytap: malformed trace context %q", b)
	}
	*tc = v
	return nil
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
