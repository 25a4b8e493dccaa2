package jsonl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchangetest"
	"github.com/bodytap/bodytap/internal/testutil"
)

// jsonRoundTripCases are exchanges whose JSON form must read back the same.
func jsonRoundTripCases(tb testing.TB) []struct {
	name   string
	change func(x *bodytap.Exchange)
} {
	huge := strings.Repeat("v", 256<<10) // a quarter of http.DefaultMaxHeaderBytes
	return []struct {
		name   string
		change func(x *bodytap.Exchange)
	}{
		{"full", func(x *bodytap.Exchange) {}},
		{"empty bodies", func(x *bodytap.Exchange) {
			x.Request.Body = bodytap.Body{EOF: true}
			x.Response.Body = bodytap.Body{}
		}},
		{"invalid UTF-8 in a text body", func(x *bodytap.Exchange) {
			x.Response.Body = bodytap.Body{Bytes: []byte("caf\xe9 \xff\xfe"), Size: 7, EOF: true}
		}},
		{"NUL bytes", func(x *bodytap.Exchange) {
			x.Request.Body = bodytap.Body{Bytes: []byte("a\x00b\x00\x01\x1f"), Size: 6, EOF: true}
			x.Request.Header = nil
		}},
		{"NUL bytes in JSON", func(x *bodytap.Exchange) {
			x.Request.Body = bodytap.Body{Bytes: []byte("{\"a\":\"\x00\"}"), Size: 9, EOF: true}
		}},
		{"binary", func(x *bodytap.Exchange) {
			x.Response.Header.Set("Content-Type", "image/png")
			b := testutil.RandomBytes(4096, 1)
			x.Response.Body = bodytap.Body{Bytes: b, Size: 1 << 20, Truncated: true, EOF: true}
		}},
		{"gzip not decoded", func(x *bodytap.Exchange) {
			x.Response.Header.Set("Content-Encoding", "gzip")
			x.Response.Body = bodytap.Body{Bytes: testutil.Gzip(tb, []byte("hello")), Size: 25, EOF: true}
		}},
		{"gzip decoded", func(x *bodytap.Exchange) {
			x.Response.Header.Set("Content-Encoding", "gzip")
			x.Response.Body = bodytap.Body{Bytes: []byte("hello"), Size: 25, EOF: true, Decoded: "gzip"}
		}},
		{"cut inside a character", func(x *bodytap.Exchange) {
			x.Response.Body = bodytap.Body{Bytes: []byte("h\xc3\xa9h\xc3"), Size: 100, Truncated: true, EOF: true}
		}},
		{"huge headers", func(x *bodytap.Exchange) {
			x.Request.Header.Set("X-Huge", huge)
			x.Response.Header["X-Many"] = strings.Split(strings.Repeat("x,", 5000), ",")
		}},
		{"HTML and line separators", func(x *bodytap.Exchange) {
			x.Response.Body = bodytap.Body{Bytes: []byte("<script>\u2028\u2029</script>&\"\\\n\t"), Size: 27, EOF: true}
		}},
		{"flags and errors", func(x *bodytap.Exchange) {
			x.Request.Body = bodytap.Body{Size: 5000, Truncated: true, Withheld: true, Err: errors.New("bodytap: decode br: unsupported")}
			x.Response.Body.Redacted = true
			x.Response.Body.EOF = false
			x.Err = fmt.Errorf("%w: oops", bodytap.ErrHandlerPanic)
		}},
		{"hijacked", func(x *bodytap.Exchange) {
			x.Hijacked = true
			x.Err = bodytap.ErrHijacked
			x.Response = bodytap.Response{}
			x.TimeToHeaders = 0
		}},
		{"no URL, unknown length, zero ID", func(x *bodytap.Exchange) {
			x.Request.URL = nil
			x.Request.ContentLength = -1
			x.ID = bodytap.ID{}
			x.Route = ""
		}},
		{"odd URL", func(x *bodytap.Exchange) {
			x.Request.URL = &url.URL{Scheme: "https", Host: "[::1]:8443", Path: "/a b/é", RawQuery: "x=%ff&y=<z>", Fragment: "f"}
		}},
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, tt := range jsonRoundTripCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			want := exchangetest.Full(t)
			tt.change(want)
			b, err := Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(b) {
				t.Fatalf("not valid JSON: %.200q", b)
			}
			if bytes.ContainsAny(b, "\n\r") {
				t.Fatalf("JSON has a line break: %.200q", b)
			}
			got := new(bodytap.Exchange)
			if err := Unmarshal(b, got); err != nil {
				t.Fatal(err)
			}
			exchangetest.Same(t, got, want)
		})
	}
}

func TestJSONErrorsKeepSentinels(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"client gone", bodytap.ErrClientGone, bodytap.ErrClientGone},
		{"aborted", bodytap.ErrAborted, bodytap.ErrAborted},
		{"hijacked", bodytap.ErrHijacked, bodytap.ErrHijacked},
		{"panic", fmt.Errorf("%w: boom", bodytap.ErrHandlerPanic), bodytap.ErrHandlerPanic},
		{"other", errors.New("bodytap: write response: broken pipe"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := exchangetest.Full(t)
			x.Err = tt.err
			b, _ := Marshal(x)
			var got bodytap.Exchange
			if err := Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got.Err.Error() != tt.err.Error() {
				t.Errorf("got %q, want %q", got.Err, tt.err)
			}
			if tt.want != nil && !errors.Is(got.Err, tt.want) {
				t.Errorf("errors.Is(%q, %q) is false", got.Err, tt.want)
			}
		})
	}
	// A body shed by a Tap whose sink was behind keeps its sentinel too.
	x := exchangetest.Full(t)
	x.Response.Body = bodytap.Body{Size: 100, EOF: true, Withheld: true, Err: bodytap.ErrShed}
	b, _ := Marshal(x)
	var got bodytap.Exchange
	if err := Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if rb := got.Response.Body; !errors.Is(rb.Err, bodytap.ErrShed) || !rb.Withheld || rb.Bytes != nil {
		t.Errorf("shed body after a round trip: err %v, withheld %v, %d bytes", rb.Err, rb.Withheld, len(rb.Bytes))
	}
}

// TestJSONBodyForm: which bodies go as text and which as base64.
func TestJSONBodyForm(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		encoding    string
		decoded     string
		body        string
		want        string // "text", "base64" or "" for neither
	}{
		{"json", "application/json", "", "", `{"a":1}`, "text"},
		{"text with charset", "text/html; charset=utf-8", "", "", "<p>hé</p>", "text"},
		{"problem+json", "application/problem+json", "", "", `{}`, "text"},
		{"form", "application/x-www-form-urlencoded", "", "", "a=1&b=2", "text"},
		{"javascript", "application/javascript", "", "", "let a = 1;", "text"},
		{"xml", "application/xml", "", "", "<a/>", "text"},
		{"no type, text", "", "", "", "plain words\n", "text"},
		{"no type, control bytes", "", "", "", "ab\x01cd", "base64"},
		{"octet-stream, text", "application/octet-stream", "", "", "plain words", "text"},
		{"octet-stream, NUL", "application/octet-stream", "", "", "a\x00b", "base64"},
		{"no type, PDF signature", "", "", "", "%PDF-1.4 text", "base64"},
		{"text, invalid UTF-8", "text/plain; charset=latin1", "", "", "caf\xe9", "base64"},
		{"text with control bytes", "text/plain", "", "", "a\x00b\x1b[0m", "text"},
		{"image", "image/png", "", "", "PNGish but UTF-8", "base64"},
		{"gzip not decoded", "application/json", "gzip", "", `{"a":1}`, "base64"},
		{"gzip decoded", "application/json", "gzip", "gzip", `{"a":1}`, "text"},
		{"identity coding", "application/json", "identity", "", `{"a":1}`, "text"},
		{"multipart, text", "multipart/form-data; boundary=x", "", "", "--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--", "text"},
		{"multipart, binary part", "multipart/form-data; boundary=x", "", "", "--x\r\n\r\n\x00\x01\r\n--x--", "base64"},
		{"empty", "application/json", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.contentType != "" {
				h.Set("Content-Type", tt.contentType)
			}
			if tt.encoding != "" {
				h.Set("Content-Encoding", tt.encoding)
			}
			b := bodytap.Body{Bytes: []byte(tt.body), Size: int64(len(tt.body)), EOF: true, Decoded: tt.decoded}
			j := bodyToJSON(&b, h)
			got := ""
			switch {
			case j.Text != "" && j.Base64 == nil && j.Encoding == "":
				got = "text"
			case j.Text == "" && j.Base64 != nil && j.Encoding == "base64":
				got = "base64"
			case j.Text != "" || j.Base64 != nil || j.Encoding != "":
				t.Fatalf("mixed form: %+v", j)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			back, err := bodyFromJSON(&j)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Bytes, b.Bytes) {
				t.Errorf("read back: got %q, want %q", back.Bytes, b.Bytes)
			}
		})
	}
}

// TestJSONSchema pins the field names and forms of the documented schema.
func TestJSONSchema(t *testing.T) {
	x := exchangetest.Full(t)
	x.Request.Body = bodytap.Body{Bytes: []byte{0xff, 0xfe, 0}, Size: 3, EOF: true}
	x.Err = bodytap.ErrClientGone
	x.Hijacked = true
	b, err := Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want any
	}{
		{"id", "01HQ3J5V2X0000000000000001"},
		{"start", "2024-02-20T10:00:00.123456789Z"},
		{"duration_ns", 1.5e6},
		{"time_to_headers_ns", 9e5},
		{"route", "POST /items/{id}"},
		{"hijacked", true},
		{"error", "bodytap: client went away"},
		{"request.method", "POST"},
		{"request.url", "http://example.com/items/7?q=1"},
		{"request.proto", "HTTP/1.1"},
		{"request.host", "example.com"},
		{"request.remote_addr", "192.0.2.1:53412"},
		{"request.content_length", 11.0},
		{"request.header.X-Trace", []any{"a", "b"}},
		{"request.body.size", 3.0},
		{"request.body.base64", "//4A"},
		{"request.body.encoding", "base64"},
		{"request.body.eof", true},
		{"response.status", 201.0},
		{"response.trailer.X-Sum", []any{"42"}},
		{"response.informational", []any{map[string]any{"status": 103.0, "header": map[string]any{"Link": []any{"</a.css>; rel=preload"}}}}},
		{"response.body.text", "created <ok> & done"},
		{"response.body.size", 19.0},
		{"response.chunks", []any{map[string]any{"offset": 8.0, "at_ns": 1e6}, map[string]any{"offset": 13.0, "at_ns": 1.2e6}}},
		{"response.chunks_omitted", 2.0},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := testutil.Lookup(m, tt.path)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
	// The local time zone does not leak into the record.
	x.Start = x.Start.In(time.FixedZone("X", 3600))
	b, _ = Marshal(x)
	if !bytes.Contains(b, []byte(`"start":"2024-02-20T10:00:00.123456789Z"`)) {
		t.Errorf("start not in UTC: %.120s", b)
	}
	if !bytes.Contains(b, []byte(`<ok> & done`)) {
		t.Errorf("HTML escaped: %s", b)
	}
	// A response never flushed has no chunk fields, as before they existed.
	x.Response.Chunks, x.Response.ChunksOmitted = nil, 0
	b, _ = Marshal(x)
	if bytes.Contains(b, []byte(`"chunks`)) {
		t.Errorf("chunk fields for a response without chunks: %s", b)
	}
}

func TestJSONInvalidUTF8InHeaders(t *testing.T) {
	x := exchangetest.Full(t)
	x.Request.Header.Set("X-Bad", "a\xffb")
	x.Route = "/\xc3"
	b, err := Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("not valid JSON: %s", b)
	}
	var got bodytap.Exchange
	if err := Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if v := got.Request.Header.Get("X-Bad"); v != "a\uFFFDb" {
		t.Errorf("got %q, want %q", v, "a\uFFFDb")
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"not JSON", `{"id":`, "unexpected end"},
		{"bad ID", `{"id":"nope"}`, "malformed ID"},
		{"bad URL", `{"request":{"url":"http://[::1"}}`, "request.url"},
		{"bad base64", `{"response":{"body":{"base64":"!!","encoding":"base64"}}}`, "base64"},
		{"unknown encoding", `{"request":{"body":{"text":"x","encoding":"rot13"}}}`, `unknown encoding "rot13"`},
		{"text and base64", `{"request":{"body":{"text":"x","base64":"AAEC","encoding":"base64"}}}`, "both"},
		{"base64 marked, text given", `{"request":{"body":{"text":"x","encoding":"base64"}}}`, "text"},
		{"bad time", `{"start":"yesterday"}`, "parsing time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var x bodytap.Exchange
			err := Unmarshal([]byte(tt.json), &x)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "jsonl: decode exchange") {
				t.Errorf("got %q, want it to hold %q", err, tt.want)
			}
		})
	}
}

// TestUnmarshalMinimal: fields left out read as their zero values, and
// unknown fields are ignored.
func TestUnmarshalMinimal(t *testing.T) {
	var x bodytap.Exchange
	if err := Unmarshal([]byte(`{"future":[1,2],"request":{"method":"GET","body":{"eof":true,"later":1}}}`), &x); err != nil {
		t.Fatal(err)
	}
	if x.Request.Method != "GET" || !x.Request.Body.EOF || x.Request.URL != nil || x.Response.Body.Bytes != nil || x.Err != nil {
		t.Errorf("got %+v", x)
	}
}

// sinkLines splits JSON Lines output, failing tb on any line that is not
// valid JSON.
func sinkLines(tb testing.TB, b []byte) []string {
	tb.Helper()
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			tb.Errorf("line %d is not valid JSON: %.200q", i+1, l)
		}
	}
	return lines
}

func TestWriterWriter(t *testing.T) {
	var buf bytes.Buffer
	s := NewWriter(&buf)
	var want []*bodytap.Exchange
	for _, tt := range jsonRoundTripCases(t) {
		x := exchangetest.Full(t)
		tt.change(x)
		s.Record(x)
		want = append(want, x)
	}
	s.Record(nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	lines := sinkLines(t, buf.Bytes())
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d", len(lines), len(want))
	}
	st := s.Stats()
	if st.Written != int64(len(want)) || st.Failed != 0 || st.Bytes != int64(buf.Len()) || st.Rotations != 0 {
		t.Errorf("Stats: got %+v, want %d written of %d bytes", st, len(want), buf.Len())
	}
	if s.Err() != nil {
		t.Errorf("Err: got %v, want nil", s.Err())
	}
	i := 0
	for x, err := range Read(&buf) {
		if err != nil {
			t.Fatal(err)
		}
		exchangetest.Same(t, x, want[i])
		i++
	}
	if i != len(want) {
		t.Errorf("read %d exchanges, want %d", i, len(want))
	}
}

// sinkFailWriter fails every write after the first ok bytes, having
// written up to part bytes of the failing one.
type sinkFailWriter struct {
	buf  bytes.Buffer
	ok   int
	part int
	err  error
}

func (w *sinkFailWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) <= w.ok {
		return w.buf.Write(p)
	}
	n := min(w.part, len(p))
	w.buf.Write(p[:n])
	w.ok = w.buf.Len() // later writes fail whole
	w.part = 0
	return n, w.err
}

func TestWriterWriteError(t *testing.T) {
	errDisk := errors.New("disk on fire")
	tests := []struct {
		name string
		w    io.Writer
		want error
	}{
		{"fails", &sinkFailWriter{err: errDisk}, errDisk},
		{"short write without error", sinkShortWriter{}, io.ErrShortWrite},
		{"closed file", sinkClosedFile(t), os.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewWriter(tt.w)
			for range 3 {
				s.Record(exchangetest.Full(t)) // must not panic
			}
			if st := s.Stats(); st.Written != 0 || st.Failed != 3 {
				t.Errorf("Stats: got %+v, want 0 written, 3 failed", st)
			}
			if !errors.Is(s.Err(), tt.want) {
				t.Errorf("Err: got %v, want %v", s.Err(), tt.want)
			}
		})
	}
}

type sinkShortWriter struct{}

func (sinkShortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func sinkClosedFile(tb testing.TB) *os.File {
	f, err := os.Create(filepath.Join(tb.TempDir(), "f"))
	if err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return f
}

// TestWriterPartialWrite: a write that fails partway through a line
// breaks that line only; the next one starts on a line of its own.
func TestWriterPartialWrite(t *testing.T) {
	w := &sinkFailWriter{ok: 1 << 20, part: 40, err: errors.New("no space left")}
	s := NewWriter(w)
	x := exchangetest.Full(t)
	s.Record(x)
	w.ok = w.buf.Len() // the next write fails after 40 bytes
	w.part = 40
	s.Record(x)
	w.ok = 1 << 20 // space again
	s.Record(x)
	if st := s.Stats(); st.Written != 2 || st.Failed != 1 {
		t.Errorf("Stats: got %+v, want 2 written, 1 failed", st)
	}
	var got []string
	for x, err := range Read(&w.buf) {
		if err != nil {
			got = append(got, "error")
			if !strings.Contains(err.Error(), "line 2") {
				t.Errorf("got %q, want the error on line 2", err)
			}
			continue
		}
		got = append(got, x.ID.String())
	}
	want := []string{x.ID.String(), "error", x.ID.String()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestWriterFullDisk writes to /dev/full, where every write fails with
// ENOSPC: records are lost and counted, the process goes on.
func TestWriterFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	s, err := OpenFile("/dev/full", 0, 0)
	if err != nil {
		t.Skip(err)
	}
	tap := bodytap.New(bodytap.Config{Sink: s})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	for range 5 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	tap.Close()
	if ts := tap.Stats(); ts.Delivered != 5 || ts.SinkPanics != 0 {
		t.Errorf("Tap stats: got %+v, want 5 delivered, no panics", ts)
	}
	if st := s.Stats(); st.Written != 0 || st.Failed != 5 {
		t.Errorf("Stats: got %+v, want 0 written, 5 failed", st)
	}
	if !errors.Is(s.Err(), syscall.ENOSPC) {
		t.Errorf("Err: got %v, want ENOSPC", s.Err())
	}
	s.Close()
}

// TestWriterFailingWriterInTap: the Tap's delivery goroutine survives a
// sink whose writes all fail, and sees no panic.
func TestWriterFailingWriterInTap(t *testing.T) {
	s := NewWriter(&sinkFailWriter{err: errors.New("broken")})
	tap := bodytap.New(bodytap.Config{Sink: s})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	for range 10 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	tap.Close()
	if ts := tap.Stats(); ts.Delivered != 10 || ts.SinkPanics != 0 {
		t.Errorf("Tap stats: got %+v, want 10 delivered, no panics", ts)
	}
	if st := s.Stats(); st.Failed != 10 {
		t.Errorf("Failed: got %d, want 10", st.Failed)
	}
}

func TestWriterClose(t *testing.T) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	s := NewWriter(bw)
	s.Record(exchangetest.Full(t))
	if buf.Len() != 0 {
		t.Fatal("bufio.Writer flushed early; the test needs it to buffer")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(sinkLines(t, buf.Bytes())); n != 1 {
		t.Errorf("after Close: got %d lines, want 1", n)
	}
	s.Record(exchangetest.Full(t))
	if st := s.Stats(); st.Written != 1 || st.Failed != 1 {
		t.Errorf("Stats: got %+v, want 1 written, 1 failed", st)
	}
	if !errors.Is(s.Err(), ErrClosed) {
		t.Errorf("Err: got %v, want ErrClosed", s.Err())
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: got %v, want ErrClosed", err)
	}
}

// sinkLineLen is the length of the JSON line of sinkExchange, newline
// included.
func sinkLineLen(tb testing.TB) int64 {
	tb.Helper()
	b, err := Marshal(exchangetest.Full(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return int64(len(b) + 1)
}

// sinkReadFile returns the IDs of the exchanges in the JSON Lines file at
// path, nil if there is no such file.
func sinkReadFile(tb testing.TB, path string) []string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for x, err := range Read(bytes.NewReader(b)) {
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		ids = append(ids, x.ID.String()[24:])
	}
	return ids
}

func TestWriterFileRotation(t *testing.T) {
	line := sinkLineLen(t)
	tests := []struct {
		name     string
		maxBytes int64
		keep     int
		records  int
		want     map[string][]string // file suffix → the last two digits of the IDs in it
		rotated  int64
	}{
		{"no rotation", 0, 3, 5, map[string][]string{"": {"01", "02", "03", "04", "05"}}, 0},
		{"keep 2", 2*line + 1, 2, 7, map[string][]string{
			"": {"07"}, ".1": {"05", "06"}, ".2": {"03", "04"}, ".3": nil}, 3},
		{"keep 0", 2 * line, 0, 5, map[string][]string{"": {"05"}, ".1": nil}, 2},
		{"exactly full", 2 * line, 1, 4, map[string][]string{"": {"03", "04"}, ".1": {"01", "02"}}, 1},
		{"line longer than max", line / 2, 1, 3, map[string][]string{"": {"03"}, ".1": {"02"}, ".2": nil}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.jsonl")
			s, err := OpenFile(path, tt.maxBytes, tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= tt.records; i++ {
				x := exchangetest.Full(t)
				x.ID[15] = byte(i)
				s.Record(x)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			for suffix, want := range tt.want {
				if got := sinkReadFile(t, path+suffix); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %q, want %q", filepath.Base(path+suffix), got, want)
				}
			}
			st := s.Stats()
			if st.Rotations != tt.rotated || st.Written != int64(tt.records) || st.Failed != 0 {
				t.Errorf("Stats: got %+v, want %d rotations, %d written", st, tt.rotated, tt.records)
			}
			if err := s.Err(); err != nil {
				t.Errorf("Err: got %v, want nil", err)
			}
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() != 0o600 {
				t.Errorf("mode: got %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

// TestWriterFileAppends: reopening a file appends to it, and its size
// so far counts toward rotation.
func TestWriterFileAppends(t *testing.T) {
	line := sinkLineLen(t)
	path := filepath.Join(t.TempDir(), "x.jsonl")
	for i := 1; i <= 3; i++ {
		s, err := OpenFile(path, 2*line, 1)
		if err != nil {
			t.Fatal(err)
		}
		x := exchangetest.Full(t)
		x.ID[15] = byte(i)
		s.Record(x)
		s.Close()
	}
	if got, want := sinkReadFile(t, path), []string{"03"}; !reflect.DeepEqual(got, want) {
		t.Errorf("x.jsonl: got %q, want %q", got, want)
	}
	if got, want := sinkReadFile(t, path+".1"), []string{"01", "02"}; !reflect.DeepEqual(got, want) {
		t.Errorf("x.jsonl.1: got %q, want %q", got, want)
	}
}

// TestWriterFileRotationFails: when the old file cannot be moved aside,
// the sink reports it and goes on writing to the file it has.
func TestWriterFileRotationFails(t *testing.T) {
	line := sinkLineLen(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "x.jsonl")
	// A non-empty directory where path.1 must go: neither removable nor
	// replaceable.
	if err := os.MkdirAll(filepath.Join(path+".1", "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFile(path, line, 1)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.Record(exchangetest.Full(t))
	}
	s.Close()
	if st := s.Stats(); st.Written != 3 || st.Failed != 0 || st.Rotations != 0 {
		t.Errorf("Stats: got %+v, want 3 written, none failed, no rotation", st)
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "rotate") {
		t.Errorf("Err: got %v, want a rotate error", err)
	}
	if got := len(sinkReadFile(t, path)); got != 3 {
		t.Errorf("got %d records in the file, want 3", got)
	}
}

func TestOpenFileError(t *testing.T) {
	_, err := OpenFile(filepath.Join(t.TempDir(), "no", "such", "dir", "x.jsonl"), 0, 0)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want ErrNotExist", err)
	}
}

func TestRead(t *testing.T) {
	var buf bytes.Buffer
	s := NewWriter(&buf)
	s.Record(exchangetest.Full(t))
	buf.WriteString("\n  \n{not json}\n")
	s.Record(exchangetest.Full(t))
	tail, _ := Marshal(exchangetest.Full(t))
	buf.Write(tail) // no final newline
	var got []string
	for x, err := range Read(bytes.NewReader(buf.Bytes())) {
		switch {
		case err != nil && strings.Contains(err.Error(), "line 4"):
			got = append(got, "error on line 4")
		case err != nil:
			t.Errorf("unexpected error %v", err)
		default:
			got = append(got, x.Request.Method)
		}
	}
	want := []string{"POST", "error on line 4", "POST", "POST"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// Breaking out of the loop stops reading.
	n := 0
	for range Read(bytes.NewReader(buf.Bytes())) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("got %d iterations, want 1", n)
	}
	// A read error is yielded last.
	errRead := errors.New("read failed")
	var last error
	for _, err := range Read(io.MultiReader(strings.NewReader(string(tail)+"\n"), iotestErrReader{errRead})) {
		last = err
	}
	if !errors.Is(last, errRead) {
		t.Errorf("got %v, want %v", last, errRead)
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// TestWriterEndToEnd runs a real server behind a Tap that writes JSON
// Lines, then reads the lines back and checks them against what the client
// sent and received.
func TestWriterEndToEnd(t *testing.T) {
	var buf bytes.Buffer
	sink := NewWriter(&buf)
	tap := bodytap.New(bodytap.Config{Sink: sink})
	binary := append([]byte("\x00\x01\xff\xfe"), testutil.RandomBytes(300, 2)...)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	mux.HandleFunc("GET /bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(binary)
	})
	mux.HandleFunc("GET /text", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "héllo, wörld\n")
	})
	mux.HandleFunc("GET /abort", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic(http.ErrAbortHandler)
	})
	srv := httptest.NewServer(tap.Handler(mux))
	defer srv.Close()

	type result struct {
		status int
		req    string
		resp   []byte
	}
	sent := map[string]result{}
	do := func(method, path, body string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		resp, err := srv.Client().Do(req)
		if err != nil {
			sent[path] = result{req: body}
			return // the abort
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sent[path] = result{resp.StatusCode, body, b}
	}
	// The abort goes first, on a new connection: the client would retry
	// it on a reused one, and make two records.
	do("GET", "/abort", "")
	do("POST", "/echo", `{"msg":"naïve <b>"}`)
	do("GET", "/bin", "")
	do("GET", "/text", "")
	do("GET", "/missing", "")
	tap.Close()
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}

	lines := sinkLines(t, buf.Bytes())
	if len(lines) != len(sent) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(sent), buf.Bytes())
	}
	seen := map[string]bool{}
	for x, err := range Read(&buf) {
		if err != nil {
			t.Fatal(err)
		}
		path := x.Request.URL.Path
		seen[path] = true
		want := sent[path]
		if x.ID.IsZero() || x.Start.IsZero() || x.Duration <= 0 {
			t.Errorf("%s: bodytap.ID, Start, Duration not set: %v %v %v", path, x.ID, x.Start, x.Duration)
		}
		if x.Request.URL.Host != strings.TrimPrefix(srv.URL, "http://") {
			t.Errorf("%s: host: got %q, want %q", path, x.Request.URL.Host, srv.URL)
		}
		if got := string(x.Request.Body.Bytes); got != want.req {
			t.Errorf("%s: request body: got %q, want %q", path, got, want.req)
		}
		if path == "/abort" {
			if !errors.Is(x.Err, bodytap.ErrAborted) {
				t.Errorf("%s: Err: got %v, want bodytap.ErrAborted", path, x.Err)
			}
			if got := string(x.Response.Body.Bytes); got != "partial" {
				t.Errorf("%s: response body: got %q, want %q", path, got, "partial")
			}
			continue
		}
		if x.Response.Status != want.status {
			t.Errorf("%s: status: got %d, want %d", path, x.Response.Status, want.status)
		}
		if !bytes.Equal(x.Response.Body.Bytes, want.resp) || x.Response.Body.Size != int64(len(want.resp)) || !x.Response.Body.EOF {
			t.Errorf("%s: response body: got %q (%d bytes, eof %v), want %q", path, x.Response.Body.Bytes, x.Response.Body.Size, x.Response.Body.EOF, want.resp)
		}
		if x.Err != nil {
			t.Errorf("%s: Err: got %v, want nil", path, x.Err)
		}
	}
	for path := range sent {
		if !seen[path] {
			t.Errorf("no record for %s", path)
		}
	}
	// The binary body went as base64, the others as text.
	for _, l := range lines {
		bin := strings.Contains(l, `"url":"`+srv.URL+`/bin"`)
		if got := strings.Contains(l, `"encoding":"base64"`); got != bin {
			t.Errorf("base64: got %v, want %v in %.300s", got, bin, l)
		}
	}
}

// TestWriterReusedExchanges: a Tap whose sink is a Writer reuses its
// exchanges (the Writer promises to keep nothing of them), and writes the
// same records, request after request on the same memory, as a Tap that
// gives every exchange its own.
func TestWriterReusedExchanges(t *testing.T) {
	var reusedOut, freshOut bytes.Buffer
	w := NewWriter(&reusedOut)
	if !w.ReusesExchanges() {
		t.Fatal("Writer.ReusesExchanges() = false, want true")
	}
	reused := bodytap.New(bodytap.Config{Sink: w, MaxBodyBytes: 64 << 10})
	fresh := bodytap.New(bodytap.Config{Sink: bodytap.SinkFunc(NewWriter(&freshOut).Record), MaxBodyBytes: 64 << 10})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := io.ReadAll(r.Body)
		n := len(in)
		for i := range n % 13 {
			w.Header().Add(fmt.Sprintf("X-H%d", i), strconv.Itoa(n))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200 + n%3)
		fmt.Fprintf(w, `{"n":%d,"token":"t%d","pad":%q}`, n, n, strings.Repeat(string(rune('a'+n%26)), n*7%70000))
	})
	hs := []http.Handler{reused.Handler(h), fresh.Handler(h)}
	for n := range 200 {
		body := strings.Repeat("q", n*37%5000) + `{"password":"p` + strconv.Itoa(n) + `"}`
		for _, h := range hs {
			r := httptest.NewRequest("POST", "/r?n="+strconv.Itoa(n)+"&token=x", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer abc")
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	}
	reused.Close()
	fresh.Close()
	read := func(b []byte) []*bodytap.Exchange {
		var xs []*bodytap.Exchange
		for x, err := range Read(bytes.NewReader(b)) {
			if err != nil {
				t.Fatal(err)
			}
			x.ID, x.Start, x.Duration, x.TimeToHeaders = bodytap.ID{}, time.Time{}, 0, 0
			for i := range x.Response.Chunks {
				x.Response.Chunks[i].At = 0
			}
			xs = append(xs, x)
		}
		return xs
	}
	got, want := read(reusedOut.Bytes()), read(freshOut.Bytes())
	if len(got) != 200 || len(want) != 200 {
		t.Fatalf("%d and %d records, want 200 each", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("record %d of the reusing Tap differs:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
