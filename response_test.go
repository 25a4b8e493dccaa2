package bodytap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/testutil"
	"github.com/bodytap/bodytap/internal/wrap"
	"github.com/bodytap/bodytap/internal/wrap/wraptest"
)

// TestTapInterfaces checks, for every combination of the optional
// interfaces, that the writer the handler gets implements exactly those of
// the server's writer, that each reaches it, and that Unwrap returns it.
func TestTapInterfaces(t *testing.T) {
	tap := New(Config{})
	defer tap.Close()
	for mask := range uint(wraptest.Combinations) {
		under, calls := wraptest.New(mask)
		var err error
		h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err = wraptest.Check(w, under, mask, calls)
		}))
		h.ServeHTTP(under, httptest.NewRequest("GET", "/", nil))
		if err != nil {
			t.Error(err)
		}
	}
}

// TestTapResponseController: SetReadDeadline, SetWriteDeadline and
// EnableFullDuplex reach the server's writer through Unwrap, with the
// results they have without the Tap, over HTTP/1.1 and HTTP/2.
func TestTapResponseController(t *testing.T) {
	tap := New(Config{})
	defer tap.Close()
	for _, p := range testutil.Protos {
		t.Run(p.Name, func(t *testing.T) { testutil.CheckController(t, tap.Handler, p.H2) })
	}
}

// TestLateUseTouchesNoOtherRequest: the Tap's per-request state is reused
// once a handler has returned, so a handler that (wrongly) keeps its
// ResponseWriter and request body and uses them after returning must get
// errors, and must not reach the request that reuses the state, nor its
// record; with the Tap reusing exchanges too.
func TestLateUseTouchesNoOtherRequest(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reuse=%v", reuse), func(t *testing.T) { testLateUse(t, reuse) })
	}
}

func testLateUse(t *testing.T, reuse bool) {
	col := newCollector()
	var sink Sink = col
	if reuse {
		sink = cloner{col}
	}
	tap := New(Config{Sink: sink, ReuseExchanges: reuse})
	defer tap.Close()
	var keptW http.ResponseWriter
	var keptR *http.Request
	first := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keptW, keptR = w, r
		io.WriteString(w, "first")
	}))
	first.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/first", strings.NewReader("unread body")))
	col.next(t)

	rec := httptest.NewRecorder()
	second := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		// The first handler's writer and body, used while this request
		// runs, possibly on the state the first one had.
		if n, err := keptW.Write([]byte("late")); n != 0 || !errors.Is(err, wrap.ErrDetached) {
			t.Errorf("late Write: %d, %v; want 0, %v", n, err, wrap.ErrDetached)
		}
		keptW.Header().Set("X-Late", "1")
		keptW.WriteHeader(http.StatusTeapot)
		if n, err := keptR.Body.Read(make([]byte, 8)); n != 0 || err == nil {
			t.Errorf("late body Read: %d, %v; want 0 and an error", n, err)
		}
		if Annotate(keptW, func(*Exchange) { t.Error("a late annotation ran") }) {
			t.Error("Annotate found a finished request's writer")
		}
		io.WriteString(w, "second")
	}))
	second.ServeHTTP(rec, httptest.NewRequest("POST", "/second", strings.NewReader("second body")))
	x := col.next(t)
	if rec.Code != 200 || rec.Body.String() != "second" || rec.Header().Get("X-Late") != "" {
		t.Errorf("client got %d %q %v; want 200 \"second\" and no X-Late", rec.Code, rec.Body, rec.Header())
	}
	if got := string(x.Response.Body.Bytes); got != "second" || x.Response.Status != 200 {
		t.Errorf("record: %d %q; want 200 \"second\"", x.Response.Status, got)
	}
	if got := string(x.Request.Body.Bytes); got != "second body" {
		t.Errorf("record's request body %q, want %q", got, "second body")
	}
}

// TestRecordsOwnTheirBytes: body copies handed to the sink are the
// sink's: later requests, which reuse the Tap's buffers, never change
// them.
func TestRecordsOwnTheirBytes(t *testing.T) {
	col := newCollector()
	tap := New(Config{Sink: col})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(bytes.ToUpper(b))
	}))
	const n = 200
	for i := range n {
		body := strings.Repeat(string(rune('a'+i%26)), 1+i*7%1500)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(body)))
	}
	tap.Close()
	if len(col.xs) != n {
		t.Fatalf("%d records, want %d", len(col.xs), n)
	}
	for i, x := range col.xs {
		want := strings.Repeat(string(rune('a'+i%26)), 1+i*7%1500)
		if got := string(x.Request.Body.Bytes); got != want {
			t.Fatalf("record %d: request body %.20q... (%d bytes), want %.20q... (%d)", i, got, len(got), want, len(want))
		}
		if got := string(x.Response.Body.Bytes); got != strings.ToUpper(want) {
			t.Fatalf("record %d: response body %.20q..., want %.20q...", i, got, strings.ToUpper(want))
		}
		_ = append(x.Request.Body.Bytes, "!!!!"...)
		if got := string(x.Response.Body.Bytes); got != strings.ToUpper(want) {
			t.Fatalf("record %d: an append to the request copy changed the response copy", i)
		}
	}
}

// TestChunkTimes: a handler streaming server-sent events with a flush
// after each gets one Chunk per event, in order, at the offset where the
// event ends; flushes that send no new body bytes add none.
func TestChunkTimes(t *testing.T) {
	events := []string{"data: one\n\n", "event: x\ndata: two\n\n", "data: three\n\n"}
	for _, p := range testutil.Protos {
		t.Run(p.Name, func(t *testing.T) {
			col := newCollector()
			tap := New(Config{Sink: col})
			defer tap.Close()
			h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				rc := http.NewResponseController(w)
				rc.Flush() // headers only: TimeToHeaders times it
				for i, e := range events {
					time.Sleep(5 * time.Millisecond)
					io.WriteString(w, e)
					if i%2 == 0 {
						w.(http.Flusher).Flush()
					} else if err := rc.Flush(); err != nil {
						t.Errorf("Flush: %v", err)
					}
					w.(http.Flusher).Flush() // nothing new
				}
				io.WriteString(w, ": bye\n\n") // sent at the end, after the last chunk
			}))
			srv, client := newServer(t, h, p.H2)
			resp, err := client.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			x := col.next(t)
			var offsets []int64
			var end int64
			for _, e := range events {
				end += int64(len(e))
				offsets = append(offsets, end)
			}
			var got []int64
			for _, c := range x.Response.Chunks {
				got = append(got, c.Offset)
			}
			if !slices.Equal(got, offsets) {
				t.Fatalf("chunk offsets: got %v, want %v", got, offsets)
			}
			prev := x.TimeToHeaders
			for i, c := range x.Response.Chunks {
				if c.At < prev+5*time.Millisecond || c.At > x.Duration {
					t.Errorf("chunk %d at %v: want at least 5ms after %v and no later than Duration %v", i, c.At, prev, x.Duration)
				}
				prev = c.At
			}
			if x.Response.ChunksOmitted != 0 {
				t.Errorf("ChunksOmitted: got %d, want 0", x.Response.ChunksOmitted)
			}
		})
	}
}

// TestChunkCap: past MaxChunks, flushes are counted, not kept.
func TestChunkCap(t *testing.T) {
	col := newCollector()
	tap := New(Config{Sink: col})
	defer tap.Close()
	const n = MaxChunks + 36
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range n {
			io.WriteString(w, "data: x\n\n")
			w.(http.Flusher).Flush()
		}
	}))
	srv, client := newServer(t, h, false)
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	x := col.next(t)
	if got := len(x.Response.Chunks); got != MaxChunks {
		t.Fatalf("chunks: got %d, want %d", got, MaxChunks)
	}
	if got := x.Response.ChunksOmitted; got != n-MaxChunks {
		t.Errorf("ChunksOmitted: got %d, want %d", got, n-MaxChunks)
	}
	if got, want := x.Response.Chunks[MaxChunks-1].Offset, int64(9*MaxChunks); got != want {
		t.Errorf("last chunk offset: got %d, want %d", got, want)
	}
}

// TestChunksOnlyWhenFlushed: a response that is never flushed has no
// chunks; one sent by ReadFrom past the sniff length, which the server
// may send as it goes, has one where the copy ended.
func TestChunksOnlyWhenFlushed(t *testing.T) {
	big := strings.Repeat("x", 3000)
	tests := []struct {
		name string
		h    http.HandlerFunc
		want []int64
	}{
		{"write", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) }, nil},
		{"flush before body", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			io.WriteString(w, big)
		}, nil},
		{"short ReadFrom", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, struct{ io.Reader }{strings.NewReader("short")})
		}, nil},
		{"ReadFrom", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, struct{ io.Reader }{strings.NewReader(big)}) // ReadFrom, not WriteTo
			io.WriteString(w, "end")
		}, []int64{3000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col := newCollector()
			tap := New(Config{Sink: col})
			defer tap.Close()
			srv, client := newServer(t, tap.Handler(tt.h), false)
			resp, err := client.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			x := col.next(t)
			var got []int64
			for _, c := range x.Response.Chunks {
				got = append(got, c.Offset)
			}
			if !slices.Equal(got, tt.want) || (tt.want == nil) != (x.Response.Chunks == nil) {
				t.Errorf("chunk offsets: got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCloneHeader: the snapshot equals http.Header.Clone, nil values
// kept, whether the values fit in the room given or not, into a new map
// or one that holds another snapshot; and it notes the names the Tap
// needs to know of.
func TestCloneHeader(t *testing.T) {
	for _, nvals := range []int{0, 1, 3, 4, 5, 9, 40} {
		h := http.Header{"Nil": nil}
		for i := range nvals {
			h.Add(fmt.Sprintf("X-K%d", i%7), strconv.Itoa(i))
		}
		for _, reuse := range []bool{false, true} {
			for _, room := range []int{0, snapValues} {
				var into http.Header
				if reuse {
					// A snapshot of another response: with a name h
					// lacks, or only names h has too.
					into = http.Header{"Nil": {"was set"}}
					if room == 0 {
						into["Stale"], into["X-K0"] = []string{"x"}, []string{"old", "older"}
					}
				}
				got, f, cl := cloneHeader(h, into, make([]string, room), nil)
				if !reflect.DeepEqual(got, h.Clone()) || f != (headerFacts{}) || cl != "" {
					t.Errorf("%d values, room %d: got %v, %+v, %q; want %v, no facts", nvals, room, got, f, cl, h)
				}
				if got["Nil"] != nil {
					t.Errorf("%d values: nil value became %#v", nvals, got["Nil"])
				}
				if len(got) > 0 && len(got["X-K0"]) > 0 {
					got["X-K0"][0] = "changed"
					if h["X-K0"][0] == "changed" {
						t.Fatalf("%d values, room %d: the snapshot shares values with the header", nvals, room)
					}
				}
			}
		}
	}
	for _, tt := range []struct {
		h      http.Header
		want   headerFacts
		wantCL string
	}{
		{http.Header{http.TrailerPrefix + "X-Sum": {"1"}}, headerFacts{prefixed: true}, ""},
		{http.Header{"Trailer": {"X-Sum"}, "Content-Type": {"text/plain"}}, headerFacts{trailer: true}, ""},
		{http.Header{"Content-Length": {"12"}}, headerFacts{contentLength: true}, "12"},
		{http.Header{"Content-Length": {"12", "13"}}, headerFacts{contentLength: true}, ""},
		{http.Header{"Content-Length": nil}, headerFacts{contentLength: true}, ""},
	} {
		if _, f, cl := cloneHeader(tt.h, nil, nil, nil); f != tt.want || cl != tt.wantCL {
			t.Errorf("cloneHeader(%v): facts %+v, Content-Length %q; want %+v, %q", tt.h, f, cl, tt.want, tt.wantCL)
		}
	}
}

// TestCloneHeaderLayout: a snapshot into a reused map that remembers its
// layout equals http.Header.Clone, response after response, whether the
// next header has the same names and as many values (refilled in place),
// or not, and when a sink changed the last snapshot.
func TestCloneHeaderLayout(t *testing.T) {
	var (
		into   http.Header
		vals   [snapValues]string
		layout snapLayout
	)
	steps := []struct {
		name   string
		h      http.Header
		sink   func(http.Header)
		refill bool // expected to take the fast path
	}{
		{name: "first", h: http.Header{"Content-Type": {"a"}, "X-Id": {"1"}}},
		{name: "same names", h: http.Header{"Content-Type": {"b"}, "X-Id": {"2"}}, refill: true},
		{name: "same again", h: http.Header{"Content-Type": {"c"}, "X-Id": {"3"}}, refill: true},
		// A sink's change shows at the next snapshot.
		{name: "sink replaces a value slice", h: http.Header{"Content-Type": {"d"}, "X-Id": {"4"}}, refill: true,
			sink: func(h http.Header) { h["X-Id"] = []string{"redacted"} }},
		{name: "after the replacement", h: http.Header{"Content-Type": {"e"}, "X-Id": {"5"}}},
		{name: "sink deletes a name", h: http.Header{"Content-Type": {"f"}, "X-Id": {"6"}}, refill: true,
			sink: func(h http.Header) { delete(h, "X-Id") }},
		{name: "after the deletion", h: http.Header{"Content-Type": {"g"}, "X-Id": {"7"}},
			sink: func(h http.Header) { h["X-Extra"] = []string{"x"} }},
		{name: "after the addition", h: http.Header{"Content-Type": {"g"}, "X-Id": {"7"}}},
		{name: "sink shortens a value slice", h: http.Header{"Content-Type": {"g2"}, "X-Id": {"7"}}, refill: true,
			sink: func(h http.Header) { h["X-Id"] = h["X-Id"][:0] }},
		{name: "after the shortening", h: http.Header{"Content-Type": {"g3"}, "X-Id": {"7"}}},
		{name: "more values", h: http.Header{"Content-Type": {"h"}, "X-Id": {"8", "9"}}},
		{name: "fewer values", h: http.Header{"Content-Type": {"i"}, "X-Id": {"10"}}},
		{name: "other name", h: http.Header{"Content-Type": {"j"}, "X-Other": {"11"}}},
		{name: "content length", h: http.Header{"Content-Type": {"k"}, "Content-Length": {"12"}}},
		{name: "content length again", h: http.Header{"Content-Type": {"l"}, "Content-Length": {"13"}}, refill: true},
		{name: "nil value", h: http.Header{"Content-Type": {"m"}, "Content-Length": nil}},
		{name: "too many values", h: http.Header{"A": {"1", "2", "3"}, "B": {"4", "5"}}},
		{name: "after too many", h: http.Header{"A": {"1"}}},
		{name: "after one", h: http.Header{"A": {"2"}}, refill: true},
		{name: "empty", h: http.Header{}},
		{name: "nil", h: nil},
	}
	for _, s := range steps {
		before := layout.n
		_, _, refilled := layout.refill(s.h, into, vals[:])
		if refilled != s.refill {
			t.Errorf("%s: refilled %v, want %v (layout of %d names)", s.name, refilled, s.refill, before)
		}
		got, f, cl := cloneHeader(s.h, into, vals[:], &layout)
		if s.h != nil && !reflect.DeepEqual(got, s.h.Clone()) {
			t.Fatalf("%s: snapshot %v, want %v", s.name, got, s.h)
		}
		wantF, wantCL := headerFacts{}, ""
		if v, ok := s.h["Content-Length"]; ok {
			wantF.contentLength = true
			if len(v) == 1 {
				wantCL = v[0]
			}
		}
		if f != wantF || cl != wantCL {
			t.Errorf("%s: facts %+v, %q; want %+v, %q", s.name, f, cl, wantF, wantCL)
		}
		if got != nil {
			into = got
		}
		if s.sink != nil {
			s.sink(into)
		}
	}
}
