package jsonl_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/jsonl"
)

// exampleExchange returns an upload of a text body answered with a small
// GIF, with a fixed ID and fixed times so that the examples' output is
// stable.
func exampleExchange() *bodytap.Exchange {
	id, _ := bodytap.ParseID("01HQ3J5V2X0000000000000002")
	x := &bodytap.Exchange{ID: id, Start: time.Date(2024, 2, 20, 10, 0, 0, 0, time.UTC), Duration: 2 * time.Millisecond}
	x.Request.Method = "PUT"
	x.Request.URL, _ = url.Parse("http://example.com/avatar")
	x.Request.ContentLength = 6
	x.Request.Body = bodytap.Body{Bytes: []byte("gopher"), Size: 6, EOF: true}
	x.Response.Status = http.StatusOK
	x.Response.Header = http.Header{"Content-Type": {"image/gif"}}
	x.Response.Body = bodytap.Body{Bytes: []byte("GIF89a\x01\x00"), Size: 8, EOF: true}
	return x
}

// Each exchange is one line of JSON. Text bodies go as "text", binary ones
// as "base64"; durations are in nanoseconds.
func ExampleWriter() {
	sink := jsonl.NewWriter(os.Stdout)
	sink.Record(exampleExchange())
	sink.Close()
	// Output:
	// {"id":"01HQ3J5V2X0000000000000002","start":"2024-02-20T10:00:00Z","duration_ns":2000000,"time_to_headers_ns":0,"request":{"method":"PUT","url":"http://example.com/avatar","content_length":6,"body":{"size":6,"text":"gopher","eof":true}},"response":{"status":200,"header":{"Content-Type":["image/gif"]},"body":{"size":8,"base64":"R0lGODlhAQA=","encoding":"base64","eof":true}}}
}

// A Tap writing JSON Lines to a file that is rotated at 10 MiB, keeping
// five old files.
func ExampleOpenFile() {
	dir, err := os.MkdirTemp("", "bodytap")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	sink, err := jsonl.OpenFile(filepath.Join(dir, "exchanges.jsonl"), 10<<20, 5)
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
func ExampleRead() {
	var buf strings.Builder
	sink := jsonl.NewWriter(&buf)
	sink.Record(exampleExchange())

	for x, err := range jsonl.Read(strings.NewReader(buf.String())) {
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %s %s → %d %q\n", x.ID, x.Request.Method, x.Request.URL, x.Response.Status, x.Response.Body.Bytes)
	}
	// Output: 01HQ3J5V2X0000000000000002 PUT http://example.com/avatar → 200 "GIF89a\x01\x00"
}
