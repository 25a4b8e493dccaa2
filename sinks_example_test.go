package bodytap_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
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
