package rewrite_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/rewrite"
)

// get fetches url and prints the status, the headers named, and the body.
func get(url string, headers ...string) {
	resp, err := http.Get(url)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status)
	for _, h := range headers {
		fmt.Printf("%s: %s\n", h, resp.Header.Get(h))
	}
	fmt.Println(string(body))
}

// Add a field to every JSON response. With DecodeBodies, compressed responses
// are decoded for the function and encoded again after it. The
// Content-Length is fixed to fit the new body.
func ExampleNew() {
	addVersion := rewrite.New(func(r *http.Request, resp *rewrite.Response) error {
		if resp.Header.Get("Content-Type") != "application/json" || resp.DecodeErr != nil {
			return nil
		}
		var obj map[string]any
		if err := json.Unmarshal(resp.Body, &obj); err != nil {
			return nil // not a JSON object: leave it as it is
		}
		obj["api_version"] = "v2"
		b, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		resp.Body = b
		return nil
	}, rewrite.Config{DecodeBodies: true})

	mux := http.NewServeMux()
	mux.HandleFunc("/user", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "16")
		io.WriteString(w, `{"name":"alice"}`)
	})
	srv := httptest.NewServer(addVersion(mux))
	defer srv.Close()

	get(srv.URL+"/user", "Content-Length")
	// Output:
	// 200 OK
	// Content-Length: 35
	// {"api_version":"v2","name":"alice"}
}

// Replace the body of error responses with a uniform problem document
// (RFC 9457), whatever the handler wrote.
func ExampleNew_errorPages() {
	problems := rewrite.New(func(r *http.Request, resp *rewrite.Response) error {
		if resp.Status < 400 {
			return nil
		}
		b, err := json.Marshal(map[string]any{
			"status": resp.Status,
			"title":  http.StatusText(resp.Status),
		})
		if err != nil {
			return err
		}
		resp.Header.Set("Content-Type", "application/problem+json")
		resp.Header.Del("Content-Encoding")
		resp.Body = b
		return nil
	}, rewrite.Config{})

	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "fine")
	})
	// http.NotFound writes "404 page not found" as text/plain.
	srv := httptest.NewServer(problems(mux))
	defer srv.Close()

	get(srv.URL+"/ok", "Content-Type")
	get(srv.URL+"/missing", "Content-Type")
	// Output:
	// 200 OK
	// Content-Type: text/plain; charset=utf-8
	// fine
	// 404 Not Found
	// Content-Type: application/problem+json
	// {"status":404,"title":"Not Found"}
}

// Add a Content-Digest header (RFC 9530). A digest of the body has to be
// in the headers, which go out before the body: this is the case that
// needs the whole body buffered. Responses too large to buffer, or
// streamed, go out without one, and OnFallback says so.
func ExampleNew_contentDigest() {
	digest := rewrite.New(func(r *http.Request, resp *rewrite.Response) error {
		sum := sha256.Sum256(resp.Body)
		resp.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
		return nil
	}, rewrite.Config{
		MaxBytes: 64 << 10,
		OnFallback: func(r *http.Request, reason rewrite.FallbackReason) {
			fmt.Printf("%s: no digest (%v)\n", r.URL.Path, reason)
		},
	})

	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello, world\n")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, strings.NewReader(strings.Repeat("x", 1<<20)))
	})
	srv := httptest.NewServer(digest(mux))
	defer srv.Close()

	get(srv.URL+"/hello", "Content-Digest")
	resp, err := http.Get(srv.URL + "/big")
	if err != nil {
		panic(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Printf("/big: %d bytes, Content-Digest %q\n", n, resp.Header.Get("Content-Digest"))
	// Output:
	// 200 OK
	// Content-Digest: sha-256=:hT/5N2Kgbdv3IsTr6d3WbY9j3a6pf1IcPswg2nyXYCA=:
	// hello, world
	//
	// /big: no digest (too large)
	// /big: 1048576 bytes, Content-Digest ""
}

// The question's X-Process-Time header needs no buffering at all: the
// Tap's BeforeHeaders hook adds it just before the headers go out, so the
// response still streams. rewrite.New is for changes that need the body.
func ExampleNew_processTime() {
	tap := bodytap.New(bodytap.Config{
		BeforeHeaders: func(r *http.Request, status int, h http.Header, elapsed time.Duration) {
			h.Set("X-Process-Time", fmt.Sprintf("%.6f", elapsed.Seconds()))
		},
	})
	defer tap.Close()

	next := make(chan struct{})
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			<-next // the client has this event before the next is written
		}
	})
	srv := httptest.NewServer(tap.Handler(events))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println("X-Process-Time set:", resp.Header.Get("X-Process-Time") != "")
	br := bufio.NewReader(resp.Body)
	for range 3 {
		line, _ := br.ReadString('\n')
		br.ReadString('\n')
		fmt.Print(line)
		next <- struct{}{}
	}
	// Output:
	// X-Process-Time set: true
	// data: 0
	// data: 1
	// data: 2
}

// A streamed response is never held back: Server-Sent Events fall back to
// streaming as soon as the handler sets their Content-Type, and OnFallback
// is told why.
func ExampleConfig_onFallback() {
	noSSE := rewrite.New(func(r *http.Request, resp *rewrite.Response) error {
		resp.Body = []byte("never seen\n")
		return nil
	}, rewrite.Config{
		OnFallback: func(r *http.Request, reason rewrite.FallbackReason) {
			fmt.Println("not rewritten:", reason)
		},
	})
	h := noSSE(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: tick\n\n")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	get(srv.URL)
	// Output:
	// not rewritten: streaming
	// 200 OK
	// data: tick
}
