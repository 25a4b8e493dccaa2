package bodytap

import (
	"runtime"
	"sync"
	"sync/atomic"
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

// releaseEvery is how many exchanges delivered one at a time the
// delivery goroutine releases from the queue's bounds together.
const releaseEvery = 32

// The built-in redaction of a batch is spread over several goroutines
// only if its bodies hold parallelMinBytes together and parallelMinMean an
// exchange on average. A helper goroutine starts late (on the shared
// 2-core VM this was measured on, 70 to 500 µs after it is created, 200 µs
// typically), so a smaller batch is done before it helps; and for small
// exchanges the delivery goroutine keeps up alone, helpers would take
// their processor from the request path and pass each record's memory
// between three cores instead of two (in process with 1 KiB JSON bodies
// at saturation, 1.13× the CPU per request without the second bound).
const (
	parallelMinBytes = 32 << 10
	parallelMinMean  = 8 << 10
)

// weight is what an exchange counts against the byte bound.
func weight(x *Exchange) int64 {
	return recordWeight + int64(cap(x.Request.Body.Bytes)+cap(x.Response.Body.Bytes))
}

// push queues x for the sink, without its body copies if they would
// take the queue past the shed mark, and reports whether it did.
func (t *Tap) push(x *Exchange) bool {
	w := weight(x)
	if t.shedMark == 0 || w == recordWeight {
		return t.q.Push(x, w)
	}
	if ok, over := t.q.PushUnder(x, w, t.shedMark); !over {
		return ok
	}
	shed(x)
	if !t.q.Push(x, weight(x)) {
		return false
	}
	t.shed.Add(1)
	return true
}

// shed drops the body copies of x, which the sink is too far behind to
// be given: they are withheld, with ErrShed, and the memory they held
// goes, a reused rw's spare buffers (the same arrays) with it.
func shed(x *Exchange) {
	for _, b := range []*Body{&x.Request.Body, &x.Response.Body} {
		if cap(b.Bytes) > 0 || b.spill != nil {
			withhold(b, "", ErrShed)
		}
	}
	if c := x.owner; c != nil {
		c.own.reqSpare, c.own.respSpare = nil, nil
	}
}

// drop releases x, which no sink got: its spill files go, and its
// memory back to the pool if the Tap reuses exchanges.
func drop(x *Exchange) {
	x.Release()
	reuse(x)
}

// reuse puts x's memory back in the pool, with its spill files removed,
// once its sink is done with it, if the Tap reuses exchanges.
func reuse(x *Exchange) {
	if c := x.owner; c != nil {
		x.Release()
		c.recycle()
	}
}

// deliver hands queued exchanges to the sink, in batches, until the queue
// is closed and empty. Woken by the first exchange after a quiet spell,
// it takes a batch every linger for as long as exchanges keep coming, and
// sleeps again when one linger brought none: under load the producers
// never wake it (a wake-up is a system call on their side and an
// interrupt on the other processor), its own timer does.
func (t *Tap) deliver() {
	defer close(t.done)
	q := t.q
	spare := make([]*Exchange, 0, queue.InitialCap)
	timer := time.NewTimer(linger)
	timer.Stop()
	for {
		if wake := q.Sleep(); wake != nil {
			<-wake
		}
		for {
			timer.Reset(linger)
			<-timer.C
			batch, closed := q.Take(spare)
			n := len(batch)
			t.deliverBatch(batch)
			spare = batch[:0]
			if closed {
				// A push racing with close may have landed after take.
				batch, _ = q.Take(spare)
				t.deliverBatch(batch)
				return
			}
			if n == 0 {
				break
			}
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
	// Set when the batch is prepared whole, ahead of the sink; else each
	// exchange is prepared as it goes.
	var pre []prepared
	if t.parallelPays(batch) {
		pre = t.prepareBatch(batch)
	}
	q := t.q
	bs, ok := t.sink.(BatchSink)
	if !ok {
		// The exchanges count against the queue's bounds until done, and
		// go off in groups: one lock of the queue per group, not per
		// exchange, while pushes waiting for room (Config.QueueWait) get
		// it as the sink goes.
		var w int64
		for i := 0; i < len(batch); {
			i = t.recordRun(batch, pre, i, &w)
		}
		t.stock.fill(len(batch))
		return
	}
	var w int64
	ready := batch[:0] // those prepare did not panic on, in place
	for i, x := range batch {
		if pre == nil {
			w += weight(x)
			if t.prepareRecovering(x) {
				ready = append(ready, x)
			}
		} else {
			w += pre[i].weight
			if pre[i].ok {
				ready = append(ready, x)
			}
		}
	}
	if len(ready) > 0 {
		t.recordBatch(bs, ready)
	}
	q.Release(w, len(batch))
	// Those prepare panicked on were overwritten in ready: the garbage
	// collector takes them.
	for _, x := range ready {
		t.stock.recycle(x)
	}
	t.stock.fill(len(batch))
	clear(batch)
}

// parallelPays reports whether the built-in redaction of batch is worth
// spreading over several goroutines: it is on, with the built-in decoder
// (Config.Decode is the user's code, which runs in the delivery goroutine
// alone), there is more than one processor and more than one exchange,
// and the bodies are big enough (see parallelMinBytes).
func (t *Tap) parallelPays(batch []*Exchange) bool {
	if t.redact.Disabled || t.decode != nil || len(batch) < 2 {
		return false
	}
	var n int64
	for _, x := range batch {
		n += int64(len(x.Request.Body.Bytes)+len(x.Response.Body.Bytes)) + x.Request.Body.Spilled() + x.Response.Body.Spilled()
	}
	return n >= max(parallelMinBytes, int64(len(batch))*parallelMinMean) && runtime.GOMAXPROCS(0) > 1
}

// A prepared is what deliverBatch needs to know of an exchange that
// prepareBatch readied ahead of the sink.
type prepared struct {
	weight int64 // against the queue's bounds, taken before preparing
	ok     bool  // prepare did not panic on it
}

// prepareBatch prepares every exchange of batch ahead of the sink, in
// phases that keep the promises prepare makes one exchange at a time:
// the Annotate functions of each, in queue order, in the delivery
// goroutine; the built-in decoding and redaction of all, spread over up to
// GOMAXPROCS goroutines, the delivery goroutine one of them; then
// Redaction.Func on each, in queue order, in the delivery goroutine. An
// exchange that a phase panics on skips the later ones, is counted in
// SinkPanics and is not to be delivered.
func (t *Tap) prepareBatch(batch []*Exchange) []prepared {
	pre := make([]prepared, len(batch))
	for i, x := range batch {
		pre[i] = prepared{weight: weight(x), ok: try((*Exchange).runNotes, x)}
	}
	var next atomic.Int64
	scrub := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(batch) {
				return
			}
			if pre[i].ok {
				pre[i].ok = try(t.redactBuiltin, batch[i])
			}
			// Requests first: a request's goroutine made ready meanwhile
			// runs before the next exchange is redacted, instead of
			// waiting behind the batch (tens of µs an exchange).
			runtime.Gosched()
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(batch)) - 1 {
		wg.Go(scrub)
	}
	scrub()
	wg.Wait()
	f := t.redact.Func
	for i, x := range batch {
		if pre[i].ok && f != nil {
			pre[i].ok = try(f, x)
		}
		if !pre[i].ok {
			t.sinkPanics.Add(1)
		}
	}
	return pre
}

// try calls f(x) and reports whether it returned: false if it panicked.
func try(f func(*Exchange), x *Exchange) (ok bool) {
	defer func() { _ = recover() }()
	f(x)
	return true
}

// prepareRecovering prepares x for the sink and reports whether it did;
// a panic is counted as the sink's, as record counts it.
func (t *Tap) prepareRecovering(x *Exchange) bool {
	if try(t.prepareFast, x) {
		return true
	}
	t.sinkPanics.Add(1)
	return false
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

// recordRun hands batch[i:] to the sink one exchange at a time, in
// order, preparing each unless prepareBatch did (pre), and after each
// sets it aside for reuse and releases it from the queue's bounds, in
// groups of releaseEvery (w carries the weight of a group from one run
// to the next). A panic of the sink or of preparing ends the run; it is
// counted, and recordRun returns the index of the exchange after the
// one that panicked, for the next run. One deferred recover a run, not
// one an exchange: the runtime runs it, at about a hundred instructions.
func (t *Tap) recordRun(batch []*Exchange, pre []prepared, i int, w *int64) (next int) {
	defer func() {
		if recover() != nil {
			t.sinkPanics.Add(1)
			if batch[i] != nil {
				t.recorded(batch, i, w)
			}
			next = i + 1
		}
	}()
	for ; i < len(batch); i++ {
		x := batch[i]
		switch {
		case pre == nil:
			*w += weight(x)
			t.prepareFast(x)
		case pre[i].ok:
			*w += pre[i].weight
		default:
			*w += pre[i].weight
			t.recorded(batch, i, w)
			continue
		}
		if t.sink != nil {
			t.sink.Record(x)
		}
		t.delivered.Add(1)
		t.recorded(batch, i, w)
	}
	return len(batch)
}

// recorded is done with batch[i], which the sink got (or panicked on, or
// was not to get): it sets its memory aside for reuse, and releases the
// exchanges recorded since the last release from the queue's bounds at
// the end of a group or of the batch.
func (t *Tap) recorded(batch []*Exchange, i int, w *int64) {
	t.stock.recycle(batch[i])
	batch[i] = nil
	if k := i + 1; k%releaseEvery == 0 || k == len(batch) {
		t.q.Release(*w, (k-1)%releaseEvery+1)
		*w = 0
	}
}

// prepareFast is prepare, skipped when it has nothing to do: no
// redaction, no decoding hook, no redaction function; only the Annotate
// functions, if any, run.
func (t *Tap) prepareFast(x *Exchange) {
	if t.redact.Disabled && t.decode == nil && t.redact.Func == nil {
		if x.notes != nil {
			// Only then: runNotes writes to x, and a record the
			// delivery goroutine wrote to costs the next request that
			// reuses it, on another core, a trip for that line.
			x.runNotes()
		}
		return
	}
	t.prepare(x)
}
