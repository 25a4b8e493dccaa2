package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/testutil"
)

// TestServerSentEvents checks that a stream passes event by event: the
// first event reaches the client before the upstream sends the second,
// which it does only once the client has it.
func TestServerSentEvents(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		release := make(chan struct{})
		up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "data: second\n\n")
		}), false)
		e := newEnv(t, up.URL, m, nil)
		resp, err := e.client.Get(e.url("/events"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		first := make(chan string, 1)
		go func() {
			var b strings.Builder
			for {
				line, err := br.ReadString('\n')
				b.WriteString(line)
				if err != nil || line == "\n" {
					first <- b.String()
					return
				}
			}
		}()
		select {
		case ev := <-first:
			if ev != "data: first\n\n" {
				t.Fatalf("first event: got %q", ev)
			}
		case <-time.After(5 * time.Second):
			close(release)
			t.Fatal("the first event did not reach the client before the upstream sent the second")
		}
		close(release)
		rest, err := io.ReadAll(br)
		if err != nil || string(rest) != "data: second\n\n" {
			t.Errorf("rest of the stream: got %q, %v", rest, err)
		}
		x := e.col.next(t)
		if got := string(x.Response.Body.Bytes); got != "data: first\n\ndata: second\n\n" || x.Err != nil {
			t.Errorf("recorded body %q, Err %v", got, x.Err)
		}
		// The proxy flushes each read from the upstream: the first event
		// is a chunk of its own.
		c := x.Response.Chunks
		if len(c) == 0 || c[0].Offset != int64(len("data: first\n\n")) || c[len(c)-1].Offset > x.Response.Body.Size {
			t.Fatalf("chunks: got %v, want the first at offset 13, none past %d", c, x.Response.Body.Size)
		}
		for i := 1; i < len(c); i++ {
			if c[i].Offset <= c[i-1].Offset || c[i].At < c[i-1].At {
				t.Errorf("chunks out of order: %v", c)
			}
		}
	})
}

// TestEarlyHints checks that 1xx responses from the upstream reach the
// client, with their headers, before the final response, and are recorded.
func TestEarlyHints(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Link", "</style.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Add("Link", "</app.js>; rel=preload; as=script")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html></html>")
		}), false)
		e := newEnv(t, up.URL, m, nil)
		var mu sync.Mutex
		var infos []string
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				mu.Lock()
				defer mu.Unlock()
				infos = append(infos, fmt.Sprintf("%d %q", code, h["Link"]))
				return nil
			},
		})
		req, _ := http.NewRequestWithContext(ctx, "GET", e.url("/"), nil)
		resp, body := e.do(t, req)
		want := []string{
			`103 ["</style.css>; rel=preload; as=style"]`,
			`103 ["</style.css>; rel=preload; as=style" "</app.js>; rel=preload; as=script"]`,
		}
		mu.Lock()
		if !slices.Equal(infos, want) {
			t.Errorf("1xx responses: got %q, want %q", infos, want)
		}
		mu.Unlock()
		if resp.StatusCode != 200 || string(body) != "<html></html>" || resp.Header["Link"] != nil {
			t.Errorf("final response: %d %q, Link %q", resp.StatusCode, body, resp.Header["Link"])
		}
		x := e.col.next(t)
		var rec []string
		for _, in := range x.Response.Informational {
			rec = append(rec, fmt.Sprintf("%d %q", in.Status, in.Header["Link"]))
		}
		if !slices.Equal(rec, want) || x.Response.Status != 200 {
			t.Errorf("recorded: status %d, 1xx %q; want 200, %q", x.Response.Status, rec, want)
		}
	})
}

// TestTrailers checks that the upstream's trailers, declared and
// undeclared, reach the client and the record.
func TestTrailers(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Checksum")
			io.WriteString(w, "part one, ")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part two")
			w.Header().Set("X-Checksum", "abc123")
			w.Header().Set(http.TrailerPrefix+"X-Late", "late value")
		}), false)
		e := newEnv(t, up.URL, m, nil)
		resp, body := e.get(t, "/", nil)
		if string(body) != "part one, part two" {
			t.Errorf("body: got %q", body)
		}
		want := http.Header{"X-Checksum": {"abc123"}, "X-Late": {"late value"}}
		if fmt.Sprint(resp.Trailer) != fmt.Sprint(want) {
			t.Errorf("client trailers: got %v, want %v", resp.Trailer, want)
		}
		x := e.col.next(t)
		if fmt.Sprint(x.Response.Trailer) != fmt.Sprint(want) {
			t.Errorf("recorded trailers: got %v, want %v", x.Response.Trailer, want)
		}
	})
}

// TestWebSocket checks a protocol switch through the proxy: the 101 reaches
// the client, then bytes flow both ways, the upstream speaking first and
// answering each message. The exchange is recorded as an upgrade.
func TestWebSocket(t *testing.T) {
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" || r.Header.Get("Connection") != "Upgrade" {
			http.Error(w, "not an upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-Websocket-Accept: test\r\n\r\n")
		brw.WriteString("hello from upstream\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo: " + strings.ToUpper(line))
			brw.Flush()
		}
	}), false)
	e := newEnv(t, up.URL, h1, nil)

	conn := e.dial(t)
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", e.srv.Listener.Addr())
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "websocket" || resp.Header.Get("Sec-Websocket-Accept") != "test" {
		t.Fatalf("response: %d %v, want 101 with the upstream's headers", resp.StatusCode, resp.Header)
	}
	readLine := func() string {
		t.Helper()
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return line
	}
	if got := readLine(); got != "hello from upstream\n" {
		t.Errorf("first message: got %q", got)
	}
	for _, msg := range []string{"ping\n", "second message\n"} {
		io.WriteString(conn, msg)
		if got, want := readLine(), "echo: "+strings.ToUpper(msg); got != want {
			t.Errorf("echo: got %q, want %q", got, want)
		}
	}
	conn.Close()

	x := e.col.next(t)
	if x.Response.Status != http.StatusSwitchingProtocols || !x.Hijacked || !errors.Is(x.Err, bodytap.ErrHijacked) {
		t.Errorf("recorded: status %d, Hijacked %t, Err %v; want 101, true, %v", x.Response.Status, x.Hijacked, x.Err, bodytap.ErrHijacked)
	}
	if x.Route != "" {
		t.Errorf("Route: got %q, want empty", x.Route)
	}
}

// TestFullDuplex sends 50 concurrent HTTP/1.1 uploads to an upstream that
// sends its response headers before it reads the request body, then echoes
// the body. Each client sends the second half of its body only once it has
// the response headers: without full duplex, the proxy's server would
// wait for the whole body before sending any response, and every request
// would hang; with it, all 50 echoes come back whole.
func TestFullDuplex(t *testing.T) {
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		buf := make([]byte, 1024)
		for {
			n, err := r.Body.Read(buf)
			w.Write(buf[:n])
			w.(http.Flusher).Flush()
			if err != nil {
				return
			}
		}
	}), false)
	e := newEnv(t, up.URL, h1, nil)
	const n, size = 50, 10 << 10
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			body := pattern(size, byte(i))
			pr, pw := io.Pipe()
			req, _ := http.NewRequestWithContext(ctx, "POST", e.url(fmt.Sprintf("/echo/%d", i)), pr)
			req.ContentLength = size
			gotHeaders := make(chan struct{})
			go func() {
				pw.Write(body[:size/2])
				// The rest goes once the response headers are here.
				select {
				case <-gotHeaders:
					pw.Write(body[size/2:])
					pw.Close()
				case <-ctx.Done():
					pw.CloseWithError(ctx.Err())
				}
			}()
			resp, err := e.client.Do(req)
			close(gotHeaders)
			if err != nil {
				errs <- fmt.Errorf("request %d: %v", i, err)
				pw.CloseWithError(err)
				return
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				errs <- fmt.Errorf("request %d: echo of %d bytes (err %v), want the %d sent", i, len(got), err, size)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for range n {
		x := e.col.next(t)
		if x.Request.Body.Size != size || x.Response.Body.Size != size || x.Err != nil {
			t.Errorf("recorded: request %d bytes, response %d bytes, Err %v; want %d, %d, nil", x.Request.Body.Size, x.Response.Body.Size, x.Err, size, size)
		}
	}
}

// TestLargeUpload streams a 64 MiB request body through the proxy, with a
// Content-Length and chunked: the upstream gets every byte, in order.
func TestLargeUpload(t *testing.T) {
	size := int64(64 << 20)
	if testing.Short() || testutil.RaceEnabled {
		size = 16 << 20
	}
	var wantSum [32]byte
	{
		h := sha256.New()
		io.Copy(h, newPatternReader(size))
		copy(wantSum[:], h.Sum(nil))
	}
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		fmt.Fprintf(w, "%d %x %v", n, h.Sum(nil), err)
	}), false)
	forEachMode(t, func(t *testing.T, m mode) {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("chunked=%t", chunked), func(t *testing.T) {
				e := newEnv(t, up.URL, m, nil)
				var body io.Reader = newPatternReader(size)
				req, _ := http.NewRequest("PUT", e.url("/upload"), body)
				req.ContentLength = size
				if chunked {
					req.ContentLength = -1
				}
				_, got := e.do(t, req)
				if want := fmt.Sprintf("%d %x <nil>", size, wantSum); string(got) != want {
					t.Errorf("upstream got %q, want %q", got, want)
				}
				x := e.col.next(t)
				if x.Request.Body.Size != size || !x.Request.Body.EOF || int64(len(x.Request.Body.Bytes)) != bodytap.DefaultMaxBodyBytes {
					t.Errorf("recorded request body: size %d, EOF %t, kept %d", x.Request.Body.Size, x.Request.Body.EOF, len(x.Request.Body.Bytes))
				}
			})
		}
	}, h1, h2)
}

// TestExpectContinue forwards a request with "Expect: 100-continue": the
// upstream's 100 Continue brings the body from the client.
func TestExpectContinue(t *testing.T) {
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %q", b)
	}), false)
	e := newEnv(t, up.URL, h1, nil)
	e.client.Transport.(*http.Transport).ExpectContinueTimeout = 10 * time.Second
	req, _ := http.NewRequest("POST", e.url("/"), strings.NewReader("the body"))
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	_, body := e.do(t, req)
	if string(body) != `got "the body"` {
		t.Errorf("body: got %q", body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: the 100 Continue did not come through", d)
	}
}

// TestClientGoneCancelsUpstream checks that when a client goes away
// mid-response, the upstream's request ends at once (its context is
// cancelled) instead of being drained, that the exchange is recorded as
// the client going away, and that nothing is logged as a warning.
func TestClientGoneCancelsUpstream(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		ended := make(chan time.Time, 1)
		up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() { ended <- time.Now() }()
			chunk := bytes.Repeat([]byte("x"), 1024)
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}), false)
		e := newEnv(t, up.URL, m, nil)
		resp, err := e.client.Get(e.url("/forever"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 10<<10)); err != nil {
			t.Fatal(err)
		}
		gone := time.Now()
		resp.Body.Close()
		e.client.CloseIdleConnections()
		select {
		case at := <-ended:
			if d := at.Sub(gone); d > 2*time.Second {
				t.Errorf("upstream request ended %v after the client went away, want under 2s", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("upstream request still running 5s after the client went away")
		}
		e.checkClientGone(t, 200)
	})
}

// TestClientGoneBeforeResponse: a client that goes away while the upstream
// has not answered yet gets no 502, causes no warning, and is recorded as
// gone, with no status.
func TestClientGoneBeforeResponse(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		arrived := make(chan struct{}, 1)
		ended := make(chan struct{}, 1)
		up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			ended <- struct{}{}
		}), false)
		e := newEnv(t, up.URL, m, nil)
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", e.url("/slow"), nil)
		go func() {
			<-arrived
			cancel()
		}()
		if _, err := e.client.Do(req); !errors.Is(err, context.Canceled) {
			t.Fatalf("Do: got %v, want context.Canceled", err)
		}
		select {
		case <-ended:
		case <-time.After(5 * time.Second):
			t.Fatal("upstream request not cancelled")
		}
		e.checkClientGone(t, 0)
	})
}

// TestRequestTrailers checks that the trailers a client sends after its
// request body reach the upstream with their values.
func TestRequestTrailers(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %v", b, r.Trailer)
		}), false)
		e := newEnv(t, up.URL, m, nil)
		req, _ := http.NewRequest("POST", e.url("/"), io.MultiReader(strings.NewReader("body")))
		req.Trailer = http.Header{"X-Checksum": {"c0ffee"}}
		_, body := e.do(t, req)
		if want := "body map[X-Checksum:[c0ffee]]"; string(body) != want {
			t.Errorf("upstream saw %q, want %q", body, want)
		}
	})
}

// TestHeadersBeforeSlowBody: the headers of a response of known length
// whose body the upstream holds back reach the client without waiting
// for the body (the proxy sends them with the first bytes when those
// come at once, and alone after headerDelay otherwise).
func TestHeadersBeforeSlowBody(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "hello")
	}), false)
	defer close(release)
	e := newEnv(t, up.URL, h1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url("/slow"), nil)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("headers did not arrive while the body was held back: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 5 {
		t.Errorf("got status %d, length %d; want 200, 5", resp.StatusCode, resp.ContentLength)
	}
}

// TestSlowBodyOfKnownLength: a body of known length that the upstream
// sends in parts reaches the client part by part, as an event stream or
// a body of unknown length does.
func TestSlowBodyOfKnownLength(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		release := make(chan struct{})
		var once sync.Once
		rel := func() { once.Do(func() { close(release) }) }
		t.Cleanup(rel)
		up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "after")
		}), false)
		e := newEnv(t, up.URL, m, nil)
		// Should the proxy hold the first part back, the upstream sends
		// the rest after a while, which lets the test end.
		late := time.AfterFunc(5*time.Second, rel)
		defer late.Stop()
		resp, err := e.client.Get(e.url("/parts"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		p := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, p); err != nil || string(p) != "first" {
			t.Fatalf("first part: got %q, %v; want %q", p, err, "first")
		}
		select {
		case <-release:
			t.Fatal("the first part did not reach the client before the upstream sent the rest")
		default:
		}
		rel()
		rest, err := io.ReadAll(resp.Body)
		if err != nil || string(rest) != "after" {
			t.Errorf("rest of the body: got %q, %v; want %q", rest, err, "after")
		}
	})
}

// TestUnreadBodyEndsConnection checks what happens to an HTTP/1.1
// connection whose request body is still coming when the upstream has
// answered without reading it. The proxy's transport is then waiting for
// the client's next bytes of the body when the response is over; the
// server must not take what the client sends next for a new request (it
// answered it 400 and closed at once, resetting a client still sending):
// it must end the connection, after the response, as a server that did
// not read a body does.
func TestUnreadBodyEndsConnection(t *testing.T) {
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answer before the body is in, without reading it.
		http.NewResponseController(w).EnableFullDuplex()
		w.WriteHeader(http.StatusTeapot)
	}), false)
	e := newEnv(t, up.URL, h1, nil)
	// Behind middleware whose ResponseWriter unwraps to the server's,
	// the proxy reaches the server all the same.
	wrapped := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.p.ServeHTTP(unwrapper{w}, r)
	}))
	t.Cleanup(wrapped.Close)
	for _, tc := range []struct {
		name string
		addr string
	}{
		{"direct", e.srv.Listener.Addr().String()},
		{"middleware", wrapped.Listener.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, tc.addr)
			chunk := fmt.Sprintf("%x\r\n%s\r\n", 1000, bytes.Repeat([]byte("a"), 1000))
			if _, err := io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+chunk); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusTeapot {
				t.Fatalf("status: got %d, want %d", resp.StatusCode, http.StatusTeapot)
			}
			// The transport is most likely waiting for more of the
			// body. The client sends the rest and is done.
			if _, err := io.WriteString(c, chunk+"0\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			c.CloseWrite()
			rest, err := io.ReadAll(br)
			if len(rest) > 0 || err != nil {
				t.Errorf("after the response: got %q (err %v), want the end of the connection", rest, err)
			}
			// How much of the body the transport read before the
			// response was over is timing: the first chunk or both.
			x := e.col.next(t)
			if n := x.Request.Body.Size; x.Response.Status != http.StatusTeapot || n != 1000 && n != 2000 {
				t.Errorf("recorded: status %d, request body %d bytes; want %d, 1000 or 2000", x.Response.Status, n, http.StatusTeapot)
			}
		})
	}
}

// unwrapper is a middleware's ResponseWriter: it hides every optional
// interface of the one it wraps but lets http.ResponseController reach it.
type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }
