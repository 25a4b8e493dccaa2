package bodytap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// slogRecord logs x through a SlogSink with opts into a JSON handler at
// level Debug, and returns the record decoded, nil if nothing was logged.
func slogRecord(tb testing.TB, x *Exchange, opts SlogOptions, level slog.Level) map[string]any {
	tb.Helper()
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))
	NewSlogSink(l, opts).Record(x)
	if buf.Len() == 0 {
		return nil
	}
	if n := bytes.Count(buf.Bytes(), []byte{'\n'}); n != 1 {
		tb.Fatalf("got %d lines, want 1:\n%s", n, buf.Bytes())
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		tb.Fatalf("%v: %s", err, buf.Bytes())
	}
	return m
}

func TestSlogLevel(t *testing.T) {
	tests := []struct {
		name   string
		status int
		err    error
		want   slog.Level
	}{
		{"200", 200, nil, slog.LevelInfo},
		{"204", 204, nil, slog.LevelInfo},
		{"302", 302, nil, slog.LevelInfo},
		{"400", 400, nil, slog.LevelWarn},
		{"404", 404, nil, slog.LevelWarn},
		{"499", 499, nil, slog.LevelWarn},
		{"500", 500, nil, slog.LevelError},
		{"503", 503, nil, slog.LevelError},
		{"200, client gone", 200, ErrClientGone, slog.LevelWarn},
		{"200, write failed", 200, errors.New("bodytap: write response: broken pipe"), slog.LevelError},
		{"404, aborted", 404, ErrAborted, slog.LevelError},
		{"no status, panicked", 0, ErrHandlerPanic, slog.LevelError},
		{"no status, hijacked", 0, ErrHijacked, slog.LevelInfo},
		{"503, client gone", 503, ErrClientGone, slog.LevelError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := sinkExchange(t)
			x.Response.Status, x.Err = tt.status, tt.err
			if got := SlogLevel(x); got != tt.want {
				t.Errorf("SlogLevel: got %q, want %q", got, tt.want)
			}
			m := slogRecord(t, x, SlogOptions{}, slog.LevelDebug)
			if got := m["level"]; got != tt.want.String() {
				t.Errorf("logged level: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSlogSinkOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  SlogOptions
		level slog.Level
		want  string // the level logged, "" for nothing
	}{
		{"default", SlogOptions{}, slog.LevelInfo, "INFO"},
		{"custom level", SlogOptions{Level: func(*Exchange) slog.Level { return slog.LevelDebug }}, slog.LevelDebug, "DEBUG"},
		{"below the logger's level", SlogOptions{Level: func(*Exchange) slog.Level { return slog.LevelDebug }}, slog.LevelInfo, ""},
		{"info filtered out", SlogOptions{}, slog.LevelWarn, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := slogRecord(t, sinkExchange(t), tt.opts, tt.level)
			got := ""
			if m != nil {
				got = m["level"].(string)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSlogSinkMessage(t *testing.T) {
	tests := []struct {
		name, msg, want string
	}{
		{"default", "", "http exchange"},
		{"custom", "request served", "request served"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := slogRecord(t, sinkExchange(t), SlogOptions{Message: tt.msg}, slog.LevelInfo)
			if got := m["msg"]; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSlogSinkFields checks the attributes of a record, by their dotted
// paths in the JSON handler's output; a nil want means absent.
func TestSlogSinkFields(t *testing.T) {
	long := "a" + strings.Repeat("é", 600) // 1201 bytes
	tests := []struct {
		name   string
		change func(x *Exchange)
		opts   SlogOptions
		want   map[string]any
	}{
		{"basics", func(x *Exchange) {}, SlogOptions{}, map[string]any{
			"id":                      "01HQ3J5V2X0000000000000001",
			"method":                  "POST",
			"url":                     "http://example.com/items/7?q=1",
			"route":                   "POST /items/{id}",
			"status":                  201.0,
			"duration":                1.5e6,
			"time_to_headers":         9e5,
			"request.body.size":       11.0,
			"request.body.text":       "{\"name\":1}\n",
			"request.body.eof":        nil,
			"request.headers":         nil,
			"response.body.text":      "created <ok> & done",
			"response.body.size":      19.0,
			"response.body.truncated": nil,
			"response.headers":        nil,
			"error":                   nil,
			"hijacked":                nil,
			"detected":                nil,
		}},
		{"headers", func(x *Exchange) {}, SlogOptions{Headers: true}, map[string]any{
			"request.headers.Content-Type":  "application/json",
			"request.headers.X-Trace":       "a, b",
			"response.headers.Content-Type": "text/plain; charset=utf-8",
			"response.trailers.X-Sum":       "42",
		}},
		{"cut at a character boundary", func(x *Exchange) {
			x.Response.Body = Body{Bytes: []byte(long), Size: 5000, Truncated: true, EOF: true}
		}, SlogOptions{}, map[string]any{
			// 1024 bytes would split an é: 1023 shown, 178 cut.
			"response.body.text":      long[:1023] + "…",
			"response.body.cut":       178.0,
			"response.body.size":      5000.0,
			"response.body.truncated": true,
		}},
		{"custom preview size", func(x *Exchange) {
			x.Response.Body = Body{Bytes: []byte("0123456789"), Size: 10, EOF: true}
		}, SlogOptions{MaxBodyBytes: 4}, map[string]any{
			"response.body.text": "0123…",
			"response.body.cut":  6.0,
		}},
		{"preview exactly the body", func(x *Exchange) {
			x.Response.Body = Body{Bytes: []byte("0123"), Size: 4, EOF: true}
		}, SlogOptions{MaxBodyBytes: 4}, map[string]any{
			"response.body.text": "0123",
			"response.body.cut":  nil,
		}},
		{"no bodies", func(x *Exchange) {}, SlogOptions{MaxBodyBytes: -1}, map[string]any{
			"request.body.text":  nil,
			"request.body.size":  11.0,
			"response.body.text": nil,
		}},
		{"binary", func(x *Exchange) {
			x.Response.Header.Set("Content-Type", "image/png")
			x.Response.Body = Body{Bytes: []byte("\x89PNG\r\n\x1a\n\x00\x00"), Size: 10, EOF: true}
		}, SlogOptions{}, map[string]any{
			"response.body.binary": "(10 bytes, binary)",
			"response.body.text":   nil,
		}},
		{"binary, cut", func(x *Exchange) {
			x.Request.Header.Del("Content-Type")
			x.Request.Body = Body{Bytes: sinkRandomBytes(3000, 3), Size: 3000, EOF: true}
		}, SlogOptions{}, map[string]any{
			"request.body.binary": "(3000 bytes, binary)",
			"request.body.cut":    nil,
		}},
		{"still gzipped", func(x *Exchange) {
			x.Response.Header.Set("Content-Encoding", "gzip")
			x.Response.Body = Body{Bytes: sinkGzip(t, []byte("hello")), Size: 25, EOF: true}
		}, SlogOptions{}, map[string]any{
			"response.body.binary": "(29 bytes, binary)", // the gzip stream, not Size
		}},
		{"decoded", func(x *Exchange) {
			x.Response.Header.Set("Content-Encoding", "gzip")
			x.Response.Body = Body{Bytes: []byte("hello"), Size: 25, EOF: true, Decoded: "gzip"}
		}, SlogOptions{}, map[string]any{
			"response.body.text":    "hello",
			"response.body.decoded": "gzip",
		}},
		{"invalid UTF-8 in text", func(x *Exchange) {
			x.Response.Body = Body{Bytes: []byte("caf\xe9!"), Size: 5, EOF: true}
		}, SlogOptions{}, map[string]any{
			"response.body.text": "caf\uFFFD!",
		}},
		{"no type, text", func(x *Exchange) {
			x.Response.Header = nil
			x.Response.Body = Body{Bytes: []byte("plain"), Size: 5, EOF: true}
		}, SlogOptions{}, map[string]any{
			"response.body.text": "plain",
		}},
		{"no type, text cut in a character", func(x *Exchange) {
			x.Response.Header = nil
			x.Response.Body = Body{Bytes: []byte("plain \xe2\x82"), Size: 9, Truncated: true, EOF: true}
		}, SlogOptions{}, map[string]any{
			"response.body.text": "plain \uFFFD",
		}},
		{"flags and errors", func(x *Exchange) {
			x.Request.Body = Body{Size: 70000, Truncated: true, Withheld: true, Err: errors.New("cannot decode")}
			x.Response.Body.Redacted = true
			x.Response.Body.EOF = false
			x.Err = fmt.Errorf("%w: boom", ErrHandlerPanic)
			x.Hijacked = true
			x.Detected = DetectJWT | DetectCard
		}, SlogOptions{}, map[string]any{
			"detected":               "jwt,card",
			"request.body.size":      70000.0,
			"request.body.truncated": true,
			"request.body.withheld":  true,
			"request.body.eof":       false,
			"request.body.error":     "cannot decode",
			"request.body.text":      nil,
			"response.body.redacted": true,
			"response.body.eof":      false,
			"error":                  "bodytap: handler panicked: boom",
			"hijacked":               true,
			"level":                  "ERROR",
		}},
		{"empty bodies left out", func(x *Exchange) {
			x.Request = Request{Method: "GET", Body: Body{EOF: true}}
			x.Route = ""
		}, SlogOptions{}, map[string]any{
			"request": nil,
			"url":     "",
			"route":   nil,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := sinkExchange(t)
			tt.change(x)
			m := slogRecord(t, x, tt.opts, slog.LevelDebug)
			for path, want := range tt.want {
				if got := lookup(m, path); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %#v, want %#v", path, got, want)
				}
			}
		})
	}
}

// TestSlogPreviewNeverSplitsACharacter: whatever the limit, the preview is
// valid UTF-8 and the cut count adds up.
func TestSlogPreviewNeverSplitsACharacter(t *testing.T) {
	body := []byte("a€b😀cé")
	for limit := 1; limit <= len(body); limit++ {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			x := sinkExchange(t)
			x.Response.Body = Body{Bytes: body, Size: int64(len(body)), EOF: true}
			m := slogRecord(t, x, SlogOptions{MaxBodyBytes: limit}, slog.LevelDebug)
			text, _ := lookup(m, "response.body.text").(string)
			cut, _ := lookup(m, "response.body.cut").(float64)
			shown := strings.TrimSuffix(text, "…")
			if strings.ContainsRune(shown, '\uFFFD') {
				t.Errorf("preview %q splits a character", text)
			}
			if !strings.HasPrefix(string(body), shown) || len(shown)+int(cut) != len(body) {
				t.Errorf("preview %q with %v cut does not add up to %q", text, cut, body)
			}
		})
	}
}

func TestExchangeLogValue(t *testing.T) {
	x := sinkExchange(t)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("done", "exchange", x)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want any
	}{
		{"exchange.id", "01HQ3J5V2X0000000000000001"},
		{"exchange.method", "POST"},
		{"exchange.status", 201.0},
		{"exchange.response.body.text", "created <ok> & done"},
		{"exchange.request.headers", nil}, // LogValue has no headers
		{"msg", "done"},
	}
	for _, tt := range tests {
		if got := lookup(m, tt.path); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.path, got, tt.want)
		}
	}

	// The text handler, and an Exchange value rather than a pointer.
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("done", "x", *x)
	for _, want := range []string{"x.id=01HQ3J5V2X0000000000000001", "x.status=201", `x.response.body.text="created <ok> & done"`, "x.duration=1.5ms"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("got %q, want it to hold %q", buf.String(), want)
		}
	}
}

// TestSlogSinkDefaultLogger: a nil logger logs to slog.Default.
func TestSlogSinkDefaultLogger(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	defer slog.SetDefault(old)
	NewSlogSink(nil, SlogOptions{}).Record(sinkExchange(t))
	if !strings.Contains(buf.String(), `"msg":"http exchange"`) {
		t.Errorf("got %q, want a record in the default logger", buf.String())
	}
}

// TestSlogSinkInTap logs real exchanges through a Tap.
func TestSlogSinkInTap(t *testing.T) {
	var buf bytes.Buffer
	tap := New(Config{Sink: NewSlogSink(slog.New(slog.NewJSONHandler(&buf, nil)), SlogOptions{Headers: true})})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "hello, %s", r.PathValue("name"))
	})
	for _, path := range []string{"/hello/gopher", "/nope"} {
		tap.Handler(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	tap.Close()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	tests := []struct {
		line int
		path string
		want any
	}{
		{0, "level", "INFO"},
		{0, "route", "GET /hello/{name}"},
		{0, "response.body.text", "hello, gopher"},
		{0, "response.headers.Content-Type", "text/plain"},
		{1, "level", "WARN"},
		{1, "status", 404.0},
	}
	for _, tt := range tests {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[tt.line]), &m); err != nil {
			t.Fatal(err)
		}
		if got := lookup(m, tt.path); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("line %d, %s: got %#v, want %#v", tt.line, tt.path, got, tt.want)
		}
	}
}

// TestSlogSinkReusedExchanges: a Tap whose sink is a SlogSink reuses its
// exchanges, and logs the same records, request after request on the
// same memory, as a Tap that gives every exchange its own.
func TestSlogSinkReusedExchanges(t *testing.T) {
	// What differs between two runs of the same request.
	varying := map[string]bool{slog.TimeKey: true, "id": true, "duration": true, "time_to_headers": true}
	logger := func(buf *bytes.Buffer) *slog.Logger {
		return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && varying[a.Key] {
				return slog.Attr{}
			}
			return a
		}}))
	}
	var reusedOut, freshOut bytes.Buffer
	opts := SlogOptions{Headers: true, MaxBodyBytes: 100 << 10}
	reused := New(Config{Sink: NewSlogSink(logger(&reusedOut), opts), MaxBodyBytes: 128 << 10})
	fresh := New(Config{Sink: SinkFunc(NewSlogSink(logger(&freshOut), opts).Record), MaxBodyBytes: 128 << 10})
	if !reused.reuse || fresh.reuse {
		t.Fatalf("reuse: %v with a SlogSink, %v with a SinkFunc; want true, false", reused.reuse, fresh.reuse)
	}
	hr, hf := reused.Handler(http.HandlerFunc(variedHandler)), fresh.Handler(http.HandlerFunc(variedHandler))
	for n := range 150 {
		for _, h := range []http.Handler{hr, hf} {
			in := strings.Repeat("q", n*37%3000) + `{"password":"p` + strconv.Itoa(n) + `"}`
			r := httptest.NewRequest("POST", "/v?n="+strconv.Itoa(n), strings.NewReader(in))
			r.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	}
	reused.Close()
	fresh.Close()
	got, want := strings.Split(reusedOut.String(), "\n"), strings.Split(freshOut.String(), "\n")
	if len(got) != 151 || len(want) != 151 {
		t.Fatalf("%d and %d lines, want 151 each", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("line %d of the reusing Tap differs:\ngot  %s\nwant %s", i, got[i], want[i])
		}
	}
}
