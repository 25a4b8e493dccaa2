package bodytap

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cloner is a Sink for a Tap that reuses exchanges: it keeps a deep copy
// of each, as a sink that reuses must.
type cloner struct{ col *collector }

func (c cloner) Record(x *Exchange) { c.col.Record(x.Clone()) }

// variedHandler answers request n with a response that differs in what a
// reused record must not carry over from an earlier one: headers (a few,
// then more than the snapshot's inline values and the map's reuse
// bound), a body from empty to past the spare buffers' bound, flushes,
// trailers and the status.
func variedHandler(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	in, _ := io.ReadAll(r.Body)
	h := w.Header()
	for i := range n % 23 {
		h.Add(fmt.Sprintf("X-H%d", i%19), strconv.Itoa(n))
	}
	if n%5 == 0 {
		h.Set("Trailer", "X-Sum")
	}
	w.WriteHeader(200 + n%3)
	body := bytes.Repeat([]byte{byte('a' + n%26)}, []int{0, 10, 1000, 1500, 5000, 70000, 100000}[n%7])
	for part := range bytes.SplitSeq(body, []byte("a")) {
		w.Write(part)
		if n%3 == 0 {
			w.(http.Flusher).Flush()
		}
	}
	w.Write(in)
	if n%5 == 0 {
		h.Set("X-Sum", strconv.Itoa(len(in)))
	}
}

// comparable returns a copy of x without what differs between two runs
// of the same request: its ID and times.
func comparable(x *Exchange) Exchange {
	y := *x.Clone()
	y.ID, y.Start, y.Duration, y.TimeToHeaders = ID{}, time.Time{}, 0, 0
	for i := range y.Response.Chunks {
		y.Response.Chunks[i].At = 0
	}
	return y
}

// TestReuseExchangesRecordsAsNew: a Tap that reuses exchanges delivers
// the same records as one that allocates each, request after request on
// the same reused memory, from goroutines at once, redacted or not.
func TestReuseExchangesRecordsAsNew(t *testing.T) {
	for _, redact := range []Redaction{{}, {Disabled: true}} {
		t.Run(fmt.Sprintf("redaction-off=%v", redact.Disabled), func(t *testing.T) {
			fresh, reused := newCollector(), newCollector()
			tf := New(Config{Sink: fresh, Redact: redact, MaxBodyBytes: 128 << 10})
			tr := New(Config{Sink: cloner{reused}, Redact: redact, MaxBodyBytes: 128 << 10, ReuseExchanges: true})
			hf, hr := tf.Handler(http.HandlerFunc(variedHandler)), tr.Handler(http.HandlerFunc(variedHandler))
			const goroutines, each = 4, 120
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						n := g*each + i
						in := strings.Repeat("q", n*37%3000) + `{"password":"p` + strconv.Itoa(n) + `"}`
						for _, h := range []http.Handler{hf, hr} {
							req := httptest.NewRequest("POST", "/x?n="+strconv.Itoa(n), strings.NewReader(in))
							req.Header.Set("Authorization", "Bearer t"+strconv.Itoa(n))
							h.ServeHTTP(httptest.NewRecorder(), req)
						}
					}
				})
			}
			wg.Wait()
			tf.Close()
			tr.Close()
			if len(fresh.xs) != goroutines*each || len(reused.xs) != goroutines*each {
				t.Fatalf("%d and %d records, want %d each", len(fresh.xs), len(reused.xs), goroutines*each)
			}
			byURL := map[string]*Exchange{}
			for _, x := range fresh.xs {
				byURL[x.Request.URL.String()] = x
			}
			for _, x := range reused.xs {
				want := byURL[x.Request.URL.String()]
				if want == nil {
					t.Fatalf("record of %s not made without reuse", x.Request.URL)
				}
				if got, want := comparable(x), comparable(want); !reflect.DeepEqual(got, want) {
					t.Fatalf("record of %s with reuse:\n%+v\nwithout:\n%+v", x.Request.URL, got, want)
				}
			}
		})
	}
}

// TestReuseExchangesKeepsQueuedRecords: an exchange waiting in the queue
// is never reused, while those dropped beside it are at once.
func TestReuseExchangesKeepsQueuedRecords(t *testing.T) {
	col := newCollector()
	gate := make(chan struct{})
	tap := New(Config{QueueLen: 2, ReuseExchanges: true, Sink: SinkFunc(func(x *Exchange) {
		<-gate
		col.Record(x.Clone())
	})})
	h := tap.Handler(http.HandlerFunc(variedHandler))
	const n = 60
	for i := range n {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/x?n="+strconv.Itoa(i), strings.NewReader("body "+strconv.Itoa(i))))
	}
	close(gate)
	tap.Close()
	s := tap.Stats()
	if s.Delivered < 1 || s.Delivered+s.Dropped != n || int(s.Delivered) != len(col.xs) {
		t.Fatalf("stats %+v with %d records; want %d exchanges, some dropped, the rest recorded", s, len(col.xs), n)
	}
	for _, x := range col.xs {
		i := x.Request.URL.Query().Get("n")
		if got, want := string(x.Request.Body.Bytes), "body "+i; got != want {
			t.Errorf("record of request %s holds request body %q, want %q", i, got, want)
		}
		if got := x.Response.Body.Bytes; !bytes.HasSuffix(got, []byte("body "+i)) {
			t.Errorf("record of request %s: response body ends %q", i, got[max(0, len(got)-10):])
		}
	}
}

// TestDeliveredIDs: every delivered exchange has an ID of its own that
// holds the millisecond its request arrived, and IDs of requests served
// one after the other increase, whether the Tap reuses exchanges or not.
func TestDeliveredIDs(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		col := newCollector()
		var sink Sink = col
		if reuse {
			sink = cloner{col}
		}
		tap := New(Config{Sink: sink, ReuseExchanges: reuse})
		h := tap.Handler(http.HandlerFunc(variedHandler))
		for i := range 50 {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x?n="+strconv.Itoa(i), nil))
		}
		tap.Close()
		var prev ID
		for i, x := range col.xs {
			if x.ID.IsZero() || x.ID.String() <= prev.String() {
				t.Fatalf("reuse=%v: exchange %d has ID %s after %s", reuse, i, x.ID, prev)
			}
			if got, want := x.ID.Time().UnixMilli(), x.Start.UnixMilli(); got != want {
				t.Errorf("reuse=%v: ID %s holds millisecond %d, the request arrived at %d", reuse, x.ID, got, want)
			}
			prev = x.ID
		}
	}
}

// TestReusingSink: a Tap reuses its exchanges when its sink promises to
// keep nothing of them (a Multi or Filter only when all of its sinks
// do), unless Redaction.Func is set.
func TestReusingSink(t *testing.T) {
	slogSink := NewSlogSink(nil, SlogOptions{})
	keep := func(*Exchange) bool { return true }
	for _, c := range []struct {
		name string
		c    Config
		want bool
	}{
		{"slog", Config{Sink: slogSink}, true},
		{"slog with a redaction func", Config{Sink: slogSink, Redact: Redaction{Func: func(*Exchange) {}}}, false},
		{"slog with a redaction func, reuse set", Config{Sink: slogSink, Redact: Redaction{Func: func(*Exchange) {}}, ReuseExchanges: true}, true},
		{"multi of slogs", Config{Sink: Multi(slogSink, NewSlogSink(nil, SlogOptions{}))}, true},
		{"multi with a collector", Config{Sink: Multi(slogSink, newCollector())}, false},
		{"multi with a batch sink", Config{Sink: Multi(slogSink, &batchLog{})}, false},
		{"filter of slog", Config{Sink: Filter(slogSink, keep)}, true},
		{"filter of a collector", Config{Sink: Filter(newCollector(), keep)}, false},
		{"func", Config{Sink: SinkFunc(slogSink.Record)}, false},
		{"none", Config{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tap := New(c.c)
			defer tap.Close()
			if tap.reuse != c.want {
				t.Errorf("reuse = %v, want %v", tap.reuse, c.want)
			}
		})
	}
}

// TestResetReusedCoversExchange: every field of an Exchange is either
// cleared by resetReused or written whole by begin or finish for each
// request, so that a reused record carries nothing over. A field added
// to Exchange must be added to one of them, and here.
func TestResetReusedCoversExchange(t *testing.T) {
	handled := map[string]string{
		"ID": "begin", "Start": "begin", "Trace": "begin", "url": "begin", "Request": "begin",
		"Route": "finish", "owner": "finish",
		"Duration": "resetReused", "TimeToHeaders": "resetReused", "Response": "resetReused",
		"Detected": "resetReused", "Hijacked": "resetReused", "Err": "resetReused", "notes": "resetReused",
	}
	typ := reflect.TypeFor[Exchange]()
	for i := range typ.NumField() {
		if name := typ.Field(i).Name; handled[name] == "" {
			t.Errorf("Exchange.%s is neither cleared by resetReused nor written by begin or finish", name)
		}
	}
	x := Exchange{Duration: 1, TimeToHeaders: 1, Response: Response{Status: 500}, Detected: 1, Hijacked: true, Err: ErrAborted,
		notes: []func(*Exchange){func(*Exchange) {}}}
	x.resetReused()
	if x.Duration != 0 || x.TimeToHeaders != 0 || !reflect.DeepEqual(x.Response, Response{}) || x.Detected != 0 || x.Hijacked || x.Err != nil || x.notes != nil {
		t.Errorf("resetReused left %+v", x)
	}
}
