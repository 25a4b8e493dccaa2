package bodytap

import (
	"sync"
	"time"
)

// linger is how long the delivery goroutine waits after the first exchange
// of a batch before it takes the batch. Waking a goroutine costs about as
// much as capturing a small exchange; batching makes that cost per batch
// instead of per request. It is also the longest a record waits for the
// sink beyond the sink's own pace.
const linger = time.Millisecond

// A queue carries finished exchanges from the request path to the
// delivery goroutine. It is bounded by count and by the bytes of body
// copies it holds; push never blocks.
type queue struct {
	mu       sync.Mutex
	items    []*Exchange
	bytes    int64 // body bytes held by items and by the batch being delivered
	inflight int   // exchanges of the batch being delivered
	maxLen   int
	maxBytes int64
	closed   bool
	wake     chan struct{} // one token: the first push into an empty queue, or close
	done     chan struct{} // closed when the delivery goroutine has finished

	// wait is how long push may wait for room (Config.QueueWait); room,
	// when not nil, is closed by the next release to wake the pushes that
	// wait.
	wait time.Duration
	room chan struct{}
}

// initialQueueCap is the room a queue starts with; it grows (up to its
// bound) only as far as a burst needs. Reserving the whole bound up front
// would cost nothing to allocate but a lot to keep: the garbage collector
// scans every slot of the array in each cycle, 512 KiB of them for a
// bound of 65,536.
const initialQueueCap = 256

func newQueue(n int, maxBytes int64, wait time.Duration) *queue {
	return &queue{
		items:    make([]*Exchange, 0, min(n, initialQueueCap)),
		maxLen:   n,
		maxBytes: maxBytes,
		wait:     wait,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
}

// recordWeight is what an exchange holds besides its body copies, about:
// the Exchange with the Tap's per-request record around it, and the
// response header snapshot. Counting it keeps the byte bound a bound on
// memory when the bodies are small or not kept.
const recordWeight = 2 << 10

// weight is what an exchange counts against the byte bound.
func weight(x *Exchange) int64 {
	return recordWeight + int64(cap(x.Request.Body.Bytes)+cap(x.Response.Body.Bytes))
}

// push queues x and reports whether it did; it fails when the queue is
// closed, or full (by count or bytes) for longer than q.wait.
func (q *queue) push(x *Exchange) bool {
	w := weight(x)
	var deadline *time.Timer
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return false
		}
		if len(q.items)+q.inflight < q.maxLen && q.bytes+w <= q.maxBytes {
			break
		}
		if q.wait <= 0 || w > q.maxBytes {
			q.mu.Unlock()
			return false
		}
		if q.room == nil {
			q.room = make(chan struct{})
		}
		room := q.room
		q.mu.Unlock()
		if deadline == nil {
			deadline = time.NewTimer(q.wait)
			defer deadline.Stop()
		}
		select {
		case <-room:
		case <-deadline.C:
			return false
		}
		q.mu.Lock()
	}
	q.items = append(q.items, x)
	q.bytes += w
	first := len(q.items) == 1
	q.mu.Unlock()
	if first {
		q.signal()
	}
	return true
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take swaps the queued exchanges for spare, an empty slice, and reports
// whether the queue is closed.
func (q *queue) take(spare []*Exchange) ([]*Exchange, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch := q.items
	q.items = spare
	q.inflight += len(batch)
	return batch, q.closed
}

// release notes that n exchanges of weight w in all have been delivered.
func (q *queue) release(w int64, n int) {
	q.mu.Lock()
	q.bytes -= w
	q.inflight -= n
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
	q.mu.Unlock()
}

// len is the number of exchanges waiting for the sink, the batch being
// delivered included.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) + q.inflight
}

// waiting reports whether exchanges wait to be taken.
func (q *queue) waiting() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) > 0
}

// close stops pushes and reports whether this call closed the queue.
func (q *queue) close() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.closed = true
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
	q.signal()
	return true
}

// deliver hands queued exchanges to the sink, in batches, until the queue
// is closed and empty.
func (t *Tap) deliver() {
	defer close(t.q.done)
	q := t.q
	spare := make([]*Exchange, 0, min(q.maxLen, initialQueueCap))
	timer := time.NewTimer(linger)
	timer.Stop()
	for {
		<-q.wake
		if q.waiting() {
			timer.Reset(linger)
			<-timer.C
		}
		batch, closed := q.take(spare)
		t.deliverBatch(batch)
		spare = batch[:0]
		if closed {
			// A push racing with close may have landed after take.
			batch, _ = q.take(spare)
			t.deliverBatch(batch)
			return
		}
	}
}

// deliverBatch hands batch to the sink: whole to a BatchSink, else one
// exchange at a time. It clears batch, so that the queue's spare slice
// keeps no exchange alive.
func (t *Tap) deliverBatch(batch []*Exchange) {
	if len(batch) == 0 {
		return
	}
	q := t.q
	bs, ok := t.sink.(BatchSink)
	if !ok {
		for i, x := range batch {
			w := weight(x)
			t.record(x)
			q.release(w, 1)
			batch[i] = nil
		}
		return
	}
	var w int64
	for _, x := range batch {
		w += weight(x)
	}
	ready := batch[:0] // those prepare did not panic on, in place
	for _, x := range batch {
		if t.prepareRecovering(x) {
			ready = append(ready, x)
		}
	}
	if len(ready) > 0 {
		t.recordBatch(bs, ready)
	}
	clear(batch)
	q.release(w, len(batch))
}

// prepareRecovering prepares x for the sink and reports whether it did;
// a panic is counted as the sink's, as record counts it.
func (t *Tap) prepareRecovering(x *Exchange) (ok bool) {
	defer func() {
		if recover() != nil {
			t.sinkPanics.Add(1)
		}
	}()
	t.prepareFast(x)
	return true
}

// recordBatch calls a BatchSink, isolating the delivery goroutine from its
// panics.
func (t *Tap) recordBatch(s BatchSink, xs []*Exchange) {
	defer func() {
		if recover() != nil {
			t.sinkPanics.Add(1)
		}
	}()
	s.RecordBatch(xs)
	t.delivered.Add(int64(len(xs)))
}

// record calls the sink, isolating the delivery goroutine from its panics.
func (t *Tap) record(x *Exchange) {
	defer func() {
		if recover() != nil {
			t.sinkPanics.Add(1)
		}
	}()
	t.prepareFast(x)
	if t.sink != nil {
		t.sink.Record(x)
	}
	t.delivered.Add(1)
}

// prepareFast is prepare, skipped when it has nothing to do: no
// redaction, no decoding hook, no redaction function; only the Annotate
// functions, if any, run.
func (t *Tap) prepareFast(x *Exchange) {
	if t.redact.Disabled && t.decode == nil && t.redact.Func == nil {
		x.runNotes()
		return
	}
	t.prepare(x)
}
