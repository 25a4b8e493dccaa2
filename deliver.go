package bodytap

import "sync"

// A queue carries finished exchanges from the request path to the
// delivery goroutine. It is bounded by count (the channel) and by the
// bytes of body copies it holds; push never blocks.
type queue struct {
	mu       sync.RWMutex // RLock: push; Lock: close
	closed   bool
	ch       chan *Exchange
	maxBytes int64
	bytes    int64 // guarded by bmu
	bmu      sync.Mutex
	done     chan struct{} // closed when the delivery goroutine has finished
}

func newQueue(n int, maxBytes int64) *queue {
	return &queue{ch: make(chan *Exchange, n), maxBytes: maxBytes, done: make(chan struct{})}
}

// weight is what an exchange counts against the byte bound.
func weight(x *Exchange) int64 {
	return int64(cap(x.Request.Body.Bytes) + cap(x.Response.Body.Bytes))
}

// push queues x and reports whether it did; it fails when the queue is
// full, over its byte bound, or closed.
func (q *queue) push(x *Exchange) bool {
	w := weight(x)
	if w > 0 {
		q.bmu.Lock()
		if q.bytes+w > q.maxBytes {
			q.bmu.Unlock()
			return false
		}
		q.bytes += w
		q.bmu.Unlock()
	}
	q.mu.RLock()
	ok := false
	if !q.closed {
		select {
		case q.ch <- x:
			ok = true
		default:
		}
	}
	q.mu.RUnlock()
	if !ok {
		q.release(w)
	}
	return ok
}

func (q *queue) release(w int64) {
	if w > 0 {
		q.bmu.Lock()
		q.bytes -= w
		q.bmu.Unlock()
	}
}

// close stops pushes and reports whether this call closed the queue.
func (q *queue) close() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.closed = true
	close(q.ch)
	return true
}

// deliver hands queued exchanges to the sink until the queue is closed and
// empty.
func (t *Tap) deliver() {
	defer close(t.q.done)
	for x := range t.q.ch {
		w := weight(x)
		t.record(x)
		t.q.release(w)
	}
}

// record calls the sink, isolating the delivery goroutine from its panics.
func (t *Tap) record(x *Exchange) {
	defer func() {
		if recover() != nil {
			t.sinkPanics.Add(1)
		}
	}()
	if t.sink != nil {
		t.sink.Record(x)
	}
	t.delivered.Add(1)
}
