package har

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchangetest"
	"github.com/bodytap/bodytap/internal/testutil"
)

var t0 = time.Date(2026, 11, 26, 10, 30, 0, 123456789, time.UTC)

// exchange returns a plain GET exchange; cases change what they test.
func exchange(tb testing.TB) *bodytap.Exchange {
	tb.Helper()
	u, err := url.Parse("http://example.com/api/items?q=a%20b&n=1&flag")
	if err != nil {
		tb.Fatal(err)
	}
	return &bodytap.Exchange{
		ID:            bodytap.NewID(t0),
		Start:         t0,
		Duration:      1234567891 * time.Nanosecond,
		TimeToHeaders: 1000001 * time.Nanosecond,
		Route:         "GET /api/items",
		Request: bodytap.Request{
			Method:     "GET",
			URL:        u,
			Proto:      "HTTP/1.1",
			Host:       "example.com",
			RemoteAddr: "192.0.2.1:54321",
			Header: http.Header{
				"Accept":     {"application/json"},
				"Cookie":     {"session=abc; theme=dark"},
				"User-Agent": {"test/1.0"},
			},
			Body: bodytap.Body{EOF: true},
		},
		Response: bodytap.Response{
			Status: 200,
			Header: http.Header{
				"Content-Type": {"application/json"},
				"Set-Cookie":   {"id=1; Path=/; HttpOnly; Secure", "x=y; Expires=Wed, 21 Oct 2026 07:28:00 GMT"},
				"X-Multi":      {"one", "two"},
			},
			Body: body([]byte(`{"items":[1,2,3],"name":"caf\u00e9 <b>"}`)),
		},
	}
}

// body is a whole body that was captured whole.
func body(b []byte) bodytap.Body {
	return bodytap.Body{Bytes: b, Size: int64(len(b)), EOF: true}
}

// cut is a body of size bytes of which the first keep were captured.
func cut(b []byte, keep int) bodytap.Body {
	return bodytap.Body{Bytes: b[:keep], Size: int64(len(b)), Truncated: true, EOF: true}
}

// roundTripCases are exchanges of every kind, for the round-trip and
// validation tests.
func roundTripCases(tb testing.TB) []struct {
	name string
	x    *bodytap.Exchange
} {
	tb.Helper()
	type tc = struct {
		name string
		x    *bodytap.Exchange
	}
	var cases []tc
	add := func(name string, f func(x *bodytap.Exchange)) {
		x := exchange(tb)
		f(x)
		cases = append(cases, tc{name, x})
	}
	jsonBody := []byte(`{"user":"ana","note":"naïve — ok","n":[1,2,3]}`)
	add("plain", func(x *bodytap.Exchange) {})
	add("post json", func(x *bodytap.Exchange) {
		x.Request.Method = "POST"
		x.Request.Header.Set("Content-Type", "application/json")
		x.Request.Header.Set("Content-Length", fmt.Sprint(len(jsonBody)))
		x.Request.ContentLength = int64(len(jsonBody))
		x.Request.Body = body(jsonBody)
		x.Response.Status = 201
	})
	add("gzip response", func(x *bodytap.Exchange) {
		x.Response.Header.Set("Content-Encoding", "gzip")
		x.Response.Body = body(testutil.Gzip(tb, bytes.Repeat(jsonBody, 20)))
	})
	add("gzip response truncated", func(x *bodytap.Exchange) {
		z := testutil.Gzip(tb, testutil.RandomBytes(4000, 9))
		x.Response.Header.Set("Content-Encoding", "gzip")
		x.Response.Body = cut(z, 100)
	})
	add("gzip response empty", func(x *bodytap.Exchange) {
		x.Request.Method = "HEAD"
		x.Response.Header.Set("Content-Encoding", "gzip")
		x.Response.Body = body(nil)
	})
	add("unknown encoding", func(x *bodytap.Exchange) {
		x.Response.Header.Set("Content-Encoding", "x-custom, identity")
		x.Response.Body = body([]byte("not really encoded"))
	})
	add("binary both ways", func(x *bodytap.Exchange) {
		x.Request.Method = "PUT"
		x.Request.Header.Set("Content-Type", "application/octet-stream")
		x.Request.Header.Set("Content-Length", "3000")
		x.Request.ContentLength = 3000
		x.Request.Body = body(testutil.RandomBytes(3000, 1))
		x.Response.Header.Set("Content-Type", "image/png")
		x.Response.Body = body(testutil.RandomBytes(5000, 2))
	})
	add("invalid utf8", func(x *bodytap.Exchange) {
		x.Request.Method = "POST"
		x.Request.Header.Set("Content-Type", "text/plain; charset=iso-8859-1")
		x.Request.ContentLength = -1
		x.Request.Body = body([]byte("caf\xe9 cr\xe8me"))
		x.Response.Header.Set("Content-Type", "text/plain; charset=iso-8859-1")
		x.Response.Body = body([]byte("d\xe9j\xe0 vu \xff\xfe"))
	})
	add("empty bodies", func(x *bodytap.Exchange) {
		x.Response.Status = 204
		x.Response.Header = http.Header{}
		x.Response.Body = body(nil)
	})
	add("no body kept", func(x *bodytap.Exchange) {
		x.Request.Method = "POST"
		x.Request.Header.Set("Content-Length", "500")
		x.Request.ContentLength = 500
		x.Request.Body = bodytap.Body{Size: 500, Truncated: true, EOF: true}
		x.Response.Body = bodytap.Body{Size: 800, Truncated: true, EOF: true}
	})
	add("truncated text", func(x *bodytap.Exchange) {
		x.Request.Method = "POST"
		x.Request.ContentLength = -1
		big := bytes.Repeat(jsonBody, 10)
		x.Request.Body = cut(big, 100)
		x.Response.Body = cut(big, 200)
	})
	add("truncated in a character", func(x *bodytap.Exchange) {
		s := []byte("ab€€€€")       // € is 3 bytes
		x.Response.Body = cut(s, 4) // "ab" and two bytes of €
		x.Request.Method = "POST"
		x.Request.ContentLength = -1
		x.Request.Body = cut(s, 3)
	})
	add("request unread", func(x *bodytap.Exchange) {
		x.Request.Method = "POST"
		x.Request.Header.Set("Content-Length", "100")
		x.Request.ContentLength = 100
		x.Request.Body = bodytap.Body{}
	})
	add("request read partly chunked", func(x *bodytap.Exchange) {
		x.Request.Method = "POST"
		x.Request.ContentLength = -1
		x.Request.Body = bodytap.Body{Bytes: []byte("part"), Size: 4}
	})
	add("chunked unread", func(x *bodytap.Exchange) {
		x.Request.Method = "POST"
		x.Request.ContentLength = -1
		x.Request.Body = bodytap.Body{}
	})
	add("informational and trailers", func(x *bodytap.Exchange) {
		x.Response.Informational = []bodytap.Informational{
			{Status: 103, Header: http.Header{"Link": {"</style.css>; rel=preload; as=style"}}},
			{Status: 102, Header: http.Header{}},
		}
		x.Response.Header.Set("Trailer", "X-Checksum")
		x.Response.Trailer = http.Header{"X-Checksum": {"abc123"}, "X-Late": {"1", "2"}}
	})
	add("redirect", func(x *bodytap.Exchange) {
		x.Response.Status = 302
		x.Response.Header.Set("Location", "/elsewhere")
		x.Response.Body = body([]byte("<a href=\"/elsewhere\">Found</a>.\n"))
	})
	add("panic", func(x *bodytap.Exchange) {
		x.Err = fmt.Errorf("%w: boom", bodytap.ErrHandlerPanic)
		x.Response.Body.EOF = false
	})
	add("abort", func(x *bodytap.Exchange) {
		x.Err = bodytap.ErrAborted
		x.Response.Status = 0
		x.Response.Header = nil
		x.Response.Body = bodytap.Body{}
		x.TimeToHeaders = 0
	})
	add("client gone", func(x *bodytap.Exchange) {
		x.Err = bodytap.ErrClientGone
	})
	add("write error", func(x *bodytap.Exchange) {
		x.Err = errors.New("bodytap: write response: broken pipe")
		x.Response.Body.EOF = false
	})
	add("hijacked", func(x *bodytap.Exchange) {
		x.Hijacked = true
		x.Err = bodytap.ErrHijacked
		x.Response = bodytap.Response{}
		x.TimeToHeaders = 0
	})
	add("decoded by the tap", func(x *bodytap.Exchange) {
		x.Response.Header.Set("Content-Encoding", "gzip")
		x.Response.Body = bodytap.Body{Bytes: []byte(`{"password":"[REDACTED]"}`), Size: 41, EOF: true, Decoded: "gzip", Redacted: true}
		x.Request.Method = "POST"
		x.Request.Header.Set("Content-Encoding", "gzip")
		x.Request.Header.Set("Content-Length", "30")
		x.Request.ContentLength = 30
		x.Request.Body = bodytap.Body{Bytes: []byte("token=[REDACTED]"), Size: 30, EOF: true, Decoded: "gzip", Redacted: true}
	})
	add("decoded by the tap, cut", func(x *bodytap.Exchange) {
		x.Response.Header.Set("Content-Encoding", "br")
		x.Response.Body = bodytap.Body{Bytes: bytes.Repeat([]byte("ab"), 50), Size: 20, Truncated: true, EOF: true, Decoded: "br"}
	})
	add("withheld", func(x *bodytap.Exchange) {
		x.Response.Header.Set("Content-Encoding", "br")
		x.Response.Body = bodytap.Body{Size: 500, EOF: true, Withheld: true, Err: errors.New("decode br: unsupported content-encoding")}
		x.Request.Method = "POST"
		x.Request.Header.Set("Content-Type", "multipart/form-data")
		x.Request.ContentLength = -1
		x.Request.Body = bodytap.Body{Size: 12, EOF: true, Withheld: true, Err: errors.New("no boundary")}
	})
	add("http2 other host", func(x *bodytap.Exchange) {
		x.Request.Proto = "HTTP/2.0"
		x.Request.Host = "api.example.com"
		x.Request.URL.Scheme = "https"
		x.Route = ""
	})
	add("odd url", func(x *bodytap.Exchange) {
		u, _ := url.Parse("http://example.com/a%2Fb/%E2%82%AC?x=%ZZ&&y=1;z=2#frag")
		x.Request.URL = u
	})
	add("detected", func(x *bodytap.Exchange) {
		x.Detected = bodytap.DetectJWT | bodytap.DetectAWS | bodytap.DetectCard
	})
	add("zero times", func(x *bodytap.Exchange) {
		x.Duration = 0
		x.TimeToHeaders = 0
	})
	return cases
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range roundTripCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			e := FromExchange(tc.x)
			data, err := json.Marshal(File{Log: Log{Version: Version, Creator: creator(), Entries: []Entry{e}}})
			if err != nil {
				t.Fatal(err)
			}
			l, err := Read(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Entries) != 1 {
				t.Fatalf("got %d entries, want 1", len(l.Entries))
			}
			if !reflect.DeepEqual(l.Entries[0], e) {
				a, _ := json.Marshal(l.Entries[0])
				t.Errorf("entry changed through JSON:\ngot  %s\nwant %s", a, data)
			}
			x, err := ToExchange(l.Entries[0])
			if err != nil {
				t.Fatal(err)
			}
			exchangetest.Same(t, x, tc.x)
			checkRequired(t, data)
		})
	}
}

// checkRequired checks that an entry has every field HAR 1.2 requires,
// and the timings rules, in its JSON form.
func checkRequired(tb testing.TB, doc []byte) {
	tb.Helper()
	var v struct {
		Log map[string]json.RawMessage `json:"log"`
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		tb.Fatal(err)
	}
	has(tb, "log", v.Log, "version", "creator", "entries")
	var entries []map[string]json.RawMessage
	json.Unmarshal(v.Log["entries"], &entries)
	for _, e := range entries {
		has(tb, "entry", e, "startedDateTime", "time", "request", "response", "cache", "timings")
		var rq, rs, ti map[string]json.RawMessage
		json.Unmarshal(e["request"], &rq)
		json.Unmarshal(e["response"], &rs)
		json.Unmarshal(e["timings"], &ti)
		has(tb, "request", rq, "method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize")
		has(tb, "response", rs, "status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize")
		has(tb, "timings", ti, "send", "wait", "receive")
		for _, k := range []string{"cookies", "headers", "queryString"} {
			if s := string(rq[k]); !strings.HasPrefix(s, "[") {
				tb.Errorf("request.%s = %s, want an array", k, s)
			}
		}
		var tm Timings
		var total float64
		json.Unmarshal(e["timings"], &tm)
		json.Unmarshal(e["time"], &total)
		if tm.Send < 0 || tm.Wait < 0 || tm.Receive < 0 {
			tb.Errorf("negative timings %+v", tm)
		}
		if d := tm.Send + tm.Wait + tm.Receive - total; d > 1e-6 || d < -1e-6 {
			tb.Errorf("timings add up to %v, time is %v", tm.Send+tm.Wait+tm.Receive, total)
		}
	}
}

func has(tb testing.TB, what string, m map[string]json.RawMessage, keys ...string) {
	tb.Helper()
	for _, k := range keys {
		if v, ok := m[k]; !ok || string(v) == "null" {
			tb.Errorf("%s has no %q", what, k)
		}
	}
}

func TestFromExchange(t *testing.T) {
	x := exchange(t)
	e := FromExchange(x)
	if e.ID != x.ID.String() || e.Route != "GET /api/items" {
		t.Errorf("_id, _route: got %q, %q", e.ID, e.Route)
	}
	if e.Time != 1234.567891 || e.Timings.Wait != 1.000001 || e.Timings.Send != 0 {
		t.Errorf("time %v, timings %+v", e.Time, e.Timings)
	}
	wantQuery := []NameValue{{Name: "q", Value: "a b"}, {Name: "n", Value: "1"}, {Name: "flag"}}
	if !reflect.DeepEqual(e.Request.QueryString, wantQuery) {
		t.Errorf("queryString: got %v, want %v", e.Request.QueryString, wantQuery)
	}
	wantCookies := []Cookie{{Name: "session", Value: "abc"}, {Name: "theme", Value: "dark"}}
	if !reflect.DeepEqual(e.Request.Cookies, wantCookies) {
		t.Errorf("request cookies: got %v, want %v", e.Request.Cookies, wantCookies)
	}
	wantSet := []Cookie{
		{Name: "id", Value: "1", Path: "/", HTTPOnly: true, Secure: true},
		{Name: "x", Value: "y", Expires: "2026-10-21T07:28:00Z"},
	}
	if !reflect.DeepEqual(e.Response.Cookies, wantSet) {
		t.Errorf("response cookies: got %v, want %v", e.Response.Cookies, wantSet)
	}
	if e.Response.StatusText != "OK" || e.Response.HTTPVersion != "HTTP/1.1" || e.Response.HeadersSize != -1 {
		t.Errorf("response: %q %q %d", e.Response.StatusText, e.Response.HTTPVersion, e.Response.HeadersSize)
	}
	wantHeaders := []NameValue{
		{Name: "Content-Type", Value: "application/json"},
		{Name: "Set-Cookie", Value: "id=1; Path=/; HttpOnly; Secure"},
		{Name: "Set-Cookie", Value: "x=y; Expires=Wed, 21 Oct 2026 07:28:00 GMT"},
		{Name: "X-Multi", Value: "one"},
		{Name: "X-Multi", Value: "two"},
	}
	if !reflect.DeepEqual(e.Response.Headers, wantHeaders) {
		t.Errorf("headers: got %v, want %v", e.Response.Headers, wantHeaders)
	}
	c := e.Response.Content
	if c.Text != string(x.Response.Body.Bytes) || c.Encoding != "" || c.Raw != nil || c.Size != x.Response.Body.Size || c.MimeType != "application/json" {
		t.Errorf("content: %+v", c)
	}
	if e.Request.PostData != nil || e.Request.ContentLength != nil || e.Request.Incomplete {
		t.Errorf("GET request: postData %v, _contentLength %v, _incomplete %v", e.Request.PostData, e.Request.ContentLength, e.Request.Incomplete)
	}
}

func TestFromExchangeBodies(t *testing.T) {
	cases := map[string]*bodytap.Exchange{}
	for _, tc := range roundTripCases(t) {
		cases[tc.name] = tc.x
	}
	t.Run("binary", func(t *testing.T) {
		e := FromExchange(cases["binary both ways"])
		p := e.Request.PostData
		if p.Encoding != "base64" || p.Text != base64.StdEncoding.EncodeToString(cases["binary both ways"].Request.Body.Bytes) {
			t.Errorf("postData: _encoding %q, text %.20q", p.Encoding, p.Text)
		}
		if c := e.Response.Content; c.Encoding != "base64" || c.Raw != nil || c.MimeType != "image/png" {
			t.Errorf("content: encoding %q, _raw %d bytes, mimeType %q", c.Encoding, len(c.Raw), c.MimeType)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		x := cases["gzip response"]
		c := FromExchange(x).Response.Content
		plain := bytes.Repeat([]byte(`{"user":"ana","note":"naïve — ok","n":[1,2,3]}`), 20)
		if c.Text != string(plain) || c.Encoding != "" || !bytes.Equal(c.Raw, x.Response.Body.Bytes) ||
			c.Size != int64(len(plain)) || c.Compression != c.Size-x.Response.Body.Size || c.ContentEncoding != "" {
			t.Errorf("content: %+v", c)
		}
	})
	t.Run("gzip truncated", func(t *testing.T) {
		x := cases["gzip response truncated"]
		c := FromExchange(x).Response.Content
		// Random bytes do not compress: the 100 bytes kept decode to
		// about 80, base64 since they are not text.
		if c.Encoding != "base64" || !bytes.Equal(c.Raw, x.Response.Body.Bytes) || !c.Truncated ||
			c.Size != x.Response.Body.Size || c.Compression != 0 {
			t.Errorf("content: %+v", c)
		}
		if b, _ := base64.StdEncoding.DecodeString(c.Text); len(b) == 0 || !bytes.HasPrefix(testutil.RandomBytes(4000, 9), b) {
			t.Errorf("decoded prefix: %d bytes, not the body's first", len(b))
		}
	})
	t.Run("latin1", func(t *testing.T) {
		x := cases["invalid utf8"]
		e := FromExchange(x)
		if c := e.Response.Content; c.Text != "déjà vu ÿþ" || !bytes.Equal(c.Raw, x.Response.Body.Bytes) {
			t.Errorf("content: text %q, _raw %q", c.Text, c.Raw)
		}
		// postData has no _raw: an exact form it must be.
		if p := e.Request.PostData; p.Encoding != "base64" {
			t.Errorf("postData: %+v", p)
		}
	})
	t.Run("unknown encoding", func(t *testing.T) {
		c := FromExchange(cases["unknown encoding"]).Response.Content
		if c.ContentEncoding != "x-custom" || c.Text != "not really encoded" || c.Raw != nil {
			t.Errorf("content: %+v", c)
		}
	})
	t.Run("cut in a character", func(t *testing.T) {
		e := FromExchange(cases["truncated in a character"])
		c := e.Response.Content
		if c.Text != "ab" || string(c.Raw) != "ab\xe2\x82" || !c.Truncated || c.Size != 14 {
			t.Errorf("content: text %q, _raw %q, _truncated %v, size %d", c.Text, c.Raw, c.Truncated, c.Size)
		}
		// No _raw for postData: base64 keeps it exact.
		if p := e.Request.PostData; p.Encoding != "base64" || !p.Truncated {
			t.Errorf("postData: %+v", p)
		}
	})
	t.Run("no body kept", func(t *testing.T) {
		e := FromExchange(cases["no body kept"])
		if p := e.Request.PostData; p == nil || p.Text != "" || !p.Truncated || e.Request.BodySize != 500 {
			t.Errorf("postData %+v, bodySize %d", p, e.Request.BodySize)
		}
	})
	t.Run("chunked unread", func(t *testing.T) {
		e := FromExchange(cases["chunked unread"])
		if e.Request.ContentLength == nil || *e.Request.ContentLength != -1 || !e.Request.Incomplete || e.Request.PostData != nil {
			t.Errorf("request: %+v", e.Request)
		}
	})
	t.Run("sniffed type", func(t *testing.T) {
		x := exchange(t)
		x.Response.Header.Del("Content-Type")
		x.Response.Body = body([]byte("<!DOCTYPE html><p>hi"))
		if got := FromExchange(x).Response.Content.MimeType; got != "text/html; charset=utf-8" {
			t.Errorf("mimeType: got %q", got)
		}
	})
	t.Run("decoded by the tap", func(t *testing.T) {
		x := cases["decoded by the tap"]
		e := FromExchange(x)
		c := e.Response.Content
		if c.Text != `{"password":"[REDACTED]"}` || c.Raw != nil || c.Decoded != "gzip" || !c.Redacted || c.ContentEncoding != "" ||
			c.Size != 25 || c.Compression != 25-41 || e.Response.BodySize != 41 {
			t.Errorf("content: %+v", c)
		}
		if p := e.Request.PostData; p.Text != "token=[REDACTED]" || p.Decoded != "gzip" || !p.Redacted {
			t.Errorf("postData: %+v", p)
		}
		c = FromExchange(cases["decoded by the tap, cut"]).Response.Content
		if c.Size != 20 || c.Compression != 0 || !c.Truncated {
			t.Errorf("cut: %+v", c)
		}
	})
	t.Run("withheld", func(t *testing.T) {
		e := FromExchange(cases["withheld"])
		c := e.Response.Content
		if c.Text != "" || !c.Withheld || c.Error != "decode br: unsupported content-encoding" || c.Size != 500 {
			t.Errorf("content: %+v", c)
		}
		if p := e.Request.PostData; p == nil || !p.Withheld || p.Error != "no boundary" {
			t.Errorf("postData: %+v", p)
		}
	})
	t.Run("not sniffed when encoded", func(t *testing.T) {
		x := cases["gzip response"]
		x.Response.Header.Del("Content-Type")
		c := FromExchange(x).Response.Content
		if c.MimeType != "" || c.Encoding != "" || !strings.HasPrefix(c.Text, `{"user"`) {
			t.Errorf("content: mimeType %q, encoding %q, text %.20q", c.MimeType, c.Encoding, c.Text)
		}
	})
	t.Run("hijacked", func(t *testing.T) {
		e := FromExchange(cases["hijacked"])
		if !e.Hijacked || e.Error != bodytap.ErrHijacked.Error() || e.Response.Status != 0 || e.Timings.Wait != 0 || e.Timings.Receive != e.Time {
			t.Errorf("entry: %+v", e)
		}
	})
}

// A HAR from a browser: decoded text, pseudo-headers, no bodytap fields.
const browserHAR = `{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},
"pages":[{"startedDateTime":"2026-01-02T03:04:05.678+01:00","id":"page_1","title":"t","pageTimings":{"onContentLoad":10.5,"onLoad":-1}}],
"entries":[{"pageref":"page_1","startedDateTime":"2026-01-02T03:04:05.678+01:00","time":50.25,
 "request":{"method":"POST","url":"https://example.org/form?a=1","httpVersion":"http/2.0",
  "headers":[{"name":":authority","value":"example.org"},{"name":"content-type","value":"application/x-www-form-urlencoded"}],
  "queryString":[{"name":"a","value":"1"}],"cookies":[],"headersSize":-1,"bodySize":-1,
  "postData":{"mimeType":"application/x-www-form-urlencoded","params":[{"name":"x","value":"1 2"},{"name":"y","value":"&"}]}},
 "response":{"status":200,"statusText":"","httpVersion":"http/2.0",
  "headers":[{"name":"content-encoding","value":"br"},{"name":"content-type","value":"text/plain"}],
  "cookies":[],"content":{"size":11,"mimeType":"text/plain","text":"hello world"},"redirectURL":"","headersSize":-1,"bodySize":7},
 "cache":{},"timings":{"blocked":1,"dns":-1,"connect":-1,"ssl":-1,"send":0.5,"wait":20,"receive":28.75}}]}}`

func TestToExchangeForeign(t *testing.T) {
	l, err := Read(strings.NewReader(browserHAR))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Pages) != 1 || l.Creator.Name != "WebInspector" || l.Pages[0].PageTimings.OnLoad != -1 {
		t.Errorf("log: %+v", l)
	}
	x, err := ToExchange(l.Entries[0])
	if err != nil {
		t.Fatal(err)
	}
	if x.ID.Time().UnixMilli() != l.Entries[0].StartedDateTime.UnixMilli() {
		t.Errorf("ID time: got %v, want %v", x.ID.Time(), l.Entries[0].StartedDateTime)
	}
	if x.Duration != 50250*time.Microsecond || x.TimeToHeaders != 21500*time.Microsecond {
		t.Errorf("Duration %v, TimeToHeaders %v", x.Duration, x.TimeToHeaders)
	}
	wantReq := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	exchangetest.SameHeader(t, "request header", x.Request.Header, wantReq)
	if x.Request.Host != "example.org" || x.Request.ContentLength != -1 {
		t.Errorf("Host %q, ContentLength %d", x.Request.Host, x.Request.ContentLength)
	}
	exchangetest.SameBody(t, "request body", x.Request.Body, body([]byte("x=1+2&y=%26")))
	// The text is decoded: the Exchange gets it and loses the encoding.
	exchangetest.SameHeader(t, "response header", x.Response.Header, http.Header{"Content-Type": {"text/plain"}})
	exchangetest.SameBody(t, "response body", x.Response.Body, body([]byte("hello world")))

	// Text shorter than the size: Truncated.
	e := l.Entries[0]
	e.Response.Headers = e.Response.Headers[1:] // no Content-Encoding
	e.Response.BodySize = 100
	x2, err := ToExchange(e)
	if err != nil {
		t.Fatal(err)
	}
	exchangetest.SameBody(t, "short response body", x2.Response.Body, bodytap.Body{Bytes: []byte("hello world"), Size: 100, Truncated: true, EOF: true})

	// A second import of the same entry sorts after the first.
	y, _ := ToExchange(l.Entries[0])
	if y.ID.String() <= x.ID.String() {
		t.Errorf("IDs do not sort: %v then %v", x.ID, y.ID)
	}
}

func TestToExchangeErrors(t *testing.T) {
	good := FromExchange(exchange(t))
	cases := []struct {
		name   string
		change func(e *Entry)
		want   string
	}{
		{"no start", func(e *Entry) { e.StartedDateTime = time.Time{} }, "har: entry has no startedDateTime"},
		{"no url", func(e *Entry) { e.Request.URL = "" }, "har: entry has no request.url"},
		{"bad url", func(e *Entry) { e.Request.URL = "http://[::1" }, "har: request.url: "},
		{"bad id", func(e *Entry) { e.ID = "nope" }, `har: _id "nope": not a bodytap ID`},
		{"bad base64", func(e *Entry) { e.Response.Content.Text, e.Response.Content.Encoding = "@@@", "base64" }, "har: response.content.text: bad base64"},
		{"bad encoding", func(e *Entry) { e.Response.Content.Encoding = "rot13" }, `har: response.content.text: unknown encoding "rot13"`},
		{"bad post encoding", func(e *Entry) { e.Request.PostData = &PostData{Text: "x", Encoding: "hex"} }, `har: request.postData.text: unknown encoding "hex"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := good
			e.Request.PostData = nil
			tc.change(&e)
			_, err := ToExchange(e)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want %q...", err, tc.want)
			}
		})
	}
}

func TestBase64WithoutPadding(t *testing.T) {
	e := FromExchange(exchange(t))
	e.Response.Content.Text, e.Response.Content.Encoding = "aGk", "base64"
	x, err := ToExchange(e)
	if err != nil || string(x.Response.Body.Bytes) != "hi" {
		t.Errorf("got %v, %q", err, x.Response.Body.Bytes)
	}
}

func TestDurationsExact(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 999, 1000001, 1234567891, 3*time.Hour + 7, 240 * time.Hour} {
		if got := fromMS(ms(d)); got != d {
			t.Errorf("fromMS(ms(%d)) = %d", d, got)
		}
	}
}
