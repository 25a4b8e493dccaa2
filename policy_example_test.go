package bodytap_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/bodytap/bodytap"
)

// Rules keep only headers for media and skip health checks; everything
// else is captured.
func ExampleParseRules() {
	rules, err := bodytap.ParseRules(`
		response_type=video/*,audio/* -> headers-only
		method=GET path=/healthz -> skip
	`)
	if err != nil {
		panic(err)
	}
	tap := bodytap.New(bodytap.Config{
		Rules: rules,
		Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
			fmt.Printf("%s kept %d of %d bytes\n", x.Request.URL.Path, len(x.Response.Body.Bytes), x.Response.Body.Size)
		}),
	})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/movie" {
			w.Header().Set("Content-Type", "video/mp4")
		}
		io.WriteString(w, "0123456789")
	}))
	for _, p := range []string{"/healthz", "/movie", "/api"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	tap.Close()
	fmt.Println("skipped:", tap.Stats().Skipped)
	// Output:
	// /movie kept 0 of 10 bytes
	// /api kept 10 of 10 bytes
	// skipped: 1
}

// Sampling keeps none at random here, but every server error.
func ExampleSampling() {
	tap := bodytap.New(bodytap.Config{
		Sampling: bodytap.Sampling{Rate: -1, KeepErrors: true},
		Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
			fmt.Println("kept", x.Request.URL.Path, x.Response.Status)
		}),
	})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	for _, p := range []string{"/ok", "/fail", "/ok"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	tap.Close()
	fmt.Println("sampled out:", tap.Stats().SampledOut)
	// Output:
	// kept /fail 502
	// sampled out: 2
}

// With a spill directory, a sink reads a whole body far larger than the
// memory cap, then releases its file.
func ExampleBody_Open() {
	dir, _ := os.MkdirTemp("", "bodytap-spill")
	defer os.RemoveAll(dir)
	tap := bodytap.New(bodytap.Config{
		MaxBodyBytes: 16,
		SpillDir:     dir,
		Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
			defer x.Release()
			rc, err := x.Response.Body.Open()
			if err != nil {
				panic(err)
			}
			defer rc.Close()
			whole, _ := io.ReadAll(rc)
			fmt.Printf("in memory %d, on disk %d, read %d\n", len(x.Response.Body.Bytes), x.Response.Body.Spilled(), len(whole))
		}),
	})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100000))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	tap.Close()
	// Output: in memory 16, on disk 99984, read 100000
}
