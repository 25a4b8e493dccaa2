package bodytap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/testutil"
)

func TestCaptureBasics(t *testing.T) {
	for _, p := range testutil.Protos {
		t.Run(p.Name, func(t *testing.T) {
			col := newCollector()
			tap := New(Config{Sink: col, MaxBodyBytes: 10})
			defer tap.Close()
			mux := http.NewServeMux()
			mux.HandleFunc("POST /items/{id}", func(w http.ResponseWriter, r *http.Request) {
				b := make([]byte, 5)
				io.ReadFull(r.Body, b) // read only part of the body
				w.Header().Set("Trailer", "X-Sum")
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusEarlyHints)
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, "hello, ")
				w.(http.Flusher).Flush()
				w.Write([]byte("world and more"))
				w.Header().Set("X-Sum", "42")
				w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
			})
			srv, client := newServer(t, tap.Handler(mux), p.H2)
			resp, err := client.Post(srv.URL+"/items/7?q=1", "text/plain", strings.NewReader("0123456789abcdef"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "hello, world and more" {
				t.Fatalf("client got %q", body)
			}
			x := col.next(t)
			checks := []struct {
				name      string
				got, want any
			}{
				{"status", x.Response.Status, 201},
				{"route", x.Route, "POST /items/{id}"},
				{"url", x.Request.URL.String(), srv.URL + "/items/7?q=1"},
				{"method", x.Request.Method, "POST"},
				{"resp size", x.Response.Body.Size, int64(21)},
				{"resp bytes", string(x.Response.Body.Bytes), "hello, wor"},
				{"resp truncated", x.Response.Body.Truncated, true},
				{"req size", x.Request.Body.Size, int64(5)},
				{"req bytes", string(x.Request.Body.Bytes), "01234"},
				{"req EOF", x.Request.Body.EOF, false},
				{"req truncated", x.Request.Body.Truncated, false},
				{"1xx", len(x.Response.Informational), 1},
				{"trailer", x.Response.Trailer.Get("X-Sum"), "42"},
				{"prefix trailer", x.Response.Trailer.Get("X-Late"), "yes"},
				{"content type", x.Response.Header.Get("Content-Type"), "text/plain"},
				{"err", x.Err, nil},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
				}
			}
			if x.Response.Informational[0].Status != 103 {
				t.Errorf("1xx status: got %d, want 103", x.Response.Informational[0].Status)
			}
			if x.TimeToHeaders <= 0 || x.TimeToHeaders > x.Duration {
				t.Errorf("TimeToHeaders %v not in (0, Duration=%v]", x.TimeToHeaders, x.Duration)
			}
		})
	}
}

func TestHeaderSetAfterWriteIsNotRecorded(t *testing.T) {
	col := newCollector()
	tap := New(Config{Sink: col})
	defer tap.Close()
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Early", "1")
		w.Write([]byte("x"))
		w.Header().Set("X-Late", "lost") // never reaches the client
	}))
	srv, client := newServer(t, h, false)
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	x := col.next(t)
	if got := x.Response.Header.Get("X-Late"); got != "" || resp.Header.Get("X-Late") != "" {
		t.Errorf("X-Late: recorded %q, on the wire %q; want neither", got, resp.Header.Get("X-Late"))
	}
	if got := x.Response.Header.Get("X-Early"); got != "1" {
		t.Errorf("X-Early: got %q, want %q", got, "1")
	}
}

func TestBeforeHeadersAddsProcessTime(t *testing.T) {
	var hookStatus int
	tap := New(Config{BeforeHeaders: func(r *http.Request, status int, h http.Header, elapsed time.Duration) {
		hookStatus = status
		h.Set("X-Process-Time", elapsed.String())
	}})
	defer tap.Close()
	cases := []struct {
		name   string
		h      http.HandlerFunc
		status int
	}{
		{"write", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) }, 200},
		{"writeheader", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, 404},
		{"nothing", func(w http.ResponseWriter, r *http.Request) {}, 200},
		{"flush", func(w http.ResponseWriter, r *http.Request) { w.(http.Flusher).Flush() }, 200},
		{"103 then 202", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(103); w.WriteHeader(202) }, 202},
		{"readfrom", func(w http.ResponseWriter, r *http.Request) { io.Copy(w, strings.NewReader("abc")) }, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, client := newServer(t, tap.Handler(c.h), false)
			resp, err := client.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.Header.Get("X-Process-Time") == "" {
				t.Error("X-Process-Time missing on the wire")
			}
			if resp.StatusCode != c.status || hookStatus != c.status {
				t.Errorf("status: wire %d, hook %d, want %d", resp.StatusCode, hookStatus, c.status)
			}
		})
	}
}

// TestStreamingDoesNotWait: a handler that flushes a chunk and waits until
// the client has it must not deadlock through the tap.
func TestStreamingDoesNotWait(t *testing.T) {
	for _, p := range testutil.Protos {
		t.Run(p.Name, func(t *testing.T) {
			col := newCollector()
			tap := New(Config{Sink: col})
			defer tap.Close()
			chunks := testutil.NewChunks("data: 0\n\n", "data: 1\n\n", "data: 2\n\n")
			h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				chunks.Write(t, w)
			}))
			srv, client := newServer(t, h, p.H2)
			chunks.Get(t, client, srv.URL)
			x := col.next(t)
			if want := "data: 0\n\ndata: 1\n\ndata: 2\n\n"; string(x.Response.Body.Bytes) != want {
				t.Errorf("captured %q, want %q", x.Response.Body.Bytes, want)
			}
		})
	}
}

func TestHijack(t *testing.T) {
	col := newCollector()
	tap := New(Config{Sink: col})
	defer tap.Close()
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo: " + line)
		brw.Flush()
	}))
	srv, _ := newServer(t, h, false)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status: got %d, want 101", resp.StatusCode)
	}
	fmt.Fprintf(conn, "ping\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: ping\n" {
		t.Fatalf("got %q, %v; want %q", line, err, "echo: ping\n")
	}
	x := col.next(t)
	if !x.Hijacked || !errors.Is(x.Err, ErrHijacked) {
		t.Errorf("Hijacked %v, Err %v; want true, ErrHijacked", x.Hijacked, x.Err)
	}
}

func TestReadFromPastCapReachesUnderlyingReadFrom(t *testing.T) {
	const size, max = 1 << 20, 4 << 10
	f, err := os.Create(filepath.Join(t.TempDir(), "blob"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("0123456789abcdef"), size/16))
	f.Seek(0, 0)
	defer f.Close()

	col := newCollector()
	tap := New(Config{Sink: col, MaxBodyBytes: max})
	defer tap.Close()
	under := &testutil.ReadFromCounter{H: http.Header{}}
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(w, f); err != nil {
			t.Error(err)
		}
	}))
	h.ServeHTTP(under, httptest.NewRequest("GET", "/", nil))
	if !under.SawFile {
		t.Error("the file never reached the underlying ReadFrom: sendfile lost")
	}
	if under.ReadFromN != size || under.Writes != 0 {
		t.Errorf("underlying ReadFrom got %d bytes and Write %d; want %d and 0", under.ReadFromN, under.Writes, size)
	}
	x := col.next(t)
	if x.Response.Body.Size != size || len(x.Response.Body.Bytes) != max || !x.Response.Body.Truncated {
		t.Errorf("Body: size %d, kept %d, truncated %v; want %d, %d, true",
			x.Response.Body.Size, len(x.Response.Body.Bytes), x.Response.Body.Truncated, size, max)
	}

	// With no capture at all, the source goes straight through, once.
	tap2 := New(Config{MaxBodyBytes: -1})
	defer tap2.Close()
	under2 := &testutil.ReadFromCounter{H: http.Header{}}
	f.Seek(0, 0)
	tap2.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, f)
	})).ServeHTTP(under2, httptest.NewRequest("GET", "/", nil))
	if under2.ReadFromCall != 1 || !under2.SawFile || under2.ReadFromN != size {
		t.Errorf("no capture: %d ReadFrom calls, file seen %v, %d bytes; want 1, true, %d",
			under2.ReadFromCall, under2.SawFile, under2.ReadFromN, size)
	}
}

// TestStuckSinkNeverDelaysResponses: 1,000 requests complete while the sink
// is stuck, and the drops are counted.
func TestStuckSinkNeverDelaysResponses(t *testing.T) {
	for _, mode := range []string{"blocked", "panicking"} {
		t.Run(mode, func(t *testing.T) {
			release := make(chan struct{})
			var sink SinkFunc
			if mode == "blocked" {
				sink = func(*Exchange) { <-release }
			} else {
				sink = func(*Exchange) { panic("sink bug") }
			}
			tap := New(Config{Sink: sink, QueueLen: 16})
			h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Write([]byte("ok"))
			}))
			srv, client := newServer(t, h, false)
			const n = 1000
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := i; j < n; j += 4 {
						resp, err := client.Post(srv.URL, "text/plain", strings.NewReader("body"))
						if err != nil {
							errs <- err
							continue
						}
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if string(b) != "ok" {
							errs <- fmt.Errorf("got %q, want %q", b, "ok")
						}
					}
				}()
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("requests did not complete while the sink was stuck")
			}
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			st := tap.Stats()
			close(release)
			if err := tap.Close(); err != nil {
				t.Fatal(err)
			}
			final := tap.Stats()
			if final.Captured != n {
				t.Errorf("Captured: got %d, want %d", final.Captured, n)
			}
			switch mode {
			case "blocked":
				if st.Dropped < n-16-1 || st.Dropped+final.Delivered != n {
					t.Errorf("blocked sink: dropped %d, delivered %d; want ≥ %d dropped, sum %d", st.Dropped, final.Delivered, n-17, n)
				}
			case "panicking":
				if final.SinkPanics+final.Dropped != n || final.SinkPanics == 0 {
					t.Errorf("panicking sink: %d panics, %d dropped; want a sum of %d", final.SinkPanics, final.Dropped, n)
				}
			}
		})
	}
}

func TestQueueByteBound(t *testing.T) {
	release := make(chan struct{})
	tap := New(Config{Sink: SinkFunc(func(*Exchange) { <-release }), MaxBodyBytes: 4096, QueueBytes: 3 * 4096})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 4096))
	}))
	for range 20 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	st := tap.Stats()
	close(release)
	tap.Close()
	// One is in the sink; at most three sit in the queue by bytes.
	if st.Dropped < 20-4 {
		t.Errorf("dropped %d of 20 with room for 3 by bytes; want at least 16", st.Dropped)
	}
}

func TestHandlerPanicIsRecordedAndRethrown(t *testing.T) {
	col := newCollector()
	tap := New(Config{Sink: col})
	defer tap.Close()
	cases := []struct {
		name  string
		value any
		want  error
	}{
		{"value", "boom", ErrHandlerPanic},
		{"abort", http.ErrAbortHandler, ErrAborted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("partial"))
				panic(c.value)
			}))
			func() {
				defer func() {
					if got := recover(); got != c.value {
						t.Errorf("panic value: got %v, want %v", got, c.value)
					}
				}()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			}()
			x := col.next(t)
			if !errors.Is(x.Err, c.want) {
				t.Errorf("Err: got %v, want %v", x.Err, c.want)
			}
			if x.Response.Body.EOF {
				t.Error("response body of a panicked handler marked complete")
			}
		})
	}
}

func TestSkipPassesUntouched(t *testing.T) {
	col := newCollector()
	tap := New(Config{Sink: col, Skip: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/events") }})
	defer tap.Close()
	rec := httptest.NewRecorder()
	var gotW http.ResponseWriter
	var gotBody io.ReadCloser
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotW, gotBody = w, r.Body
	}))
	req := httptest.NewRequest("POST", "/events", strings.NewReader("x"))
	body := req.Body
	h.ServeHTTP(rec, req)
	if gotW != rec || gotBody != body {
		t.Error("a skipped request was wrapped")
	}
	tap.Close()
	if st := tap.Stats(); st.Skipped != 1 || st.Captured != 0 {
		t.Errorf("Stats: %+v; want 1 skipped, 0 captured", st)
	}
}

func TestRequestBody(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		read    int // -1: all
		size    int64
		eof     bool
		restore bool
	}{
		{"unread", "abcdef", 0, 0, false, true},
		{"partial", "abcdef", 3, 3, false, true},
		{"all", "abcdef", -1, 6, true, true},
		{"none", "", -1, 0, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			col := newCollector()
			tap := New(Config{Sink: col})
			defer tap.Close()
			var seen []byte
			h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.read < 0 {
					seen, _ = io.ReadAll(r.Body)
				} else {
					seen = make([]byte, c.read)
					io.ReadFull(r.Body, seen)
				}
			}))
			var req *http.Request
			if c.body == "" {
				req = httptest.NewRequest("GET", "/", nil)
			} else {
				req = httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			}
			orig := req.Body
			h.ServeHTTP(httptest.NewRecorder(), req)
			if req.Body != orig {
				t.Error("r.Body not restored after the handler returned")
			}
			x := col.next(t)
			b := x.Request.Body
			if b.Size != c.size || b.EOF != c.eof || string(b.Bytes) != string(seen) {
				t.Errorf("got size %d EOF %v bytes %q; want %d %v %q", b.Size, b.EOF, b.Bytes, c.size, c.eof, seen)
			}
		})
	}
}

func TestClientGone(t *testing.T) {
	col := newCollector()
	tap := New(Config{Sink: col})
	defer tap.Close()
	started := make(chan struct{})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	}))
	srv, client := newServer(t, h, false)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	cancel()
	resp.Body.Close()
	x := col.next(t)
	if !errors.Is(x.Err, ErrClientGone) {
		t.Errorf("Err: got %v, want ErrClientGone", x.Err)
	}
}

// TestResponseControllerReachesThroughUnwrap: deadlines and full duplex
// work through the tap on a real server.
func TestResponseControllerReachesThroughUnwrap(t *testing.T) {
	tap := New(Config{})
	defer tap.Close()
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetReadDeadline: %v", err)
		}
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex: %v", err)
		}
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
	}))
	srv, client := newServer(t, h, false)
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestCloseDeliversQueued(t *testing.T) {
	var mu sync.Mutex
	n := 0
	tap := New(Config{Sink: SinkFunc(func(*Exchange) {
		time.Sleep(time.Millisecond)
		mu.Lock()
		n++
		mu.Unlock()
	})})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for range 50 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 50 {
		t.Errorf("delivered %d before Close returned, want 50", n)
	}
	if err := tap.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: got %v, want ErrClosed", err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if st := tap.Stats(); st.Dropped != 1 || st.DroppedClosed != 1 {
		t.Errorf("after Close: dropped %d (closed %d), want 1 (1)", st.Dropped, st.DroppedClosed)
	}
}

func TestIDs(t *testing.T) {
	now := time.Now()
	prev := newID(now)
	for i := range 1000 {
		id := newID(now.Add(time.Duration(i) * time.Millisecond))
		if id.String() <= prev.String() {
			t.Fatalf("IDs not increasing: %s after %s", id, prev)
		}
		back, err := ParseID(strings.ToLower(id.String()))
		if err != nil || back != id {
			t.Fatalf("ParseID(%s) = %s, %v", id, back, err)
		}
		prev = id
	}
	if got := prev.Time().UnixMilli(); got != now.Add(999*time.Millisecond).UnixMilli() {
		t.Errorf("Time: got %d, want %d", got, now.Add(999*time.Millisecond).UnixMilli())
	}
	for _, bad := range []string{"", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "0000000000000000000000000U", "short"} {
		if _, err := ParseID(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q): got %v, want ErrBadID", bad, err)
		}
	}
}

// TestCoreImportsStandardLibraryOnly: the root package must not pull in a
// third-party module. Its own internal packages are allowed; -deps lists
// their dependencies too, so they are held to the same rule.
func TestCoreImportsStandardLibraryOnly(t *testing.T) {
	testutil.OwnDependenciesOnly(t)
}
