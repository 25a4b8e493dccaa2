package bodytap

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/testutil"
)

// The package's tests know these helpers of testutil by short names.
const raceEnabled = testutil.RaceEnabled

var (
	newServer       = testutil.NewServer
	sinkRandomBytes = testutil.RandomBytes
	sinkGzip        = testutil.Gzip
	lookup          = testutil.Lookup
)

// collector is a Sink that keeps every exchange.
type collector struct {
	mu sync.Mutex
	xs []*Exchange
	ch chan *Exchange
}

func newCollector() *collector { return &collector{ch: make(chan *Exchange, 1<<16)} }

func (c *collector) Record(x *Exchange) {
	c.mu.Lock()
	c.xs = append(c.xs, x)
	c.mu.Unlock()
	c.ch <- x
}

// next waits for the next exchange.
func (c *collector) next(t testing.TB) *Exchange {
	t.Helper()
	select {
	case x := <-c.ch:
		return x
	case <-time.After(10 * time.Second):
		t.Fatal("no exchange delivered within 10s")
		return nil
	}
}

// sinkExchange returns an exchange with every field set, as a Tap would
// deliver it: a JSON request, a text response with an early hint and a
// trailer.
func sinkExchange(tb testing.TB) *Exchange {
	tb.Helper()
	start := time.Date(2024, 2, 20, 10, 0, 0, 123456789, time.UTC)
	id, err := ParseID("01HQ3J5V2X0000000000000001")
	if err != nil {
		tb.Fatal(err)
	}
	x := &Exchange{
		ID:            id,
		Start:         start,
		Duration:      1500 * time.Microsecond,
		TimeToHeaders: 900 * time.Microsecond,
		Route:         "POST /items/{id}",
		Request: Request{
			Method:        "POST",
			Proto:         "HTTP/1.1",
			Host:          "example.com",
			RemoteAddr:    "192.0.2.1:53412",
			Header:        http.Header{"Content-Type": {"application/json"}, "X-Trace": {"a", "b"}},
			ContentLength: 11,
			Body:          Body{Bytes: []byte(`{"name":1}` + "\n"), Size: 11, EOF: true},
		},
		Response: Response{
			Status:        201,
			Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Trailer": {"X-Sum"}},
			Trailer:       http.Header{"X-Sum": {"42"}},
			Informational: []Informational{{Status: 103, Header: http.Header{"Link": {"</a.css>; rel=preload"}}}},
			Body:          Body{Bytes: []byte("created <ok> & done"), Size: 19, EOF: true},
		},
	}
	x.url = url.URL{Scheme: "http", Host: "example.com", Path: "/items/7", RawQuery: "q=1"}
	x.Request.URL = &x.url
	return x
}
