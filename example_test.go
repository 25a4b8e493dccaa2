package bodytap_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
)

// The question's "get the response body in a middleware", done without
// buffering: the client gets every byte as the handler writes it, and the
// sink sees the whole exchange once the handler is done.
func Example() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	tap := bodytap.New(bodytap.Config{
		Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
			logger.Info("exchange",
				"method", x.Request.Method,
				"path", x.Request.URL.Path,
				"request_body", string(x.Request.Body.Bytes),
				"status", x.Response.Status,
				"response_body", string(x.Response.Body.Bytes),
				"response_size", x.Response.Body.Size)
		}),
	})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /greet", func(w http.ResponseWriter, r *http.Request) {
		name, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"greeting":"hello, %s"}`, name)
	})
	srv := httptest.NewServer(tap.Handler(mux))
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/greet", "text/plain", strings.NewReader("gopher"))
	if err != nil {
		panic(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	tap.Close() // deliver what is queued
	// Output:
	// level=INFO msg=exchange method=POST path=/greet request_body=gopher status=200 response_body="{\"greeting\":\"hello, gopher\"}" response_size=28
}

// The question's X-Process-Time header, which a middleware cannot add after
// calling the next handler (by then the headers are on the wire), added
// with the BeforeHeaders hook instead.
func ExampleConfig_beforeHeaders() {
	tap := bodytap.New(bodytap.Config{
		BeforeHeaders: func(r *http.Request, status int, h http.Header, elapsed time.Duration) {
			h.Set("X-Process-Time", fmt.Sprintf("%.6f", elapsed.Seconds()))
		},
	})
	defer tap.Close()
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "done")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("X-Process-Time set:", resp.Header.Get("X-Process-Time") != "")
	// Output: X-Process-Time set: true
}

// Skip lets chosen requests through with no wrapping at all. Streaming
// endpoints need no skipping for memory's sake (a body costs its cap, not
// its size), but a service may still not want to record them.
func ExampleConfig_skip() {
	var recorded []string
	tap := bodytap.New(bodytap.Config{
		Skip: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/events") },
		Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
			recorded = append(recorded, x.Request.URL.Path)
		}),
	})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	for _, path := range []string{"/events/stream", "/api/items"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	tap.Close()
	fmt.Println(recorded, tap.Stats().Skipped)
	// Output: [/api/items] 1
}
