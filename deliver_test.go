package bodytap

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bodytap/bodytap/internal/spill"
)

// Secrets of several kinds, for the parallel preparation corpus.
const (
	testJWT  = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	testAWS  = "AKIAIOSFODNN7EXAMPLE"
	testCard = "4111 1111 1111 1111"
)

// prepCorpus returns n exchanges made from seed, as the Tap captures them:
// JSON, form, multipart, text, XML, gzip and binary bodies of 0 to about
// 48 KiB, in the request or the response, some cut at a cap or not
// decodable, with secrets in headers, cookies, the URL, trailers, 1xx
// responses and bodies, and an Annotate function on some that adds a
// secret header (redaction must hide it, so it must run first). The same
// seed makes the same exchanges.
func prepCorpus(tb testing.TB, seed uint64, n int) []*Exchange {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	xs := make([]*Exchange, n)
	for i := range xs {
		pad := strings.Repeat("lorem ipsum dolor ", r.IntN(2700))
		var ct string
		var body []byte
		var ce string
		switch i % 10 {
		case 0:
			ct, body = "application/json", fmt.Appendf(nil, `{"user":"bob","password":"hunter%d","note":"see %s","pad":%q,"items":[{"card_number":%q,"id":%d}]}`, i, testJWT, pad, testCard, i)
		case 1:
			ct, body = "application/x-www-form-urlencoded", []byte("name=bob&password=p"+strconv.Itoa(i)+"&comment="+url.QueryEscape("key "+testAWS+" "+pad))
		case 2:
			ct = "multipart/form-data; boundary=XyZ"
			body = []byte("--XyZ\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\nk" + strconv.Itoa(i) + "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\n" + pad + testAWS + "\r\n--XyZ--\r\n")
		case 3:
			ct, body = "text/plain; charset=utf-8", []byte(pad+"\nAuthorization: Bearer "+testJWT+"\n")
		case 4:
			ct, body = "application/xml", []byte("<req><note>"+testAWS+"</note><pad>"+pad+"</pad></req>")
		case 5:
			ct, ce = "application/json", "gzip"
			body = encodeAs(tb, "gzip", fmt.Appendf(nil, `{"token":"t%d","pad":%q}`, i, pad))
		case 6:
			ct, ce, body = "application/json", "gzip", []byte("not gzip at all "+pad)
		case 7:
			ct, body = "application/json", []byte("{\"name\":\"\xff\xfe\",\"password\":\"x\"}")
		case 8:
			ct, body = "application/json", []byte(`{"pad":"`+pad+`","client_secret":"abcdef`+strconv.Itoa(i))
		case 9:
			ct, body = "application/octet-stream", bytes.Repeat([]byte{0, 1, 2, 0xff}, r.IntN(4096))
		}
		x := &Exchange{}
		x.url = url.URL{Scheme: "http", Host: "example.com", Path: "/items/" + strconv.Itoa(i), RawQuery: "access_token=tok" + strconv.Itoa(i) + "&page=2"}
		if i%3 == 0 {
			x.url.User = url.UserPassword("bob", "pw"+strconv.Itoa(i))
			x.url.Path = "/reset/" + testJWT
		}
		x.Request = Request{Method: "POST", URL: &x.url, Header: http.Header{
			"Authorization": {"Bearer " + testJWT},
			"Cookie":        {"sid=abc" + strconv.Itoa(i) + "; theme=dark"},
			"X-Trace":       {strconv.Itoa(i)},
		}}
		x.Response = Response{Status: 200, Header: http.Header{
			"Set-Cookie": {"sid=xyz; Path=/; HttpOnly"},
			"X-Note":     {"key " + testAWS},
		}}
		if i%4 == 0 {
			x.Response.Trailer = http.Header{"X-Api-Key": {"k" + strconv.Itoa(i)}}
			x.Response.Informational = []Informational{{Status: 103, Header: http.Header{"X-Auth-Token": {"t"}}}}
		}
		m, h := &x.Response, x.Response.Header
		b := Body{Bytes: body, Size: int64(len(body)), EOF: true}
		if i%10 == 8 {
			b.EOF, b.Truncated = false, true
		}
		if i%2 == 1 {
			h = x.Request.Header
			x.Request.Body = b
		} else {
			m.Body = b
		}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		if ce != "" {
			h.Set("Content-Encoding", ce)
		}
		if i%5 == 2 {
			x.notes = append(x.notes, func(x *Exchange) {
				x.Response.Header = x.Response.Header.Clone()
				x.Response.Header.Set("X-Session-Id", "s"+strconv.Itoa(i))
			})
		}
		xs[i] = x
	}
	return xs
}

// TestPrepareBatchSameAsPrepare: preparing a batch in phases, with the
// built-in redaction spread over goroutines or not, makes exactly the
// records that prepare makes one exchange at a time.
func TestPrepareBatchSameAsPrepare(t *testing.T) {
	const n = 120
	c := Config{Redact: Redaction{
		JSONPaths: []string{"items[*].id"},
		// Func sees what the built-in redaction left.
		Func: func(x *Exchange) { x.Route = fmt.Sprintf("detected %v", x.Detected) },
	}}
	tap := prepTap(t, c)
	want := prepCorpus(t, 3, n)
	for _, x := range want {
		tap.prepare(x)
	}
	// Not vacuous: secrets were found, bodies redacted, some withheld.
	var detected, redacted, withheld int
	for _, x := range want {
		if x.Detected != 0 {
			detected++
		}
		for _, b := range []*Body{&x.Request.Body, &x.Response.Body} {
			if b.Redacted {
				redacted++
			}
			if b.Withheld {
				withheld++
			}
		}
	}
	if detected < n/2 || redacted < n/2 || withheld == 0 {
		t.Fatalf("corpus: %d detected, %d bodies redacted, %d withheld; want at least %d, %d, 1", detected, redacted, withheld, n/2, n/2)
	}
	for _, procs := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			got := prepCorpus(t, 3, n)
			pre := tap.prepareBatch(got)
			for i, x := range got {
				if !pre[i].ok {
					t.Errorf("exchange %d: not ready", i)
				}
				if !reflect.DeepEqual(x, want[i]) {
					t.Errorf("exchange %d differs from the one prepared alone:\ngot  %+v\nwant %+v", i, x, want[i])
				}
			}
		})
	}
}

// TestPrepareBatchPanics: an exchange that the Annotate functions, the
// built-in redaction (on whichever goroutine) or Redaction.Func panic on
// is counted in SinkPanics and not ready; the others are prepared.
func TestPrepareBatchPanics(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	var funcRan []int
	tap := prepTap(t, Config{Redact: Redaction{Func: func(x *Exchange) {
		i, _ := strconv.Atoi(x.Request.Header.Get("X-Trace"))
		funcRan = append(funcRan, i)
		if i == 7 {
			panic("func")
		}
	}}})
	xs := prepCorpus(t, 5, 20)
	xs[3].notes = append(xs[3].notes, func(*Exchange) { panic("note") })
	// A body that cannot be decoded is withheld, which releases its spill
	// file: this one has no directory, and releasing it panics.
	xs[12].Response.Body = Body{Bytes: []byte("not gzip"), Size: 8, EOF: true, spill: &spill.File{}}
	xs[12].Response.Header.Set("Content-Encoding", "gzip")
	pre := tap.prepareBatch(xs)
	for i := range xs {
		if want := i != 3 && i != 7 && i != 12; pre[i].ok != want {
			t.Errorf("exchange %d: ready %v, want %v", i, pre[i].ok, want)
		}
	}
	if got := tap.sinkPanics.Load(); got != 3 {
		t.Errorf("SinkPanics: got %d, want 3", got)
	}
	var wantRan []int
	for i := range 20 {
		if i != 3 && i != 12 {
			wantRan = append(wantRan, i)
		}
	}
	if !slices.Equal(funcRan, wantRan) {
		t.Errorf("Func ran on %v, want %v, in order", funcRan, wantRan)
	}
}

// TestParallelPays: the built-in redaction of a batch is spread only when
// it is on, with the built-in decoder, over more than one exchange and
// processor, and for enough bytes, in all and on average.
func TestParallelPays(t *testing.T) {
	batch := func(n, size int) []*Exchange {
		xs := make([]*Exchange, n)
		for i := range xs {
			xs[i] = bodyExchange("application/json", make([]byte, size))
		}
		return xs
	}
	cases := []struct {
		name  string
		c     Config
		procs int
		batch []*Exchange
		want  bool
	}{
		{"big", Config{}, 2, batch(2, parallelMinBytes/2), true},
		{"many", Config{}, 2, batch(16, parallelMinMean), true},
		{"too few bytes", Config{}, 2, batch(3, parallelMinBytes/3-1), false},
		{"small on average", Config{}, 2, batch(64, parallelMinMean-1), false},
		{"one big among small", Config{}, 2, append(batch(1, 1<<20), batch(64, 1024)...), true},
		{"one exchange", Config{}, 2, batch(1, 1<<20), false},
		{"one processor", Config{}, 1, batch(4, 1<<20), false},
		{"redaction off", Config{Redact: Redaction{Disabled: true}}, 2, batch(4, 1<<20), false},
		{"decode hook", Config{Decode: stubDecode}, 2, batch(4, 1<<20), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.procs))
			if got := prepTap(t, c.c).parallelPays(c.batch); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// goid returns the current goroutine's number.
func goid() string {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	s = strings.TrimPrefix(s, "goroutine ")
	return s[:strings.IndexByte(s, ' ')]
}

// hookLog notes the calls of Annotate functions and Redaction.Func, and
// whether any two ran at once or on different goroutines.
type hookLog struct {
	mu         sync.Mutex
	events     []string
	goroutines map[string]bool
	running    atomic.Int32
	concurrent atomic.Bool
}

// enter notes an event, from a hook that runs until the function it
// returns is called.
func (l *hookLog) enter(event string) (leave func()) {
	if l.running.Add(1) != 1 {
		l.concurrent.Store(true)
	}
	l.mu.Lock()
	l.events = append(l.events, event)
	l.goroutines[goid()] = true
	l.mu.Unlock()
	runtime.Gosched() // room for another call to overlap, if it could
	return func() { l.running.Add(-1) }
}

// batchFunc is a BatchSink that calls itself on each exchange of a batch.
type batchFunc func(x *Exchange)

func (f batchFunc) Record(x *Exchange) { f(x) }

func (f batchFunc) RecordBatch(xs []*Exchange) {
	for _, x := range xs {
		f(x)
	}
}

// TestDeliverBatchPhases: through a Tap, with a Sink and with a
// BatchSink, a batch of big bodies runs the Annotate functions of all its
// exchanges, then their built-in redaction, then Redaction.Func on each,
// each hook one exchange at a time, in queue order, in the delivery
// goroutine; the sink gets the exchanges in queue order, redacted, less
// those a hook panicked on, which are counted. A batch of small bodies
// runs all of prepare per exchange, as before.
func TestDeliverBatchPhases(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	for _, batchSink := range []bool{false, true} {
		for _, size := range []int{parallelMinMean, 100} {
			t.Run(fmt.Sprintf("batch=%v/size=%d", batchSink, size), func(t *testing.T) {
				testDeliverBatchPhases(t, batchSink, size)
			})
		}
	}
}

func testDeliverBatchPhases(t *testing.T, batchSink bool, size int) {
	const n = 24
	const noteFails, funcFails = 9, 5
	log := &hookLog{goroutines: map[string]bool{}}
	var mu sync.Mutex
	var got []int
	var s Sink = SinkFunc(func(x *Exchange) {
		i, _ := strconv.Atoi(x.Request.Header.Get("X-Seq"))
		mu.Lock()
		got = append(got, i)
		mu.Unlock()
		if bytes.Contains(x.Request.Body.Bytes, []byte("hunter2")) || !x.Request.Body.Redacted {
			t.Errorf("exchange %d: request body not redacted", i)
		}
	})
	if batchSink {
		s = batchFunc(s.(SinkFunc))
	}
	started, release := make(chan struct{}), make(chan struct{})
	tap := New(Config{Sink: s, Redact: Redaction{Func: func(x *Exchange) {
		i := x.Request.Header.Get("X-Seq")
		defer log.enter("func " + i)()
		if bytes.Contains(x.Request.Body.Bytes, []byte("hunter2")) {
			t.Errorf("exchange %s: Func ran before the built-in redaction", i)
		}
		if i == strconv.Itoa(funcFails) {
			panic("func fails")
		}
	}}})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		i := r.Header.Get("X-Seq")
		Annotate(w, func(x *Exchange) {
			defer log.enter("note " + i)()
			if i == "0" {
				close(started)
				<-release // the others queue up meanwhile: one batch
			}
			if !bytes.Contains(x.Request.Body.Bytes, []byte("hunter2")) {
				t.Errorf("exchange %s: Annotate function ran after redaction", i)
			}
			if i == strconv.Itoa(noteFails) {
				panic("note fails")
			}
		})
	}))
	body := `{"password":"hunter2","pad":"` + strings.Repeat("x", size) + `"}`
	for i := range n {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Seq", strconv.Itoa(i))
		h.ServeHTTP(httptest.NewRecorder(), req)
		if i == 0 {
			<-started // delivered alone
		}
	}
	close(release)
	tap.Close()

	var want []int
	wantEvents := []string{"note 0", "func 0"}
	for i := 1; i < n; i++ {
		if i != noteFails && i != funcFails {
			want = append(want, i)
		}
	}
	parallel := size >= parallelMinMean
	for i := 1; i < n; i++ {
		wantEvents = append(wantEvents, "note "+strconv.Itoa(i))
		if !parallel && i != noteFails {
			wantEvents = append(wantEvents, "func "+strconv.Itoa(i))
		}
	}
	if parallel {
		for i := 1; i < n; i++ {
			if i != noteFails {
				wantEvents = append(wantEvents, "func "+strconv.Itoa(i))
			}
		}
	}
	if !slices.Equal(got, append([]int{0}, want...)) {
		t.Errorf("sink got %v, want 0 and %v, in order", got, want)
	}
	if !slices.Equal(log.events, wantEvents) {
		t.Errorf("hooks ran as\n%v\nwant\n%v", log.events, wantEvents)
	}
	if log.concurrent.Load() || len(log.goroutines) != 1 {
		t.Errorf("hooks ran concurrently (%v) or on %d goroutines; want one at a time, on one", log.concurrent.Load(), len(log.goroutines))
	}
	if st := tap.Stats(); st.SinkPanics != 2 || st.Delivered != n-2 {
		t.Errorf("Stats: %d delivered, %d sink panics; want %d, 2", st.Delivered, st.SinkPanics, n-2)
	}
}

// BenchmarkPrepareBatch compares, per batch, preparing its exchanges one
// by one with prepareBatch (whose built-in redaction runs on up to
// GOMAXPROCS goroutines), for batches of small JSON bodies around
// parallelMinBytes and of 64 KiB ones: the threshold is where the second
// stops costing more wall time than the first; cpu-ns/op is what the
// goroutines cost besides.
func BenchmarkPrepareBatch(b *testing.B) {
	for _, c := range []struct{ n, size int }{{2, 4 << 10}, {2, 8 << 10}, {4, 4 << 10}, {2, 16 << 10}, {4, 8 << 10}, {8, 8 << 10}, {4, 64 << 10}} {
		body := []byte(`{"password":"hunter2","pad":"` + strings.Repeat("lorem ipsum ", c.size/24) + `"}`)
		tmpl := make([]*Exchange, c.n)
		for i := range tmpl {
			x := bodyExchange("application/json", body)
			x.Request.Header.Set("Content-Type", "application/json")
			x.Request.Body = x.Response.Body
			tmpl[i] = x
		}
		xs := make([]*Exchange, c.n)
		tap := prepTap(b, Config{})
		for _, mode := range []string{"serial", "batch"} {
			b.Run(fmt.Sprintf("n=%d/size=%d/%s", c.n, c.size, mode), func(b *testing.B) {
				defer startCPU().report(b)
				for b.Loop() {
					for i, x := range tmpl {
						xs[i] = x.Clone()
					}
					if mode == "batch" {
						tap.prepareBatch(xs)
						continue
					}
					for _, x := range xs {
						tap.prepare(x)
					}
				}
			})
		}
	}
}

// TestSinkPanicsInBatch: a sink that panics on some exchanges of a batch
// (the first, two in a row, the last of a release group, the last of the
// batch) gets all the others, in order; each panic is counted once, and
// the queue's bounds are released for every exchange, so that the Tap
// goes on delivering after the batch.
func TestSinkPanicsInBatch(t *testing.T) {
	const n = 2*releaseEvery + 5
	panics := map[int]bool{0: true, 1: true, 7: true, 8: true, releaseEvery - 1: true, releaseEvery: true, n - 1: true}
	started, release := make(chan struct{}), make(chan struct{})
	var got []int
	tap := New(Config{Redact: Redaction{Disabled: true}, Sink: SinkFunc(func(x *Exchange) {
		i, _ := strconv.Atoi(x.Request.Header.Get("X-Seq"))
		if i < 0 {
			close(started)
			<-release // the others queue up meanwhile: one batch
			return
		}
		if panics[i] {
			panic("sink fails")
		}
		got = append(got, i)
	})})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	serve := func(i int) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Seq", strconv.Itoa(i))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	serve(-1)
	<-started
	for i := range n {
		serve(i)
	}
	close(release)
	serve(n) // after the batch
	tap.Close()

	var want []int
	for i := range n + 1 {
		if !panics[i] {
			want = append(want, i)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("sink got %v, want %v", got, want)
	}
	st := tap.Stats()
	if st.SinkPanics != int64(len(panics)) || st.Delivered != int64(len(want)+1) || st.Queued != 0 || st.QueuedBytes != 0 {
		t.Errorf("Stats: %+v; want %d sink panics, %d delivered, nothing queued", st, len(panics), len(want)+1)
	}
}
