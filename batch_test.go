package bodytap

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"
)

// batchLog is a BatchSink that notes each call: "b:N" for a batch of N,
// "r:METHOD" for a single Record. It may panic on batches.
type batchLog struct {
	mu    sync.Mutex
	calls []string
	n     int  // exchanges received
	panic bool // panic in RecordBatch
	kept  [][]*Exchange
}

func (s *batchLog) Record(x *Exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "r:"+x.Request.Method)
	s.n++
}

func (s *batchLog) RecordBatch(xs []*Exchange) {
	s.mu.Lock()
	s.calls = append(s.calls, "b:"+itoa(len(xs)))
	s.n += len(xs)
	s.kept = append(s.kept, xs)
	s.mu.Unlock()
	if s.panic {
		panic("batch sink failed")
	}
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

var (
	_ BatchSink = (*batchLog)(nil)
	_ BatchSink = multiBatch{}
	_ BatchSink = (*filterBatch)(nil)
)

// TestBatchSinkTap: a Tap hands a BatchSink whole batches, never empty,
// prepared as for Record, and counts them delivered.
func TestBatchSinkTap(t *testing.T) {
	s := &batchLog{}
	release := make(chan struct{})
	var once sync.Once
	// The first exchange holds the delivery goroutine in a hook, so that
	// the next ones queue up and make one batch.
	tap := New(Config{Sink: s})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	hold := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Annotate(w, func(*Exchange) { once.Do(func() { <-release }) })
	}))
	hold.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	for range 10 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	}
	close(release)
	tap.Close()
	if st := tap.Stats(); st.Delivered != 11 || st.SinkPanics != 0 || st.Dropped != 0 {
		t.Errorf("Stats: got %+v, want 11 delivered", st)
	}
	// The held exchange's batch may hold those that finished within the
	// linger, or all of them; the rest come as one batch.
	if len(s.calls) < 1 || len(s.calls) > 2 || s.n != 11 || slices.Contains(s.calls, "b:0") {
		t.Errorf("calls: got %q (%d exchanges), want one or two batches of 11 in all", s.calls, s.n)
	}
	for _, x := range s.kept[len(s.kept)-1] {
		if x != nil {
			t.Fatal("the Tap's slice was not cleared after the batch")
		}
	}
}

// TestBatchSinkPanic: a panicking RecordBatch costs its batch, counted
// once, and delivery goes on.
func TestBatchSinkPanic(t *testing.T) {
	s := &batchLog{panic: true}
	tap := New(Config{Sink: s})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	tap.Close()
	st := tap.Stats()
	if st.SinkPanics == 0 || st.Delivered != 0 || s.n != 3 {
		t.Errorf("Stats: got %+v (sink saw %d), want panics, none delivered", st, s.n)
	}
}

func TestMultiBatch(t *testing.T) {
	var log []string
	b := &batchLog{}
	m := Multi(sinkLog{"a", &log}, Multi(b))
	bs, ok := m.(BatchSink)
	if !ok {
		t.Fatal("Multi with a BatchSink is not a BatchSink")
	}
	bs.RecordBatch([]*Exchange{{Request: Request{Method: "GET"}}, {Request: Request{Method: "PUT"}}})
	if want := []string{"a:GET", "a:PUT"}; !reflect.DeepEqual(log, want) {
		t.Errorf("plain sink: got %q, want %q", log, want)
	}
	if want := []string{"b:2"}; !reflect.DeepEqual(b.calls, want) {
		t.Errorf("batch sink: got %q, want %q", b.calls, want)
	}
	if _, ok := Multi(sinkLog{"a", &log}).(BatchSink); ok {
		t.Error("Multi without a BatchSink is a BatchSink")
	}
	if got := len(Multi(m, sinkLog{"c", &log}).(multiBatch).multi); got != 3 {
		t.Errorf("nested Multi: got %d sinks, want 3", got)
	}
}

func TestFilterBatch(t *testing.T) {
	b := &batchLog{}
	f := Filter(b, func(x *Exchange) bool { return x.Request.Method == "GET" })
	bs, ok := f.(BatchSink)
	if !ok {
		t.Fatal("Filter of a BatchSink is not a BatchSink")
	}
	xs := []*Exchange{{Request: Request{Method: "GET"}}, {Request: Request{Method: "PUT"}}, {Request: Request{Method: "GET"}}}
	bs.RecordBatch(xs)
	bs.RecordBatch(xs[1:2]) // nothing kept: no call
	f.Record(xs[0])
	if want := []string{"b:2", "r:GET"}; !reflect.DeepEqual(b.calls, want) {
		t.Errorf("got %q, want %q", b.calls, want)
	}
	if xs[1].Request.Method != "PUT" {
		t.Error("Filter changed the caller's slice")
	}
}
