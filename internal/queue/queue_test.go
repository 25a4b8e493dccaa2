package queue

import (
	"testing"
	"time"
)

func TestBounds(t *testing.T) {
	q := New[int](3, 100, 0)
	for i, w := range []int64{10, 10, 10} {
		if !q.Push(i, w) {
			t.Fatalf("push %d refused below the bounds", i)
		}
	}
	if q.Push(3, 1) {
		t.Error("push past the count bound accepted")
	}
	batch, closed := q.Take(nil)
	if len(batch) != 3 || closed || q.Len() != 3 {
		t.Fatalf("Take: %v closed=%v Len=%d", batch, closed, q.Len())
	}
	if q.Push(4, 1) {
		t.Error("push accepted while the taken batch still counts")
	}
	q.Release(30, 3)
	if !q.Push(5, 100) || q.Push(6, 1) {
		t.Error("the weight bound is not the bound")
	}
	if q.Push(7, 101) {
		t.Error("an item heavier than the bound accepted")
	}
}

func TestWaitAndClose(t *testing.T) {
	q := New[int](1, 10, time.Minute)
	wake := q.Sleep()
	q.Push(1, 1)
	<-wake // the first push after Sleep wakes the consumer
	done := make(chan bool)
	go func() { done <- q.Push(2, 1) }()
	time.Sleep(10 * time.Millisecond)
	batch, _ := q.Take(nil)
	q.Release(1, len(batch))
	if !<-done {
		t.Fatal("a waiting push did not get the room a release made")
	}
	go func() { done <- q.Push(3, 1) }()
	time.Sleep(10 * time.Millisecond)
	if !q.Close() || q.Close() {
		t.Fatal("Close did not report the first close only")
	}
	if <-done {
		t.Error("a push waiting at Close was accepted")
	}
	if _, closed := q.Take(nil); !closed {
		t.Error("Take does not report the close")
	}

	short := New[int](1, 10, 20*time.Millisecond)
	short.Push(1, 1)
	start := time.Now()
	if short.Push(2, 1) || time.Since(start) < 20*time.Millisecond {
		t.Error("a push into a full queue did not wait its time and fail")
	}
}

// TestCounts: every push is counted once, as taken or refused, and the
// refusals after Close apart.
func TestCounts(t *testing.T) {
	q := New[int](2, 100, time.Millisecond)
	q.Push(1, 10)
	q.Push(2, 10)
	q.Push(3, 10)  // full by count: refused after waiting
	q.Push(4, 200) // heavier than the bound: refused at once
	q.Close()
	q.Push(5, 10)
	if got, want := q.Counts(), (Counts{Pushed: 2, Refused: 3, RefusedClosed: 1}); got != want {
		t.Errorf("Counts() = %+v, want %+v", got, want)
	}
}

// TestSleep: the producers signal the consumer only after it said it
// sleeps, once, and Sleep refuses to sleep while items wait.
func TestSleep(t *testing.T) {
	q := New[int](10, 100, 0)
	q.Push(1, 1)
	if q.Sleep() != nil {
		t.Fatal("Sleep with an item waiting returned a channel")
	}
	select {
	case <-q.wake:
		t.Fatal("a push signalled a consumer that never slept")
	default:
	}
	q.Take(nil)
	wake := q.Sleep()
	if wake == nil {
		t.Fatal("Sleep on an empty queue returned nil")
	}
	q.Push(2, 1)
	q.Push(3, 1)
	select {
	case <-wake:
	default:
		t.Fatal("the first push after Sleep did not signal")
	}
	select {
	case <-wake:
		t.Fatal("a second push signalled again")
	default:
	}
	q.Take(nil)
	wake = q.Sleep()
	q.Close()
	select {
	case <-wake:
	default:
		t.Fatal("Close did not wake the sleeping consumer")
	}
}

// TestPushUnder: an item that would take the weight past the mark is not
// pushed and reported over, whatever room is left below the bound; a
// lighter one then goes in; a closed queue refuses rather than reports
// over.
func TestPushUnder(t *testing.T) {
	q := New[int](10, 100, 0)
	if ok, over := q.PushUnder(1, 60, 80); !ok || over {
		t.Fatalf("first push under the mark: ok %v over %v", ok, over)
	}
	if ok, over := q.PushUnder(2, 30, 80); ok || !over {
		t.Fatalf("push past the mark: ok %v over %v, want over", ok, over)
	}
	if q.Len() != 1 || q.Bytes() != 60 {
		t.Fatalf("after the push over the mark: %d items, %d bytes; want 1, 60", q.Len(), q.Bytes())
	}
	if !q.Push(2, 30) || q.Bytes() != 90 {
		t.Fatal("the push the mark turned away did not fit under the bound")
	}
	if ok, over := q.PushUnder(3, 0, 80); ok || !over {
		t.Errorf("weightless push with the queue past the mark: ok %v over %v", ok, over)
	}
	q.Close()
	if ok, over := q.PushUnder(4, 1, 100); ok || over {
		t.Errorf("push into a closed queue: ok %v over %v, want refused", ok, over)
	}
	if c := q.Counts(); c.Pushed != 2 || c.Refused != 1 || c.RefusedClosed != 1 {
		t.Errorf("counts %+v: want 2 pushed, 1 refused (closed)", c)
	}
}
