package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the writes to a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestSmallBodyOneWrite checks that a request with a small body of known
// length goes to the upstream in one write, headers and body together,
// and a larger one, one of unknown length, or one whose client waits for
// 100 Continue as before; and that each arrives whole and is recorded.
func TestSmallBodyOneWrite(t *testing.T) {
	ch := make(chan seen, 1)
	up := newUpstream(t, recordingUpstream(ch, nil), false)
	u, _ := url.Parse(up.URL)
	var writes atomic.Int64
	tr := NewTransport(u, false)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, &writes}, nil
	}
	e := newEnv(t, up.URL, h1, func(c *Config) { c.Transport = tr })
	for _, tc := range []struct {
		name    string
		size    int
		chunked bool
		expect  bool
		one     bool // in one write
	}{
		{"1KiB", 1 << 10, false, false, true},
		{"smallBody", smallBody, false, false, true},
		{"larger", smallBody + 1, false, false, false},
		{"chunked", 1 << 10, true, false, false},
		{"expect", 1 << 10, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := pattern(tc.size, 3)
			var r io.Reader = bytes.NewReader(body)
			if tc.chunked {
				r = io.MultiReader(r) // hides the length
			}
			req, _ := http.NewRequest("POST", e.url("/small"), r)
			if tc.expect {
				req.Header.Set("Expect", "100-continue")
			}
			// Let the previous exchange's writes finish before counting.
			time.Sleep(10 * time.Millisecond)
			before := writes.Load()
			resp, _ := e.do(t, req)
			got := <-ch
			if n := writes.Load() - before; (n == 1) != tc.one {
				t.Errorf("writes to the upstream: got %d, want one: %t", n, tc.one)
			}
			if resp.StatusCode != 200 || !bytes.Equal(got.body, body) {
				t.Errorf("status %d, upstream got %d bytes; want 200 and the %d sent", resp.StatusCode, len(got.body), len(body))
			}
			x := e.col.next(t)
			if x.Request.Body.Size != int64(len(body)) || !x.Request.Body.EOF || !bytes.Equal(x.Request.Body.Bytes, body) {
				t.Errorf("recorded request body: size %d, EOF %t; want %d bytes read to the end", x.Request.Body.Size, x.Request.Body.EOF, len(body))
			}
		})
	}
}

// TestSmallBodyShort sends a body shorter than its Content-Length and
// goes away: the upstream must not get a request with a short body, and
// the exchange is recorded with the bytes that came.
func TestSmallBodyShort(t *testing.T) {
	called := make(chan struct{}, 1)
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called <- struct{}{}
		io.Copy(io.Discard, r.Body)
	}), false)
	e := newEnv(t, up.URL, h1, nil)
	c := e.dial(t)
	fmt.Fprintf(c, "POST /short HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n%s", strings.Repeat("a", 10))
	c.CloseWrite()
	io.Copy(io.Discard, c)
	x := e.col.next(t)
	if x.Request.Body.Size != 10 || x.Request.Body.EOF || x.Err == nil {
		t.Errorf("recorded: request body size %d, EOF %t, Err %v; want 10 bytes, not to the end, an error", x.Request.Body.Size, x.Request.Body.EOF, x.Err)
	}
	select {
	case <-called:
		t.Error("the upstream got a request whose body was cut short")
	default:
	}
}
