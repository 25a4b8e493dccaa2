package bodytap

import (
	"time"

	"github.com/bodytap/bodytap/internal/queue"
)

// linger is how long the delivery goroutine waits after the first exchange
// of a batch before it takes the batch. Waking a goroutine costs about as
// much as capturing a small exchange; batching makes that cost per batch
// instead of per request. It is also the longest a record waits for the
// sink beyond the sink's own pace.
const linger = time.Millisecond

// recordWeight is what an exchange holds besides its body copies, about:
// the Exchange with the Tap's per-request record around it, and the
// response header snapshot. Counting it keeps the byte bound a bound on
// memory when the bodies are small or not kept.
const recordWeight = 2 << 10

// weight is what an exchange counts against the byte bound.
func weight(x *Exchange) int64 {
	return recordWeight + int64(cap(x.Request.Body.Bytes)+cap(x.Response.Body.Bytes))
}

// deliver hands queued exchanges to the sink, in batches, until the queue
// is closed and empty.
func (t *Tap) deliver() {
	defer close(t.done)
	q := t.q
	spare := make([]*Exchange, 0, queue.InitialCap)
	timer := time.NewTimer(linger)
	timer.Stop()
	for {
		<-q.Wake()
		if q.Waiting() {
			timer.Reset(linger)
			<-timer.C
		}
		batch, closed := q.Take(spare)
		t.deliverBatch(batch)
		spare = batch[:0]
		if closed {
			// A push racing with close may have landed after take.
			batch, _ = q.Take(spare)
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
			q.Release(w, 1)
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
	q.Release(w, len(batch))
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
