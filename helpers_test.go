package bodytap

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

var testTap = New(Config{})

// tapWrapForTest wraps under as the Tap's handler would, for the generated
// exhaustive interface test.
func tapWrapForTest(under http.ResponseWriter) http.ResponseWriter {
	c, w := newWriter(under)
	c.begin(testTap, httptest.NewRequest("GET", "/", nil), testTap.respMax)
	return w
}

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
