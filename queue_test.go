package bodytap

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestQueueWaitLosesNothing: with QueueWait, a sink slower than the
// requests slows them down instead of losing their records.
func TestQueueWaitLosesNothing(t *testing.T) {
	var mu sync.Mutex
	n := 0
	tap := New(Config{
		QueueLen:  4,
		QueueWait: 10 * time.Second,
		Sink: SinkFunc(func(*Exchange) {
			time.Sleep(200 * time.Microsecond)
			mu.Lock()
			n++
			mu.Unlock()
		}),
	})
	srv, client := newServer(t, tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})), false)
	const requests = 400
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range requests / 16 {
				resp, err := client.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	s := tap.Stats()
	if s.Dropped != 0 || s.Delivered != requests || n != requests {
		t.Fatalf("stats %+v, sink saw %d; want %d delivered and none dropped", s, n, requests)
	}
}

// TestQueueWaitIsBounded: with a stuck sink, a request waits QueueWait at
// most, then its record is dropped and counted.
func TestQueueWaitIsBounded(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	tap := New(Config{
		QueueLen:  1,
		QueueWait: 50 * time.Millisecond,
		Sink:      SinkFunc(func(*Exchange) { <-stuck }),
	})
	srv, client := newServer(t, tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})), false)
	for i := range 6 {
		start := time.Now()
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("body %q", b)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("request %d took %v with a stuck sink", i, d)
		}
	}
	if s := tap.Stats(); s.Dropped < 4 || s.DroppedClosed != 0 || s.Queued != 1 || s.QueuedBytes < 2<<10 {
		t.Errorf("stats %+v: want the records past the queue dropped and one, stuck in the sink, queued", s)
	}
}

// TestQueueWaitNeverForHuge: an exchange heavier than the whole byte
// bound is dropped at once, not waited for.
func TestQueueWaitNeverForHuge(t *testing.T) {
	tap := New(Config{QueueBytes: 1 << 10, QueueWait: time.Hour, MaxBodyBytes: 1 << 20, Sink: SinkFunc(func(*Exchange) {})})
	defer tap.Close()
	srv, client := newServer(t, tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 64<<10))
	})), false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := client.Get(srv.URL)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a request waited for room that could never come")
	}
	if s := tap.Stats(); s.Dropped != 1 || s.DroppedClosed != 0 {
		t.Errorf("stats %+v: want 1 dropped, for a full queue", s)
	}
}
