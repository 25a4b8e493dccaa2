package bodytap_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
)

// exampleExchange returns an exchange with a fixed ID and fixed times, so
// that the examples' output is stable.
func exampleExchange() *bodytap.Exchange {
	id, _ := bodytap.ParseID("01HQ3J5V2X0000000000000001")
	u, _ := url.Parse("http://example.com/greet")
	return &bodytap.Exchange{
		ID:            id,
		Start:         time.Date(2024, 2, 20, 10, 0, 0, 0, time.UTC),
		Duration:      1500 * time.Microsecond,
		TimeToHeaders: 900 * time.Microsecond,
		Route:         "POST /greet",
		Request: bodytap.Request{
			Method:        "POST",
			URL:           u,
			Proto:         "HTTP/1.1",
			Host:          "example.com",
			Header:        http.Header{"Content-Type": {"text/plain"}},
			ContentLength: 6,
			Body:          bodytap.Body{Bytes: []byte("gopher"), Size: 6, EOF: true},
		},
		Response: bodytap.Response{
			Status: 200,
			Header: http.Header{"Content-Type": {"image/gif"}},
			Body:   bodytap.Body{Bytes: []byte("GIF89a\x01\x00"), Size: 8, EOF: true},
		},
	}
}

// Each exchange is one line of JSON. Text bodies go as "text", binary ones
// as "base64"; durations are in nanoseconds.
func ExampleJSONLines() {
	sink := bodytap.NewJSONLines(os.Stdout)
	sink.Record(exampleExchange())
	sink.Close()
	// Output:
	// {"id":"01HQ3J5V2X0000000000000001","start":"2024-02-20T10:00:00Z","duration_ns":1500000,"time_to_headers_ns":900000,"route":"POST /greet","request":{"method":"POST","url":"http://example.com/greet","proto":"HTTP/1.1","host":"example.com","header":{"Content-Type":["text/plain"]},"content_length":6,"body":{"size":6,"text":"gopher","eof":true}},"response":{"status":200,"header":{"Content-Type":["image/gif"]},"body":{"size":8,"base64":"R0lGODlhAQA=","encoding":"base64","eof":true}}}
}

// A Tap writing JSON Lines to a file that is rotated at 10 MiB, keeping
// five old files.
func ExampleOpenJSONLinesFile() {
	dir, err := os.MkdirTemp("", "bodytap")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	sink, err := bodytap.OpenJSONLinesFile(filepath.Join(dir, "exchanges.jsonl"), 10<<20, 5)
	if err != nil {
		panic(err)
	}
	tap := bodytap.New(bodytap.Config{Sink: sink})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	tap.Close()  // deliver what is queued
	sink.Close() // then flush the file
	fmt.Println(sink.Stats().Written, sink.Err())
	// Output: 1 <nil>
}

// JSON Lines read back: each line is an Exchange again.
func ExampleReadJSONLines() {
	var buf strings.Builder
	sink := bodytap.NewJSONLines(&buf)
	sink.Record(exampleExchange())

	for x, err := range bodytap.ReadJSONLines(strings.NewReader(buf.String())) {
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %s %s → %d %q\n", x.ID, x.Request.Method, x.Request.URL, x.Response.Status, x.Response.Body.Bytes)
	}
	// Output: 01HQ3J5V2X0000000000000001 POST http://example.com/greet → 200 "GIF89a\x01\x00"
}

// One log record per exchange: Info for success, Warn for 4xx, Error for
// 5xx and failures. Binary bodies are not shown, only their size.
func ExampleNewSlogSink() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	sink := bodytap.NewSlogSink(logger, bodytap.SlogOptions{Headers: true})
	sink.Record(exampleExchange())
	// Output:
	// level=INFO msg="http exchange" id=01HQ3J5V2X0000000000000001 method=POST url=http://example.com/greet route="POST /greet" status=200 duration=1.5ms time_to_headers=900µs request.headers.Content-Type=text/plain request.body.size=6 request.body.text=gopher response.headers.Content-Type=image/gif response.body.size=8 response.body.binary="(8 bytes, binary)"
}

// An Exchange is a slog.LogValuer: logged as an attribute, it is a group.
func ExampleExchange_LogValue() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	x := exampleExchange()
	logger.Info("slow request", "exchange", x)
	// Output:
	// {"level":"INFO","msg":"slow request","exchange":{"id":"01HQ3J5V2X0000000000000001","method":"POST","url":"http://example.com/greet","route":"POST /greet","status":200,"duration":1500000,"time_to_headers":900000,"request":{"body":{"size":6,"text":"gopher"}},"response":{"body":{"size":8,"binary":"(8 bytes, binary)"}}}}
}

// Several sinks at once, one of them only for failed exchanges.
func ExampleMulti() {
	failed := func(x *bodytap.Exchange) bool { return x.Err != nil || x.Response.Status >= 500 }
	all := bodytap.SinkFunc(func(x *bodytap.Exchange) {
		fmt.Println("all:", x.Request.URL.Path, x.Response.Status)
	})
	failures := bodytap.SinkFunc(func(x *bodytap.Exchange) {
		fmt.Println("failures:", x.Request.URL.Path, x.Response.Status)
	})
	tap := bodytap.New(bodytap.Config{
		Sink: bodytap.Multi(all, bodytap.Filter(failures, failed)),
	})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	for _, path := range []string{"/ok", "/fail"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	tap.Close()
	// Output:
	// all: /ok 200
	// all: /fail 500
	// failures: /fail 500
}

// A sink in a Multi that changes exchanges works on its own copy.
func ExampleExchange_Clone() {
	shout := bodytap.SinkFunc(func(x *bodytap.Exchange) {
		x = x.Clone()
		x.Request.Body.Bytes = []byte(strings.ToUpper(string(x.Request.Body.Bytes)))
		fmt.Printf("shout: %s\n", x.Request.Body.Bytes)
	})
	show := bodytap.SinkFunc(func(x *bodytap.Exchange) {
		fmt.Printf("show: %s\n", x.Request.Body.Bytes)
	})
	bodytap.Multi(shout, show).Record(exampleExchange())
	// Output:
	// shout: GOPHER
	// show: gopher
}
