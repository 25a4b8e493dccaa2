package otlp

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"

	"github.com/bodytap/bodytap"
)

// IsExchange reports whether lr is the record of an exchange, as
// [NewRecord] makes it: its event name is [EventName] (or, from a pipeline
// that lost the event name, its event.name attribute is).
func IsExchange(lr *logspb.LogRecord) bool {
	if lr.GetEventName() == EventName {
		return true
	}
	if lr.GetEventName() != "" {
		return false
	}
	for _, kv := range lr.GetAttributes() {
		if kv.GetKey() == "event.name" {
			return kv.GetValue().GetStringValue() == EventName
		}
	}
	return false
}

// FromLogRecord returns the exchange of lr, the record of an exchange as
// [NewRecord] makes it: every field of the exchange comes back as it was
// (see the package doc). It fails for a record that is not an exchange's
// ([IsExchange]) or whose bodytap attributes do not have the documented
// types. Attributes it does not know are ignored. The exchange shares lr's
// byte slices.
func FromLogRecord(lr *logspb.LogRecord) (*bodytap.Exchange, error) {
	if !IsExchange(lr) {
		return nil, errors.New("otlp: not the record of a bodytap exchange")
	}
	d := decoder{attrs: make(map[string]*commonpb.AnyValue, len(lr.GetAttributes()))}
	for _, kv := range lr.GetAttributes() {
		d.attrs[kv.GetKey()] = kv.GetValue()
	}
	x := new(bodytap.Exchange)
	d.exchange(x, lr)
	if d.err != nil {
		return nil, fmt.Errorf("otlp: record of exchange %q: %w", d.str(keyID), d.err)
	}
	return x, nil
}

// decoder reads the attributes of one record, keeping the first error.
type decoder struct {
	attrs map[string]*commonpb.AnyValue
	err   error
}

func (d *decoder) fail(key, want string) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %s: not %s", key, want)
	}
}

func (d *decoder) exchange(x *bodytap.Exchange, lr *logspb.LogRecord) {
	id, err := bodytap.ParseID(d.str(keyID))
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("attribute %s: %w", keyID, err)
	}
	x.ID = id
	if s, ok := d.attrs[keyStart]; ok {
		t, err := time.Parse(time.RFC3339Nano, s.GetStringValue())
		if err != nil && d.err == nil {
			d.err = fmt.Errorf("attribute %s: %w", keyStart, err)
		}
		x.Start = t
	} else if ns := lr.GetTimeUnixNano(); ns != 0 {
		x.Start = time.Unix(0, int64(ns)).UTC()
	}
	x.Duration = time.Duration(d.int(keyDuration))
	x.TimeToHeaders = time.Duration(d.int(keyTimeToHeaders))
	if r, ok := d.strOK(keyBTRoute); ok {
		x.Route = r
	} else {
		x.Route = d.str(keyRoute)
	}
	var tc bodytap.TraceContext
	copy(tc.TraceID[:], lr.GetTraceId())
	copy(tc.SpanID[:], lr.GetSpanId())
	if tc.TraceID != ([16]byte{}) || tc.SpanID != ([8]byte{}) {
		tc.Flags = byte(lr.GetFlags() & uint32(logspb.LogRecordFlags_LOG_RECORD_FLAGS_TRACE_FLAGS_MASK))
	}
	x.Trace = tc
	x.Hijacked = d.bool(keyHijacked)
	if s, ok := d.strOK(keyError); ok {
		x.Err = bodytap.ErrorFromText(s)
	}
	if v, ok := d.attrs[keyDetected]; ok {
		arr := v.GetArrayValue()
		if arr == nil {
			d.fail(keyDetected, "an array")
		}
		for _, n := range arr.GetValues() {
			x.Detected |= bodytap.DetectorNamed(n.GetStringValue())
		}
	}

	req := &x.Request
	if m, ok := d.strOK(keyMethodOriginal); ok {
		req.Method = m
	} else {
		req.Method = d.str(keyMethod)
	}
	if s, ok := d.strOK(keyURLFull); ok {
		u, err := url.Parse(s)
		if err != nil || u.String() != s {
			// Kept as it was: its String method gives s back.
			u = &url.URL{Opaque: s}
		}
		req.URL = u
	}
	if p, ok := d.strOK(keyProto); ok {
		req.Proto = p
	} else if v, ok := d.strOK(keyProtoVersion); ok {
		req.Proto = protoFromVersion(v)
	}
	req.RemoteAddr = d.addr(keyClientAddress, keyClientPort, keyRemoteAddr)
	req.Host = d.addr(keyServerAddress, keyServerPort, keyHost)
	req.ContentLength = d.int(keyContentLength)
	req.Header = d.header(keyReqHeader)
	req.Body = d.body(keyReqContent, prefixReqBody, keyReqSize)

	resp := &x.Response
	resp.Status = int(d.int(keyStatus))
	resp.Header = d.header(keyRespHeader)
	resp.Trailer = d.header(keyTrailer)
	if v, ok := d.attrs[keyInformational]; ok {
		arr := v.GetArrayValue()
		if arr == nil {
			d.fail(keyInformational, "an array")
		}
		resp.Informational = make([]bodytap.Informational, 0, len(arr.GetValues()))
		for _, iv := range arr.GetValues() {
			var in bodytap.Informational
			for _, kv := range iv.GetKvlistValue().GetValues() {
				switch kv.GetKey() {
				case "status":
					in.Status = int(kv.GetValue().GetIntValue())
				case "header":
					in.Header = d.headerOf(keyInformational, kv.GetValue())
				}
			}
			resp.Informational = append(resp.Informational, in)
		}
	}
	if v, ok := d.attrs[keyChunks]; ok {
		arr := v.GetArrayValue()
		if arr == nil {
			d.fail(keyChunks, "an array")
		}
		resp.Chunks = make([]bodytap.Chunk, 0, len(arr.GetValues()))
		for _, cv := range arr.GetValues() {
			var c bodytap.Chunk
			for _, kv := range cv.GetKvlistValue().GetValues() {
				switch kv.GetKey() {
				case "offset":
					c.Offset = kv.GetValue().GetIntValue()
				case "at_ns":
					c.At = time.Duration(kv.GetValue().GetIntValue())
				}
			}
			resp.Chunks = append(resp.Chunks, c)
		}
	}
	resp.ChunksOmitted = int(d.int(keyChunksOmitted))
	resp.Body = d.body(keyRespContent, prefixRespBody, keyRespSize)
}

// body reads a body: its copy from content, or from the encoded and tail
// attributes under prefix, and its flags under prefix.
func (d *decoder) body(content, prefix, size string) bodytap.Body {
	b := bodytap.Body{
		Size:      d.int(size),
		Truncated: d.bool(prefix + bodyTruncated),
		EOF:       d.bool(prefix + bodyEOF),
		Decoded:   d.str(prefix + bodyDecoded),
		Redacted:  d.bool(prefix + bodyRedacted),
		Withheld:  d.bool(prefix + bodyWithheld),
	}
	if s, ok := d.strOK(prefix + bodyError); ok {
		b.Err = bodytap.ErrorFromText(s)
	}
	if v, ok := d.attrs[content]; ok {
		switch v := v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			b.Bytes = []byte(v.StringValue)
		case *commonpb.AnyValue_BytesValue:
			b.Bytes = v.BytesValue
		default:
			d.fail(content, "a string or bytes")
		}
		if tail, ok := d.attrs[prefix+bodyTail]; ok {
			b.Bytes = append(b.Bytes, tail.GetBytesValue()...)
		}
	} else if v, ok := d.attrs[prefix+bodyEncoded]; ok {
		b.Bytes = v.GetBytesValue()
	}
	return b
}

// addr reads an address: exact if present, else the address and port
// attributes joined.
func (d *decoder) addr(keyAddr, keyPort, exact string) string {
	if s, ok := d.strOK(exact); ok {
		return s
	}
	host, ok := d.strOK(keyAddr)
	if !ok {
		return ""
	}
	port := -1
	if _, ok := d.attrs[keyPort]; ok {
		port = int(d.int(keyPort))
	}
	return joinAddr(host, port)
}

// header reads the header at key, nil if absent.
func (d *decoder) header(key string) http.Header {
	v, ok := d.attrs[key]
	if !ok {
		return nil
	}
	return d.headerOf(key, v)
}

// headerOf reads a header as headerValue writes it: a map of names to
// lists of values, or a list of [name, values] pairs.
func (d *decoder) headerOf(key string, v *commonpb.AnyValue) http.Header {
	values := func(v *commonpb.AnyValue) []string {
		if v.GetValue() == nil {
			return nil
		}
		arr := v.GetArrayValue()
		if arr == nil {
			d.fail(key, "a header")
			return nil
		}
		out := make([]string, len(arr.GetValues()))
		for i, s := range arr.GetValues() {
			out[i] = d.strOf(key, s)
		}
		return out
	}
	switch v := v.GetValue().(type) {
	case *commonpb.AnyValue_KvlistValue:
		h := make(http.Header, len(v.KvlistValue.GetValues()))
		for _, kv := range v.KvlistValue.GetValues() {
			h[kv.GetKey()] = values(kv.GetValue())
		}
		return h
	case *commonpb.AnyValue_ArrayValue:
		h := make(http.Header, len(v.ArrayValue.GetValues()))
		for _, pair := range v.ArrayValue.GetValues() {
			kv := pair.GetArrayValue().GetValues()
			if len(kv) != 2 {
				d.fail(key, "a header")
				return h
			}
			h[d.strOf(key, kv[0])] = values(kv[1])
		}
		return h
	}
	d.fail(key, "a header")
	return nil
}

func (d *decoder) str(key string) string {
	s, _ := d.strOK(key)
	return s
}

// strOK reads a string attribute, which is bytes when it was not valid
// UTF-8; ok is false if it is absent.
func (d *decoder) strOK(key string) (string, bool) {
	v, ok := d.attrs[key]
	if !ok {
		return "", false
	}
	return d.strOf(key, v), true
}

func (d *decoder) strOf(key string, v *commonpb.AnyValue) string {
	switch v := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return v.StringValue
	case *commonpb.AnyValue_BytesValue:
		return string(v.BytesValue)
	}
	d.fail(key, "a string")
	return ""
}

func (d *decoder) int(key string) int64 {
	v, ok := d.attrs[key]
	if !ok {
		return 0
	}
	iv, ok := v.GetValue().(*commonpb.AnyValue_IntValue)
	if !ok {
		d.fail(key, "an integer")
		return 0
	}
	return iv.IntValue
}

func (d *decoder) bool(key string) bool {
	v, ok := d.attrs[key]
	if !ok {
		return false
	}
	bv, ok := v.GetValue().(*commonpb.AnyValue_BoolValue)
	if !ok {
		d.fail(key, "a boolean")
		return false
	}
	return bv.BoolValue
}
