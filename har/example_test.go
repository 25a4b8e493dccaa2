package har_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/har"
)

// Record the exchanges of a server in a HAR document, then read it back.
func Example() {
	var buf bytes.Buffer
	w := har.NewWriter(&buf) // or har.Create("exchanges.har")
	tap := bodytap.New(bodytap.Config{Sink: w})

	srv := httptest.NewServer(tap.Handler(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		name, _ := io.ReadAll(r.Body)
		rw.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(rw, "hello, %s", name)
	})))
	resp, err := http.Post(srv.URL+"/greet", "text/plain", strings.NewReader("gopher"))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	srv.Close()

	// Deliver what is queued, then end the document.
	tap.Close()
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	l, err := har.Read(&buf)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range l.Entries {
		fmt.Println(e.Request.Method, e.Request.PostData.Text, "->", e.Response.Status, e.Response.Content.Text)
		x, err := har.ToExchange(e)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s: %d bytes in, %d bytes out\n", x.Request.Method, x.Request.URL.Path, x.Request.Body.Size, x.Response.Body.Size)
	}
	// Output:
	// POST gopher -> 200 hello, gopher
	// POST /greet: 6 bytes in, 13 bytes out
}
