package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/proxy"
)

// A capturing proxy in front of an application, recording to a sink, with
// the shutdown order that loses no record.
func Example() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token":"s3cr3t","user":"bob"}`)
	}))
	defer app.Close()
	upstream, _ := url.Parse(app.URL)

	var records []string // a stand-in for the store
	sink := bodytap.SinkFunc(func(x *bodytap.Exchange) {
		records = append(records, fmt.Sprint(x.Request.Method, " ", x.Request.URL.Path, " ", x.Response.Status, " ", string(x.Response.Body.Bytes)))
	})
	p, err := proxy.New(proxy.Config{Upstream: upstream, Tap: bodytap.Config{Sink: sink}})
	if err != nil {
		log.Fatal(err)
	}
	if err := proxy.CheckUpstream(context.Background(), upstream); err != nil {
		log.Print("warning: ", err) // the proxy serves anyway, answering 502 until it is up
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := proxy.NewServer(l.Addr().String(), p)
	go srv.Serve(l)

	resp, err := http.Get("http://" + l.Addr().String() + "/me")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("client got", string(body))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx) // stop accepting, wait for requests in flight
	p.Close()         // deliver every queued exchange to the sink
	// then close the sink (the store)
	for _, r := range records {
		fmt.Println("recorded", r)
	}

	// Output:
	// client got {"token":"s3cr3t","user":"bob"}
	// recorded GET /me 200 {"token":"[REDACTED]","user":"bob"}
}
