package exchangetest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
)

// Random returns an exchange with every field drawn at random
// from values that stress the encoding, with a Start that the store can
// keep (years 0 to 9999).
func Random(r *rand.Rand) *bodytap.Exchange {
	x := &bodytap.Exchange{
		Start:         randomTime(r),
		Duration:      time.Duration(randomInt64(r)),
		TimeToHeaders: time.Duration(randomInt64(r)),
		Route:         pick(r, "", "GET /items/{id}", "/a/{b...}", "example.com/x", randomText(r)),
		Hijacked:      r.IntN(4) == 0,
		Err:           randomErr(r),
		Detected:      bodytap.Detector(r.Uint32()) & bodytap.AllDetectors,
	}
	for i := range x.ID {
		x.ID[i] = byte(r.Uint32())
	}
	if r.IntN(3) > 0 {
		for i := range x.Trace.TraceID {
			x.Trace.TraceID[i] = byte(r.Uint32())
		}
		for i := range x.Trace.SpanID {
			x.Trace.SpanID[i] = byte(r.Uint32())
		}
		x.Trace.TraceID[0] |= 1
		x.Trace.SpanID[0] |= 1
		x.Trace.Flags = pick[byte](r, 0, 1, 0xff)
	}
	x.Request = bodytap.Request{
		Method:        pick(r, "GET", "POST", "get", "PROPFIND", "_OTHER", randomText(r)),
		Proto:         pick(r, "HTTP/1.1", "HTTP/2.0", "HTTP/1.0", "HTTP/3.0", "HTTP/1", "HTTP/2", "", randomText(r)),
		Host:          pick(r, "example.com", "example.com:8080", "[::1]:443", "[::1]", "a:b:c", ":80", "x:080", randomText(r)),
		RemoteAddr:    pick(r, "192.0.2.1:53412", "[2001:db8::1]:1", "@", "", "1.2.3.4:99999", randomText(r)),
		Header:        randomHeader(r, true),
		ContentLength: randomInt64(r),
	}
	switch r.IntN(4) {
	case 0: // nil URL
	case 1:
		x.Request.URL = &url.URL{Scheme: "http", Host: "example.com", Path: "/items/7", RawQuery: "q=1"}
	default:
		x.Request.URL = &url.URL{Scheme: randomText(r), Opaque: pick(r, "", randomText(r)), Host: randomText(r),
			Path: randomText(r), RawQuery: randomText(r), Fragment: randomText(r)}
	}
	x.Request.Body = randomBody(r)
	x.Response = bodytap.Response{
		Status:  pick(r, 0, 200, 404, 503, int(randomInt64(r))),
		Header:  randomHeader(r, true),
		Trailer: randomHeader(r, false),
		Body:    randomBody(r),
	}
	switch r.IntN(4) {
	case 0:
		x.Response.Informational = []bodytap.Informational{}
	case 1:
		for range 1 + r.IntN(3) {
			x.Response.Informational = append(x.Response.Informational,
				bodytap.Informational{Status: 100 + r.IntN(100), Header: randomHeader(r, false)})
		}
	}
	switch r.IntN(4) {
	case 0:
		x.Response.Chunks = []bodytap.Chunk{}
	case 1:
		for range 1 + r.IntN(bodytap.MaxChunks) {
			x.Response.Chunks = append(x.Response.Chunks, bodytap.Chunk{Offset: randomInt64(r), At: time.Duration(randomInt64(r))})
		}
		x.Response.ChunksOmitted = int(randomInt64(r))
	}
	return x
}

func pick[T any](r *rand.Rand, choices ...T) T { return choices[r.IntN(len(choices))] }

func randomTime(r *rand.Rand) time.Time {
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("A", -12*3600-1800), time.FixedZone("C", 1)}
	loc := pick(r, zones...)
	switch r.IntN(6) {
	case 0:
		return time.Time{}
	case 1:
		return time.Date(pick(r, 0, 1, 1969, 2262, 2263, 9999), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), 0, 0, r.IntN(1e9), loc)
	case 2:
		return time.Unix(0, 0).In(loc)
	case 3:
		return time.Now().In(loc)
	}
	return time.Unix(r.Int64N(4e9), int64(r.IntN(1e9))).In(loc)
}

func randomInt64(r *rand.Rand) int64 {
	switch r.IntN(5) {
	case 0:
		return pick[int64](r, 0, -1, math.MinInt64, math.MaxInt64)
	case 1:
		return -r.Int64N(1e6)
	case 2:
		return int64(r.Uint64())
	}
	return r.Int64N(1e6)
}

var textPieces = []string{
	"", "a", "Content-Type", "hello world", "/items/{id}", "é", "日本語", "😀", "\ufffd",
	"\"", "\\", "/", "<", ">", "&", "\u2028", "\x00", "\x01", "\t", "\n", "\r", " ", "\x7f",
	"\x80", "\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xf0\x9f\x98",
}

func randomText(r *rand.Rand) string {
	switch r.IntN(6) {
	case 0:
		return ""
	case 1:
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return string(b)
	}
	var sb strings.Builder
	for range r.IntN(12) {
		sb.WriteString(pick(r, textPieces...))
	}
	return sb.String()
}

func randomHeader(r *rand.Rand, types bool) http.Header {
	switch r.IntN(5) {
	case 0:
		return nil
	case 1:
		return http.Header{}
	}
	h := http.Header{}
	for range r.IntN(pick(r, 4, 12, 40)) {
		k := pick(r, randomText(r), "X-"+randomText(r), "x-a", "X-A", "X")
		switch r.IntN(6) {
		case 0:
			h[k] = nil
		case 1:
			h[k] = []string{}
		default:
			for range 1 + r.IntN(3) {
				h[k] = append(h[k], randomText(r))
			}
		}
	}
	if types && r.IntN(3) > 0 {
		h["Content-Type"] = []string{pick(r, "application/json", "text/plain; charset=utf-8", "image/png",
			"application/octet-stream", "", "multipart/form-data; boundary=x", randomText(r))}
	}
	if types && r.IntN(4) == 0 {
		h["Content-Encoding"] = []string{pick(r, "gzip", "identity", "br, gzip", "")}
	}
	return h
}

func randomBody(r *rand.Rand) bodytap.Body {
	b := bodytap.Body{
		Size:      randomInt64(r),
		Truncated: r.IntN(2) == 0,
		EOF:       r.IntN(2) == 0,
		Decoded:   pick(r, "", "", "gzip", randomText(r)),
		Redacted:  r.IntN(3) == 0,
		Withheld:  r.IntN(5) == 0,
		Err:       randomErr(r),
	}
	switch r.IntN(7) {
	case 0:
	case 1:
		b.Bytes = []byte{}
	case 2:
		b.Bytes = []byte(`{"name":"<b>é</b>","n":[1,2,3]}` + strings.Repeat(" ", r.IntN(100)))
	case 3:
		b.Bytes = make([]byte, r.IntN(3000))
		for i := range b.Bytes {
			b.Bytes[i] = byte(r.Uint32())
		}
	case 4:
		b.Bytes = []byte("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c")[:5+r.IntN(6)] // cut inside a character
	default:
		var sb strings.Builder
		for range r.IntN(200) {
			sb.WriteString(pick(r, textPieces...))
		}
		b.Bytes = []byte(sb.String())
	}
	return b
}

func randomErr(r *rand.Rand) error {
	switch r.IntN(5) {
	case 0:
		return errors.New(randomText(r))
	case 1:
		return fmt.Errorf("%w: %s", bodytap.ErrHandlerPanic, randomText(r))
	case 2:
		return bodytap.ErrClientGone
	}
	return nil
}
