package bodytap

import (
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/testutil"
)

// The package's tests know these helpers of testutil by short names.
const raceEnabled = testutil.RaceEnabled

var newServer = testutil.NewServer

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
