package bodytap

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/testutil"
)

// TestStockOutlivesGC: a Tap that reuses exchanges keeps the memory of
// delivered ones across garbage collections (which empty a sync.Pool),
// so that the requests after a collection allocate no more than the
// others: what the handler may keep of its writer and request.
func TestStockOutlivesGC(t *testing.T) {
	if raceEnabled {
		t.Skip("race build: allocation counts differ")
	}
	payload := []byte(strings.Repeat("x", 1<<10))
	h := echoSized(payload)
	tap := New(Config{MaxBodyBytes: 1 << 20, Redact: Redaction{Disabled: true}, ReuseExchanges: true})
	defer tap.Close()
	th := tap.Handler(h)
	body := rewindBody{bytes.NewReader(payload)}
	req, _ := http.NewRequest("POST", "http://example.com/api", body)
	w := &testutil.DiscardWriter{H: http.Header{}}
	serve := func(h http.Handler) {
		body.Reset(payload)
		req.Body = body
		clear(w.H)
		h.ServeHTTP(w, req)
	}
	mallocs := func(h http.Handler, n int) float64 {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for range n {
			serve(h)
		}
		runtime.ReadMemStats(&m1)
		return float64(m1.Mallocs-m0.Mallocs) / float64(n)
	}
	// As in TestAllocsAddedByTap, the warm-up runs faster than the
	// delivery goroutine, which batches for a millisecond: it leaves
	// hundreds of exchanges' memory to reuse, more than the measured
	// requests need.
	for range 2000 {
		serve(th)
	}
	waitDelivered(t, tap)
	const n = 200
	bare := mallocs(h, n)
	runtime.GC()
	runtime.GC()
	got := mallocs(th, n)
	t.Logf("allocations per request after two collections: %.2f, %.2f without the Tap", got, bare)
	if d := got - bare; d > 1.1 {
		t.Errorf("after two collections the Tap adds %.2f allocations per request, want 1", d)
	}
}

// TestStockKeep: the stock keeps about four times the recent batches,
// and what a past burst left falls away as batches get small.
func TestStockKeep(t *testing.T) {
	var s stock
	for range 100 {
		s.freed = append(s.freed, new(rw))
	}
	s.fill(100)
	if len(s.rws) != 100 || len(s.freed) != 0 {
		t.Fatalf("after a batch of 100: %d in stock, %d set aside; want 100, 0", len(s.rws), len(s.freed))
	}
	for range 200 {
		s.fill(1)
	}
	s.freed = append(s.freed, new(rw))
	s.fill(1)
	if len(s.rws) > 4 {
		t.Errorf("after 200 batches of 1: %d in stock, want at most 4", len(s.rws))
	}
	for len(s.rws) > 0 {
		if c := s.get(); c == nil {
			t.Fatal("get returned nil")
		}
	}
	if c := s.get(); c == nil {
		t.Error("get from an empty stock returned nil, want an rw from the pool")
	}
}

// TestStockSpare: the stock keeps rws with spare body buffers while
// their spares stay within maxStockSpare, and counts what it holds as
// rws leave it.
func TestStockSpare(t *testing.T) {
	var s stock
	const each = 4 << 20 // 2 MiB a spare
	withSpares := func() *rw {
		c := new(rw)
		c.own.reqSpare, c.own.respSpare = make([]byte, 0, each/2), make([]byte, 0, each/2)
		return c
	}
	for range 6 {
		s.freed = append(s.freed, withSpares())
	}
	s.freed = append(s.freed, new(rw)) // no spares: always kept
	s.fill(100)
	if want := maxStockSpare / each; len(s.rws) != want+1 || s.spare != int64(want*each) {
		t.Fatalf("after 6 rws of %d spare bytes and one of none: %d in stock holding %d; want %d holding %d",
			each, len(s.rws), s.spare, want+1, want*each)
	}
	for len(s.rws) > 0 {
		s.get()
	}
	if s.spare != 0 {
		t.Errorf("empty stock holds %d spare bytes, want 0", s.spare)
	}
	// Trimmed to what the stock keeps, it counts only what stays.
	for range 3 {
		s.freed = append(s.freed, withSpares())
	}
	s.fill(100)
	for range 300 {
		s.fill(0)
	}
	if len(s.rws) != 0 || s.spare != 0 {
		t.Errorf("after the stock shrank to nothing: %d rws holding %d spare bytes, want none", len(s.rws), s.spare)
	}
}

// TestStockForgetsRequests: the rws a Tap keeps for reuse hold nothing of
// the request they last served (its header map, its URL's strings) nor
// of its response's header values, which the garbage collector can then
// free instead of marking them until the rw is reused; and the next
// requests served from the stock are recorded whole.
func TestStockForgetsRequests(t *testing.T) {
	var got []*Exchange
	tap := New(Config{Redact: Redaction{Disabled: true}, ReuseExchanges: true, Sink: SinkFunc(func(x *Exchange) {
		got = append(got, &Exchange{Request: Request{Method: x.Request.Method, URL: &url.URL{Path: x.Request.URL.Path}, Header: x.Request.Header.Clone()},
			Response: Response{Status: x.Response.Status, Header: x.Response.Header.Clone()}})
	})})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.Header.Get("X-Seq"))
		w.WriteHeader(http.StatusAccepted)
	}))
	serve := func(i int) {
		req, _ := http.NewRequest("GET", "http://example.com/item/"+strconv.Itoa(i), nil)
		req.Header.Set("X-Seq", strconv.Itoa(i))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	for i := range 10 {
		serve(i)
	}
	waitDelivered(t, tap)
	tap.stock.mu.Lock()
	if len(tap.stock.rws) == 0 {
		t.Fatal("no rw in the stock after delivery")
	}
	for _, c := range tap.stock.rws {
		x := &c.own.x
		if x.Request.Header != nil || x.Request.URL != nil || x.url.Path != "" || x.url.Host != "" || x.Request.Method != "" {
			t.Errorf("an rw in the stock still holds its last request: %+v, URL %+v", x.Request, x.url)
		}
		for _, v := range c.own.vals {
			if v != "" {
				t.Errorf("an rw in the stock still holds a response header value: %q", c.own.vals)
				break
			}
		}
	}
	tap.stock.mu.Unlock()
	for i := 10; i < 20; i++ {
		serve(i)
	}
	tap.Close()
	if len(got) != 20 {
		t.Fatalf("sink got %d exchanges, want 20", len(got))
	}
	for i, x := range got {
		seq := strconv.Itoa(i)
		if x.Request.Method != "GET" || x.Request.URL.Path != "/item/"+seq || x.Request.Header.Get("X-Seq") != seq ||
			x.Response.Status != http.StatusAccepted || x.Response.Header.Get("X-Echo") != seq {
			t.Errorf("exchange %d recorded as %+v %+v", i, x.Request, x.Response)
		}
	}
}
