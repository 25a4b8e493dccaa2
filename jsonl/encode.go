package jsonl

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/media"
)

// The JSON form of an Exchange is written by hand rather than through
// encoding/json: reflection made it the largest cost of storing an
// exchange. The output is byte for byte what json.Encoder, with HTML
// escaping off, writes for the exchangeJSON schema in decode.go (field
// order, omitempty, sorted header keys, string escaping); the
// differential test in encode_test.go holds the two together, so a field
// added to the schema must be added here too.

// Marshal returns the JSON form of x (see the package doc), without a
// newline. It fails only for a Start outside the years 0 to 9999.
func Marshal(x *bodytap.Exchange) ([]byte, error) {
	b, err := Append(make([]byte, 0, sizeHint(x)), x)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Append appends the JSON form of x (see the package doc), without a
// newline, to dst and returns the extended buffer. On error it returns
// dst unchanged.
func Append(dst []byte, x *bodytap.Exchange) ([]byte, error) {
	start := x.Start.UTC()
	if y := start.Year(); y < 0 || y > 9999 {
		return dst, jsonStartError(start)
	}
	b := append(dst, `{"id":`...)
	b = appendJSONID(b, x.ID)
	b = append(b, `,"start":"`...)
	b = start.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","duration_ns":`...)
	b = strconv.AppendInt(b, int64(x.Duration), 10)
	b = append(b, `,"time_to_headers_ns":`...)
	b = strconv.AppendInt(b, int64(x.TimeToHeaders), 10)
	b = appendJSONStringField(b, `,"route":`, x.Route)
	if x.Trace.IsValid() {
		b = append(b, `,"trace":"`...)
		b, _ = x.Trace.AppendText(b)
		b = append(b, '"')
	}
	b = append(b, `,"request":`...)
	b = appendJSONRequest(b, &x.Request)
	b = append(b, `,"response":`...)
	b = appendJSONResponse(b, &x.Response)
	if x.Detected&bodytap.AllDetectors != 0 {
		b = appendJSONDetected(b, x.Detected)
	}
	if x.Hijacked {
		b = append(b, `,"hijacked":true`...)
	}
	b = appendJSONStringField(b, `,"error":`, errText(x.Err))
	return append(b, '}'), nil
}

// detectorNames are the names of the detectors, bit by bit, so that
// writing them allocates nothing.
var detectorNames = func() (t [32]string) {
	for i := range t {
		if n := bodytap.Detector(1 << i).Names(); len(n) == 1 {
			t[i] = n[0]
		}
	}
	return t
}()

// appendJSONDetected appends the "detected" field: the names of the
// detectors in d, in bit order.
func appendJSONDetected(b []byte, d bodytap.Detector) []byte {
	b = append(b, `,"detected":[`...)
	first := true
	for i, n := range detectorNames {
		if d&(1<<i) == 0 || n == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, n)
	}
	return append(b, ']')
}

// jsonStartError is the error encoding/json reports for a Start that
// time.Time.MarshalJSON refuses: a year that RFC 3339 cannot hold.
func jsonStartError(t time.Time) error {
	_, err := t.MarshalJSON()
	return &json.MarshalerError{Type: reflect.TypeFor[time.Time](), Err: err}
}

// appendJSONID appends the quoted ULID text of id, as [bodytap.ID.MarshalText]
// writes it.
func appendJSONID(b []byte, id bodytap.ID) []byte {
	b = append(b, '"')
	b, _ = id.AppendText(b) // never fails
	return append(b, '"')
}

// appendJSONRequest appends the "request" object of the JSON form.
func appendJSONRequest(b []byte, r *bodytap.Request) []byte {
	b = append(b, `{"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"url":`...)
	if r.URL != nil {
		b = appendJSONString(b, r.URL.String())
	} else {
		b = append(b, `""`...)
	}
	b = appendJSONStringField(b, `,"proto":`, r.Proto)
	b = appendJSONStringField(b, `,"host":`, r.Host)
	b = appendJSONStringField(b, `,"remote_addr":`, r.RemoteAddr)
	b = appendJSONHeaderField(b, `,"header":`, r.Header)
	b = append(b, `,"content_length":`...)
	b = strconv.AppendInt(b, r.ContentLength, 10)
	b = append(b, `,"body":`...)
	b = appendJSONBody(b, &r.Body, r.Header)
	return append(b, '}')
}

// appendJSONResponse appends the "response" object of the JSON form.
func appendJSONResponse(b []byte, r *bodytap.Response) []byte {
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = appendJSONHeaderField(b, `,"header":`, r.Header)
	b = appendJSONHeaderField(b, `,"trailer":`, r.Trailer)
	if len(r.Informational) > 0 {
		b = append(b, `,"informational":[`...)
		for i, inf := range r.Informational {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"status":`...)
			b = strconv.AppendInt(b, int64(inf.Status), 10)
			b = appendJSONHeaderField(b, `,"header":`, inf.Header)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"body":`...)
	b = appendJSONBody(b, &r.Body, r.Header)
	if len(r.Chunks) > 0 {
		b = append(b, `,"chunks":[`...)
		for i, c := range r.Chunks {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"offset":`...)
			b = strconv.AppendInt(b, c.Offset, 10)
			b = append(b, `,"at_ns":`...)
			b = strconv.AppendInt(b, int64(c.At), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if r.ChunksOmitted != 0 {
		b = append(b, `,"chunks_omitted":`...)
		b = strconv.AppendInt(b, int64(r.ChunksOmitted), 10)
	}
	return append(b, '}')
}

// appendJSONBody appends the BODY object of the JSON form for body, sent
// with header h: its copy goes as "text" or as "base64" by the rule
// documented in the package doc.
func appendJSONBody(b []byte, body *bodytap.Body, h http.Header) []byte {
	b = append(b, `{"size":`...)
	b = strconv.AppendInt(b, body.Size, 10)
	if p := body.Bytes; len(p) > 0 {
		if utf8.Valid(p) && media.IsTextBody(h, body.Decoded != "", p) {
			b = append(b, `,"text":`...)
			b = appendJSONText(b, p)
		} else {
			b = append(b, `,"base64":"`...)
			b = base64.StdEncoding.AppendEncode(b, p)
			b = append(b, `","encoding":"base64"`...)
		}
	}
	if body.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	if body.EOF {
		b = append(b, `,"eof":true`...)
	} else {
		b = append(b, `,"eof":false`...)
	}
	b = appendJSONStringField(b, `,"decoded":`, body.Decoded)
	if body.Redacted {
		b = append(b, `,"redacted":true`...)
	}
	if body.Withheld {
		b = append(b, `,"withheld":true`...)
	}
	b = appendJSONStringField(b, `,"error":`, errText(body.Err))
	return append(b, '}')
}

// appendJSONStringField appends name, which holds the comma and the quoted
// key and colon, and s, unless s is empty: an omitempty string field.
func appendJSONStringField(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, name...), s)
}

// appendJSONHeaderField appends name, which holds the comma and the quoted
// key and colon, and h, unless h is empty: an omitempty header field.
func appendJSONHeaderField(b []byte, name string, h http.Header) []byte {
	if len(h) == 0 {
		return b
	}
	return appendJSONHeader(append(b, name...), h)
}

// jsonHeaderField is one key of a header and its values.
type jsonHeaderField struct {
	key    string
	values []string
}

// appendJSONHeader appends h as encoding/json writes a map: keys in byte
// order, each with its values as an array, or null for nil values.
func appendJSONHeader(b []byte, h http.Header) []byte {
	var stack [32]jsonHeaderField // enough for most headers without allocating
	fields := stack[:0]
	for k, v := range h {
		fields = append(fields, jsonHeaderField{k, v})
	}
	slices.SortFunc(fields, func(a, b jsonHeaderField) int { return strings.Compare(a.key, b.key) })
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.key)
		b = append(b, ':')
		b = appendJSONValues(b, f.values)
	}
	return append(b, '}')
}

// appendJSONValues appends vs as a JSON array of strings, or null if vs is
// nil.
func appendJSONValues(b []byte, vs []string) []byte {
	if vs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// jsonSafe reports, for each byte, whether it goes into a JSON string as
// it is without a closer look: ASCII other than control bytes, '"' and
// '\\'. HTML characters are not escaped.
var jsonSafe = func() (safe [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		safe[c] = c != '"' && c != '\\'
	}
	return safe
}()

// appendJSONString appends s as a quoted JSON string, escaped as
// encoding/json escapes it with HTML escaping off: '"', '\\' and control
// bytes escaped (\b, \f, \n, \r and \t in short form), each byte of
// invalid UTF-8 replaced by \ufffd, and U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = appendJSONEscape(append(b, s[start:i]...), c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONText appends p, which must be valid UTF-8, as a quoted JSON
// string, as appendJSONString would: knowing p valid, it need not decode
// characters, only find U+2028 and U+2029 (E2 80 A8 and E2 80 A9).
func appendJSONText(b, p []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case jsonSafe[c]:
		case c < utf8.RuneSelf:
			b = appendJSONEscape(append(b, p[start:i]...), c)
			start = i + 1
		case c == 0xE2 && i+2 < len(p) && p[i+1] == 0x80 && (p[i+2] == 0xA8 || p[i+2] == 0xA9):
			b = append(append(b, p[start:i]...), '\\', 'u', '2', '0', '2', jsonHex[p[i+2]&0xF])
			i += 2
			start = i + 1
		}
	}
	b = append(b, p[start:]...)
	return append(b, '"')
}

// jsonHex are the digits of \u escapes, lower case as encoding/json
// writes them.
const jsonHex = "0123456789abcdef"

// appendJSONEscape appends the escape of c, an ASCII byte that jsonSafe
// does not pass.
func appendJSONEscape(b []byte, c byte) []byte {
	switch c {
	case '\\', '"':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
}

// sizeHint estimates the length of the JSON form of x, so that its
// buffer is mostly allocated once. It guesses at headers from their
// number of keys, since ranging over them would cost as much as the
// allocation it saves; bodies go as text, which needs little more room
// than its bytes, or in base64, a third more.
func sizeHint(x *bodytap.Exchange) int {
	const perKey = 96 // a typical header line and its JSON punctuation
	keys := len(x.Request.Header) + len(x.Response.Header) + len(x.Response.Trailer)
	for _, inf := range x.Response.Informational {
		keys += 1 + len(inf.Header)
	}
	n := 512 + len(x.Route) + 2*len(x.Request.Host) + len(x.Request.RemoteAddr) // the URL repeats the host
	n += 32 * len(x.Response.Chunks)
	return n + keys*perKey + len(x.Request.Body.Bytes)*4/3 + len(x.Response.Body.Bytes)*4/3
}
