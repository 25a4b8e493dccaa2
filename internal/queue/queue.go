// Package queue is the bounded queue between bodytap's request path and
// its delivery goroutine: many producers, one consumer taking batches.
package queue

import (
	"sync"
	"time"
)

// A Queue carries items from many producers to one consumer that takes
// them in batches. It is bounded by count and by the weight (bytes) of
// the items it holds, those of the batch being consumed included; Push
// never blocks longer than the wait it was made with.
type Queue[T any] struct {
	mu       sync.Mutex
	items    []T
	bytes    int64 // weight of items and of the batch being consumed
	inflight int   // items of the batch being consumed
	maxLen   int
	maxBytes int64
	closed   bool
	asleep   bool          // the consumer waits on wake (see Sleep)
	wake     chan struct{} // one token: the first push while the consumer sleeps, or close

	// Counts of pushes, kept under mu, which a push takes anyway: an
	// atomic counter of its own would be one more cache line that every
	// producer writes.
	pushed, refused, refusedClosed int64

	// wait is how long Push may wait for room; room,
	// when not nil, is closed by the next release to wake the pushes that
	// wait.
	wait time.Duration
	room chan struct{}
}

// InitialCap is the room a queue starts with; it grows (up to its
// bound) only as far as a burst needs. Reserving the whole bound up front
// would cost nothing to allocate but a lot to keep: the garbage collector
// scans every slot of the array in each cycle, 512 KiB of them for a
// bound of 65,536.
const InitialCap = 256

// New returns a Queue of at most n items weighing maxBytes in all, whose
// Push may wait up to wait for room (zero: never waits).
func New[T any](n int, maxBytes int64, wait time.Duration) *Queue[T] {
	return &Queue[T]{
		items:    make([]T, 0, min(n, InitialCap)),
		maxLen:   n,
		maxBytes: maxBytes,
		wait:     wait,
		wake:     make(chan struct{}, 1),
	}
}

// Push queues x, of weight w, and reports whether it did; it fails when
// the queue is closed, or full (by count or weight) for longer than the
// queue's wait.
func (q *Queue[T]) Push(x T, w int64) bool {
	q.mu.Lock()
	if q.closed || len(q.items)+q.inflight >= q.maxLen || q.bytes+w > q.maxBytes {
		return q.pushFull(x, w)
	}
	return q.push(x, w)
}

// PushUnder is Push for an item that is to go in only if the queue's
// weight stays at or below mark with it: when it would not (and the queue
// is open), it pushes nothing and reports over, so that the caller may
// make x lighter and Push it. mark is at most the weight bound.
func (q *Queue[T]) PushUnder(x T, w, mark int64) (ok, over bool) {
	q.mu.Lock()
	if q.bytes+w > mark && !q.closed {
		q.mu.Unlock()
		return false, true
	}
	if q.closed || len(q.items)+q.inflight >= q.maxLen || q.bytes+w > q.maxBytes {
		return q.pushFull(x, w), false
	}
	return q.push(x, w), false
}

// push queues x, of weight w, with q.mu held, and unlocks it.
func (q *Queue[T]) push(x T, w int64) bool {
	q.pushed++
	q.items = append(q.items, x)
	q.bytes += w
	wake := q.asleep
	q.asleep = false
	q.mu.Unlock()
	if wake {
		q.signal()
	}
	return true
}

// pushFull is Push into a queue found closed or full, with q.mu held: it
// waits for room up to the queue's wait. It is a function of its own so
// that Push defers nothing: a deferred call in a loop is run by the
// runtime, at a cost to every call of the function that has it.
func (q *Queue[T]) pushFull(x T, w int64) bool {
	var deadline *time.Timer
	for {
		if q.closed {
			q.refused++
			q.refusedClosed++
			q.mu.Unlock()
			return false
		}
		if len(q.items)+q.inflight < q.maxLen && q.bytes+w <= q.maxBytes {
			return q.push(x, w)
		}
		if q.wait <= 0 || w > q.maxBytes {
			q.refused++
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
			q.mu.Lock()
			q.refused++
			q.mu.Unlock()
			return false
		}
		q.mu.Lock()
	}
}

func (q *Queue[T]) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Sleep returns the channel the consumer is to wait on, or nil if items
// wait to be taken and it should not. The channel receives a token at
// the first push after Sleep, and when the queue is closed; until the
// consumer calls Sleep again, pushes do not signal it: a consumer that
// polls while items keep coming (taking them at intervals) is never woken
// by the producers.
func (q *Queue[T]) Sleep() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 {
		return nil
	}
	q.asleep = true
	return q.wake
}

// Take swaps the queued items for spare, an empty slice, and reports
// whether the queue is closed. The items count against the bounds until
// Release.
func (q *Queue[T]) Take(spare []T) ([]T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch := q.items
	q.items = spare
	q.inflight += len(batch)
	return batch, q.closed
}

// Release notes that n taken items of weight w in all are done with.
func (q *Queue[T]) Release(w int64, n int) {
	q.mu.Lock()
	q.bytes -= w
	q.inflight -= n
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
	q.mu.Unlock()
}

// Len is the number of items queued, the batch being consumed included.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) + q.inflight
}

// Bytes is the weight of the items queued, the batch being consumed
// included.
func (q *Queue[T]) Bytes() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// Counts are the pushes a queue took, and those it refused: all of them,
// and those refused because it was closed.
type Counts struct {
	Pushed, Refused, RefusedClosed int64
}

// Counts returns the counts of pushes so far.
func (q *Queue[T]) Counts() Counts {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Counts{q.pushed, q.refused, q.refusedClosed}
}

// Close stops pushes and reports whether this call closed the queue.
func (q *Queue[T]) Close() bool {
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
