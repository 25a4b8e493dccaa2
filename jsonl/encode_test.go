package jsonl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchangetest"
	"github.com/bodytap/bodytap/internal/media"
)

// encodeExchangeReference is the reflection-based encoder that
// Append replaced, kept as the oracle it must match byte for
// byte: it appends the JSON form of x and a newline to buf.
func encodeExchangeReference(buf *bytes.Buffer, x *bodytap.Exchange) error {
	j := exchangeJSON{
		ID:              x.ID,
		Start:           x.Start.UTC(),
		DurationNS:      int64(x.Duration),
		TimeToHeadersNS: int64(x.TimeToHeaders),
		Route:           x.Route,
		Hijacked:        x.Hijacked,
		Error:           errText(x.Err),
		Request: requestJSON{
			Method:        x.Request.Method,
			Proto:         x.Request.Proto,
			Host:          x.Request.Host,
			RemoteAddr:    x.Request.RemoteAddr,
			Header:        x.Request.Header,
			ContentLength: x.Request.ContentLength,
			Body:          bodyToJSON(&x.Request.Body, x.Request.Header),
		},
		Response: responseJSON{
			Status:  x.Response.Status,
			Header:  x.Response.Header,
			Trailer: x.Response.Trailer,
			Body:    bodyToJSON(&x.Response.Body, x.Response.Header),
		},
	}
	if x.Request.URL != nil {
		j.Request.URL = x.Request.URL.String()
	}
	for _, i := range x.Response.Informational {
		j.Response.Informational = append(j.Response.Informational, informationalJSON(i))
	}
	for _, c := range x.Response.Chunks {
		j.Response.Chunks = append(j.Response.Chunks, chunkJSON{Offset: c.Offset, AtNS: int64(c.At)})
	}
	j.Response.ChunksOmitted = x.Response.ChunksOmitted
	j.Detected = x.Detected.Names()
	if x.Trace.IsValid() {
		j.Trace = &x.Trace
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return enc.Encode(&j)
}

// bodyToJSON is the body form of encodeExchangeReference: the copy goes
// as text when it is UTF-8 that reads as text, in base64 otherwise.
// TestJSONBodyForm uses it too.
func bodyToJSON(b *bodytap.Body, h http.Header) bodyJSON {
	j := bodyJSON{
		Size:      b.Size,
		Truncated: b.Truncated,
		EOF:       b.EOF,
		Decoded:   b.Decoded,
		Redacted:  b.Redacted,
		Withheld:  b.Withheld,
		Error:     errText(b.Err),
	}
	if len(b.Bytes) > 0 {
		if utf8.Valid(b.Bytes) && media.IsTextBody(h, b.Decoded != "", b.Bytes) {
			j.Text = string(b.Bytes)
		} else {
			j.Base64 = b.Bytes
			j.Encoding = "base64"
		}
	}
	return j
}

// sameAsReference fails tb unless Marshal and
// Append give exactly what encodeExchangeReference gives for
// x: the same bytes, or an error with the same text. It reports whether
// the encoders agreed.
func sameAsReference(tb testing.TB, x *bodytap.Exchange) bool {
	tb.Helper()
	var ref bytes.Buffer
	refErr := encodeExchangeReference(&ref, x)
	want := bytes.TrimSuffix(ref.Bytes(), []byte{'\n'})

	got, err := Marshal(x)
	if (err != nil) != (refErr != nil) || err != nil && err.Error() != refErr.Error() {
		tb.Errorf("Marshal error: got %v, want %v", err, refErr)
		return false
	}
	if err == nil && !bytes.Equal(got, want) {
		tb.Errorf("Marshal differs at byte %d:\ngot  %q\nwant %q", firstDiff(got, want), got, want)
		return false
	}

	// Appending keeps what dst holds, and leaves it alone on error.
	prefix := []byte("prefix\n")
	got, err = Append(prefix, x)
	switch {
	case (err != nil) != (refErr != nil):
		tb.Errorf("Append error: got %v, want %v", err, refErr)
		return false
	case err != nil && !bytes.Equal(got, prefix):
		tb.Errorf("Append on error: got %q, want %q", got, prefix)
		return false
	case err == nil && !bytes.Equal(got, append(prefix, want...)):
		tb.Errorf("Append: got %q, want %q", got, append(prefix, want...))
		return false
	}
	return true
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestEncodeExchangeCases compares the encoders on the round-trip cases of
// jsonl_test.go and on hand-picked edge cases.
func TestEncodeExchangeCases(t *testing.T) {
	for _, tt := range jsonRoundTripCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			x := exchangetest.Full(t)
			tt.change(x)
			sameAsReference(t, x)
		})
	}
	for _, tt := range encodeEdgeCases() {
		t.Run(tt.name, func(t *testing.T) {
			x := exchangetest.Full(t)
			tt.change(x)
			sameAsReference(t, x)
		})
	}
}

// encodeEdgeCases are changes to sinkExchange that probe the corners of
// encoding/json's output.
func encodeEdgeCases() []struct {
	name   string
	change func(x *bodytap.Exchange)
} {
	return []struct {
		name   string
		change func(x *bodytap.Exchange)
	}{
		{"zero exchange", func(x *bodytap.Exchange) { *x = bodytap.Exchange{} }},
		{"zero start", func(x *bodytap.Exchange) { x.Start = time.Time{} }},
		{"year 9999 ahead of UTC", func(x *bodytap.Exchange) {
			x.Start = time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("W", -5*3600))
		}},
		{"year 0 behind UTC", func(x *bodytap.Exchange) {
			x.Start = time.Date(0, 1, 1, 1, 0, 0, 0, time.FixedZone("E", 2*3600))
		}},
		{"year 0", func(x *bodytap.Exchange) { x.Start = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"year 9999", func(x *bodytap.Exchange) { x.Start = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC) }},
		{"year 10000", func(x *bodytap.Exchange) { x.Start = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"year -1", func(x *bodytap.Exchange) { x.Start = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"extreme times", func(x *bodytap.Exchange) { x.Start = time.Unix(math.MinInt64, 0) }},
		{"monotonic local time", func(x *bodytap.Exchange) { x.Start = time.Now() }},
		{"trailing zero nanoseconds", func(x *bodytap.Exchange) { x.Start = time.Date(2024, 1, 2, 3, 4, 5, 120000000, time.UTC) }},
		{"extreme numbers", func(x *bodytap.Exchange) {
			x.Duration, x.TimeToHeaders = math.MinInt64, math.MaxInt64
			x.Request.ContentLength = math.MinInt64
			x.Response.Status = math.MaxInt
			x.Response.Body.Size = -1
			x.Response.Informational = []bodytap.Informational{{Status: math.MinInt}}
		}},
		{"empty headers", func(x *bodytap.Exchange) {
			x.Request.Header = http.Header{}
			x.Response.Header = http.Header{}
			x.Response.Trailer = http.Header{}
			x.Response.Informational = []bodytap.Informational{{Status: 103, Header: http.Header{}}, {Status: 100}}
		}},
		{"empty informational", func(x *bodytap.Exchange) { x.Response.Informational = []bodytap.Informational{} }},
		{"empty chunks", func(x *bodytap.Exchange) { x.Response.Chunks = []bodytap.Chunk{} }},
		{"extreme chunks", func(x *bodytap.Exchange) {
			x.Response.Chunks = []bodytap.Chunk{{Offset: math.MinInt64, At: math.MaxInt64}, {}, {Offset: math.MaxInt64, At: math.MinInt64}}
			x.Response.ChunksOmitted = math.MinInt
		}},
		{"nil and empty values", func(x *bodytap.Exchange) {
			x.Request.Header = http.Header{"A": nil, "B": {}, "C": {""}, "": {"empty key"}}
		}},
		{"many header keys", func(x *bodytap.Exchange) {
			x.Response.Header = http.Header{}
			for i := range 100 {
				x.Response.Header[fmt.Sprintf("X-%03d", 99-i)] = []string{fmt.Sprint(i)}
			}
		}},
		{"keys in byte order", func(x *bodytap.Exchange) {
			x.Request.Header = http.Header{"a": {"1"}, "B": {"2"}, "é": {"3"}, "\xff": {"4"}, "A-": {"5"}, "A": {"6"}}
		}},
		{"every ASCII byte", func(x *bodytap.Exchange) {
			var all []byte
			for c := range utf8.RuneSelf {
				all = append(all, byte(c))
			}
			x.Route = string(all)
			x.Request.Header = http.Header{string(all): {string(all)}}
			x.Response.Body = bodytap.Body{Bytes: all, Size: 128}
			x.Request.Body = bodytap.Body{Bytes: all, Size: 128}
			x.Request.Header.Set("Content-Type", "text/plain")
		}},
		{"invalid UTF-8 everywhere", func(x *bodytap.Exchange) {
			bad := "\xff\xc3(\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf\xe2\x80\xa8\xe2\x80\xa9\xe2\x80"
			x.Route, x.Request.Method, x.Request.Proto, x.Request.Host, x.Request.RemoteAddr = bad, bad, bad, bad, bad
			x.Err = errors.New(bad)
			x.Request.Body.Err = errors.New(bad)
			x.Response.Body.Decoded = bad
			x.Response.Trailer = http.Header{bad: {bad, bad}}
		}},
		{"line separators and HTML", func(x *bodytap.Exchange) {
			s := "<a href=\"x\">&amp;</a>\u2028\u2029\u2027\u202a\ufffd😀"
			x.Route = s
			x.Request.Header = http.Header{s: {s}}
			x.Response.Body = bodytap.Body{Bytes: []byte(s), Size: int64(len(s)), EOF: true}
		}},
		{"error with empty text", func(x *bodytap.Exchange) {
			x.Err = errors.New("")
			x.Response.Body.Err = errors.New("")
		}},
		{"every flag", func(x *bodytap.Exchange) {
			x.Hijacked = true
			x.Trace, _ = bodytap.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			x.Detected = bodytap.AllDetectors
			for _, b := range []*bodytap.Body{&x.Request.Body, &x.Response.Body} {
				b.Truncated, b.EOF, b.Redacted, b.Withheld = true, true, true, true
				b.Decoded = "gzip, br"
				b.Err = errors.New("oops")
			}
		}},
		{"empty non-nil body", func(x *bodytap.Exchange) {
			x.Request.Body.Bytes = []byte{}
			x.Response.Body.Bytes = []byte{}
		}},
		{"odd URL parts", func(x *bodytap.Exchange) {
			x.Request.URL = &url.URL{Scheme: "http", User: url.UserPassword("u\"", "p\\"), Host: "h\u2028", Path: "/\x00\n\"", RawQuery: "\xff", Fragment: "<>"}
		}},
		{"opaque URL", func(x *bodytap.Exchange) { x.Request.URL = &url.URL{Scheme: "mailto", Opaque: "a@b\t"} }},
	}
}

// TestEncodeExchangeRandom compares the encoders on random exchanges.
func TestEncodeExchangeRandom(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 500
	}
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 0x6a736f6e))
		for i := range n / 4 {
			x := randomExchange(r)
			if !sameAsReference(t, x) {
				t.Fatalf("seed %d, case %d", seed, i)
			}
		}
	}
}

// TestWriterMatchesReference checks that the lines a Writer
// writes, through its reused buffer, are the reference lines.
func TestWriterMatchesReference(t *testing.T) {
	var got, want bytes.Buffer
	s := NewWriter(&got)
	r := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		x := randomExchange(r)
		s.Record(x)
		var line bytes.Buffer
		if err := encodeExchangeReference(&line, x); err == nil {
			want.Write(line.Bytes())
		}
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("lines differ at byte %d", firstDiff(got.Bytes(), want.Bytes()))
	}
}

// TestMarshalAllocs guards the allocations of encoding a typical
// exchange: the buffer Marshal returns, and the string URL.String
// builds.
func TestMarshalAllocs(t *testing.T) {
	x := benchExchange()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Marshal(x); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("Marshal: got %v allocations, want at most 2", allocs)
	}
	s := NewWriter(io.Discard)
	s.Record(x)
	allocs = testing.AllocsPerRun(100, func() { s.Record(x) })
	if allocs > 1 {
		t.Errorf("Writer.Record: got %v allocations, want at most 1", allocs)
	}
}

// FuzzEncodeExchange compares the encoders on exchanges built from fuzzed
// strings and bytes.
func FuzzEncodeExchange(f *testing.F) {
	f.Add("POST", "http://example.com/a?b=1", "Content-Type", "application/json", []byte(`{"a":"<b>"}`), "", "", uint16(0), 200, int64(1708423200), int64(123456789), 0)
	f.Add("GET", "/\u2028", "X-\xff", "a\"b\\c\x00\n", []byte{0, 1, 0xff}, "gzip", "bodytap: client went away", uint16(0xffff), -1, int64(0), int64(-5), -3600)
	f.Add("", "", "", "", []byte("caf\xe9"), "", "", uint16(0x5555), 103, int64(253402300800), int64(math.MinInt64), 86399)
	f.Add("\u2029", "mailto:x@y", "a", "\ufffd\xc3", []byte("plain words\n"), "identity", "\x1f", uint16(0xaaaa), math.MaxInt32, int64(-62167219201), int64(0), 1)
	f.Fuzz(func(t *testing.T, method, rawURL, key, value string, body []byte, coding, errS string, flags uint16, status int, sec, dur int64, zone int) {
		x := fuzzExchange(method, rawURL, key, value, body, coding, errS, flags, status, sec, dur, zone)
		sameAsReference(t, x)
	})
}

// fuzzExchange builds an exchange from FuzzEncodeExchange's arguments:
// flags picks which fields and headers are set, and Start is sec
// seconds and dur nanoseconds after the Unix epoch.
func fuzzExchange(method, rawURL, key, value string, body []byte, coding, errS string, flags uint16, status int, sec, dur int64, zone int) *bodytap.Exchange {
	bit := func(i int) bool { return flags&(1<<i) != 0 }
	x := &bodytap.Exchange{
		Start:         time.Unix(sec, dur).In(time.FixedZone("Z", zone%(100*3600))),
		Duration:      time.Duration(dur),
		TimeToHeaders: time.Duration(-dur),
		Route:         value,
		Hijacked:      bit(0),
		Detected:      bodytap.Detector(flags >> 4),
		Request: bodytap.Request{
			Method:        method,
			Proto:         key,
			Host:          value,
			RemoteAddr:    errS,
			ContentLength: dur,
			Body:          bodytap.Body{Bytes: body, Size: int64(len(body)), EOF: bit(1), Truncated: bit(2), Decoded: coding},
		},
		Response: bodytap.Response{
			Status: status,
			Body:   bodytap.Body{Bytes: body, Size: int64(status), EOF: bit(3), Redacted: bit(4), Withheld: bit(5)},
		},
	}
	copy(x.ID[:], body)
	if u, err := url.Parse(rawURL); err == nil {
		x.Request.URL = u
	}
	if bit(6) {
		x.Err = errors.New(errS)
		x.Response.Body.Err = errors.New(value)
	}
	if bit(7) {
		x.Request.Header = http.Header{key: {value, key}, "Content-Type": {value}}
	}
	if bit(8) {
		x.Response.Header = http.Header{"Content-Type": {key}, "Content-Encoding": {coding}, value: nil}
	}
	if bit(9) {
		x.Response.Trailer = http.Header{}
	}
	if bit(10) {
		x.Response.Trailer = http.Header{value: {}, key: {errS}}
	}
	if bit(11) {
		x.Response.Informational = []bodytap.Informational{{Status: status, Header: http.Header{key: {value}}}, {Status: 100}}
	}
	if bit(12) {
		x.Response.Chunks = []bodytap.Chunk{{Offset: int64(len(body)), At: time.Duration(dur)}, {Offset: sec}}
		x.Response.ChunksOmitted = status
	}
	return x
}

// randomExchange is exchangetest.Random, now and then with a detector bit
// this version has no name for (the encoders must leave it out alike).
func randomExchange(r *rand.Rand) *bodytap.Exchange {
	x := exchangetest.Random(r)
	if r.IntN(5) == 0 {
		x.Detected |= 1 << 30
	}
	return x
}

// benchExchange returns an exchange of a JSON API: five request headers,
// three response headers and 1 KiB JSON bodies both ways.
func benchExchange() *bodytap.Exchange {
	item := `{"id":12345,"name":"Widget \"deluxe\"","tags":["a","b","c"],"price":19.99,"note":"ünïcödé"}`
	body := "[" + strings.TrimSuffix(strings.Repeat(item+",", 1024/(len(item)+1)+1), ",") + "]"
	body = body[:1023] + "]"
	x := &bodytap.Exchange{
		ID:            bodytap.NewID(time.Date(2024, 2, 20, 10, 0, 0, 0, time.UTC)),
		Start:         time.Date(2024, 2, 20, 10, 0, 0, 123456789, time.UTC),
		Duration:      1500 * time.Microsecond,
		TimeToHeaders: 900 * time.Microsecond,
		Route:         "POST /api/items",
		Request: bodytap.Request{
			Method:     "POST",
			Proto:      "HTTP/1.1",
			Host:       "api.example.com",
			RemoteAddr: "192.0.2.1:53412",
			Header: http.Header{
				"Content-Type":  {"application/json"},
				"Accept":        {"application/json"},
				"Authorization": {"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc"},
				"User-Agent":    {"bench-client/1.0 (linux; amd64)"},
				"X-Request-Id":  {"5f1c2a9e-8f2b-4c1e-9a77-0d3b6e2f4c11"},
			},
			ContentLength: int64(len(body)),
			Body:          bodytap.Body{Bytes: []byte(body), Size: int64(len(body)), EOF: true},
		},
		Response: bodytap.Response{
			Status: 201,
			Header: http.Header{
				"Content-Type":  {"application/json; charset=utf-8"},
				"Cache-Control": {"no-store"},
				"Location":      {"/api/items/12345"},
			},
			Body: bodytap.Body{Bytes: []byte(body), Size: int64(len(body)), EOF: true},
		},
	}
	x.Request.URL = &url.URL{Scheme: "https", Host: "api.example.com", Path: "/api/items", RawQuery: "dry_run=false"}
	return x
}

// benchEncoders are the ways the encoders are benchmarked: run encodes
// x once as the named caller does.
var benchEncoders = []struct {
	name string
	x    func() *bodytap.Exchange
}{
	{"Marshal", benchExchange},
	{"Line", benchExchange},
	{"NoBodies", func() *bodytap.Exchange { // as the store encodes an exchange, its bodies kept apart
		x := benchExchange()
		x.Request.Body.Bytes, x.Response.Body.Bytes = nil, nil
		return x
	}},
}

// BenchmarkEncodeExchange measures the hand-written encoder on the
// exchange of benchExchange: as Marshal, as a Writer
// writes a line into its reused buffer, and as the store encodes it,
// without the body copies.
func BenchmarkEncodeExchange(b *testing.B) {
	for _, bb := range benchEncoders {
		b.Run(bb.name, func(b *testing.B) {
			x := bb.x()
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				var err error
				if bb.name == "Line" {
					buf, err = Append(buf[:0], x)
					buf = append(buf, '\n')
				} else {
					buf, err = Marshal(x)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeExchangeReference measures the reflection-based encoder
// it replaced, used the same ways: Marshal was a new buffer, then the
// newline trimmed; a line was encoded into the sink's reused buffer.
func BenchmarkEncodeExchangeReference(b *testing.B) {
	for _, bb := range benchEncoders {
		b.Run(bb.name, func(b *testing.B) {
			x := bb.x()
			b.ReportAllocs()
			var line bytes.Buffer
			for b.Loop() {
				buf := &line
				if bb.name != "Line" {
					buf = new(bytes.Buffer)
				}
				buf.Reset()
				if err := encodeExchangeReference(buf, x); err != nil {
					b.Fatal(err)
				}
				_ = bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
			}
		})
	}
}
