package bodytap

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// shedSeen is what a sink saw of one exchange, kept apart from the
// Exchange, which a Tap that reuses exchanges reuses once Record returns.
type shedSeen struct {
	path                 string
	reqBytes, respBytes  int
	reqSize, respSize    int64
	reqShed, respShed    bool
	withheld, otherError bool
	spares               bool // its rw, reused, keeps spare buffers
}

// shedSink blocks until released, then keeps what it saw of each exchange.
type shedSink struct {
	release chan struct{}
	mu      sync.Mutex
	seen    []shedSeen
}

func (s *shedSink) Record(x *Exchange) {
	<-s.release
	q, p := &x.Request.Body, &x.Response.Body
	v := shedSeen{
		path:     x.Request.URL.Path,
		reqBytes: len(q.Bytes), respBytes: len(p.Bytes),
		reqSize: q.Size, respSize: p.Size,
		reqShed: errors.Is(q.Err, ErrShed), respShed: errors.Is(p.Err, ErrShed),
		withheld:   q.Withheld && p.Withheld,
		otherError: q.Err != nil && !errors.Is(q.Err, ErrShed) || p.Err != nil && !errors.Is(p.Err, ErrShed),
	}
	if c := x.owner; c != nil {
		v.spares = c.own.reqSpare != nil || c.own.respSpare != nil
	}
	s.mu.Lock()
	s.seen = append(s.seen, v)
	s.mu.Unlock()
}

// echo16k reads the request's body and answers 16 KiB.
var echo16k = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Write(bytes.Repeat([]byte("r"), 16<<10))
})

// shedRequests serves n POSTs of 16 KiB through h, in process.
func shedRequests(h http.Handler, n int) {
	for i := range n {
		r := httptest.NewRequest("POST", "/"+strconv.Itoa(i), bytes.NewReader(bytes.Repeat([]byte("q"), 16<<10)))
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

// TestShedBodies: with the sink stuck, exchanges fill the queue with their
// bodies up to 7/8 of QueueBytes, then go in without them (withheld, with
// ErrShed, their sizes still told) instead of being dropped, within the
// byte bound; once the sink goes on, it gets every one, in order. With
// exchanges reused, and with spill files, the shed copies' memory and
// files go at once.
func TestShedBodies(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		t.Run("reuse="+strconv.FormatBool(reuse), func(t *testing.T) {
			const n, queueBytes = 60, 1 << 20
			sink := &shedSink{release: make(chan struct{})}
			tap := New(Config{Sink: sink, QueueBytes: queueBytes, ReuseExchanges: reuse})
			shedRequests(tap.Handler(echo16k), n)
			st := tap.Stats()
			if st.Dropped != 0 || st.Shed == 0 || st.Shed >= n {
				t.Errorf("stats %+v: want some of %d shed, none dropped", st, n)
			}
			if st.QueuedBytes > queueBytes {
				t.Errorf("%d bytes queued, over the bound of %d", st.QueuedBytes, queueBytes)
			}
			close(sink.release)
			if err := tap.Close(); err != nil {
				t.Fatal(err)
			}
			if len(sink.seen) != n {
				t.Fatalf("sink got %d exchanges, want %d", len(sink.seen), n)
			}
			var shed int64
			for i, v := range sink.seen {
				if want := "/" + strconv.Itoa(i); v.path != want {
					t.Fatalf("exchange %d is %s, want %s: out of order", i, v.path, want)
				}
				if v.reqSize != 16<<10 || v.respSize != 16<<10 || v.otherError {
					t.Errorf("%s: sizes %d, %d, or another error: %+v", v.path, v.reqSize, v.respSize, v)
				}
				switch {
				case v.reqShed && v.respShed && v.withheld && v.reqBytes == 0 && v.respBytes == 0:
					shed++
					if v.spares {
						// The arrays of the copies it no longer has.
						t.Errorf("%s: shed, but its rw keeps its spare buffers", v.path)
					}
				case !v.reqShed && !v.respShed && !v.withheld && v.reqBytes == 16<<10 && v.respBytes == 16<<10:
					if reuse && !v.spares {
						t.Errorf("%s: not shed, and its rw kept no spare buffers: the test sees nothing", v.path)
					}
					if shed > 0 {
						// Once shedding starts, the sink is stuck: nothing
						// frees room for bodies again.
						t.Errorf("%s kept its bodies after %d were shed", v.path, shed)
					}
				default:
					t.Errorf("%s: half shed: %+v", v.path, v)
				}
			}
			if shed != st.Shed || tap.Stats().Shed != st.Shed {
				t.Errorf("the sink saw %d exchanges shed, Stats say %d", shed, st.Shed)
			}
		})
	}

	t.Run("spill", func(t *testing.T) {
		dir := t.TempDir()
		sink := &shedSink{release: make(chan struct{})}
		tap := New(Config{Sink: sink, QueueBytes: 64 << 10, MaxBodyBytes: 4 << 10, SpillDir: dir})
		shedRequests(tap.Handler(echo16k), 20)
		st := tap.Stats()
		// The one in the sink and those queued with bodies keep their
		// two files each; the shed ones have none left.
		if kept := int(st.Captured - st.Shed - st.Dropped); st.Shed == 0 || len(spillFiles(t, dir)) != 2*kept {
			t.Errorf("stats %+v, %d spill files: want some shed and 2 files for each of the %d others", st, len(spillFiles(t, dir)), kept)
		}
		close(sink.release)
		tap.Close()
	})

	t.Run("QueueWait", func(t *testing.T) {
		// A wait asks for everything: no shedding, and what finds no
		// room in time is dropped whole.
		sink := &shedSink{release: make(chan struct{})}
		tap := New(Config{Sink: sink, QueueBytes: 256 << 10, QueueWait: time.Millisecond})
		shedRequests(tap.Handler(echo16k), 20)
		st := tap.Stats()
		close(sink.release)
		tap.Close()
		if st.Shed != 0 || st.Dropped == 0 {
			t.Errorf("stats %+v: want none shed, some dropped", st)
		}
	})
}
