package testutil

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

// controllerResult is what http.ResponseController's deadline and full
// duplex methods returned in a handler, and whether a write after a write
// deadline in the past failed.
type controllerResult struct {
	readDeadline, writeDeadline, fullDuplex string
	writeFailed                             bool
}

func errString(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, http.ErrNotSupported):
		return "ErrNotSupported"
	}
	return err.Error()
}

// controllerHandler uses http.NewResponseController on its writer and
// sends what it saw on ch. It flushes after its first write, which makes a
// buffering middleware fall back.
func controllerHandler(ch chan<- controllerResult) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		var res controllerResult
		res.readDeadline = errString(rc.SetReadDeadline(time.Now().Add(time.Minute)))
		res.writeDeadline = errString(rc.SetWriteDeadline(time.Now().Add(time.Minute)))
		res.fullDuplex = errString(rc.EnableFullDuplex())
		rc.SetWriteDeadline(time.Now().Add(-time.Second))
		chunk := make([]byte, 64<<10)
		for range 64 {
			if _, err := w.Write(chunk); err != nil {
				res.writeFailed = true
				break
			}
			if err := rc.Flush(); err != nil {
				res.writeFailed = true
				break
			}
		}
		ch <- res
	})
}

// runController serves one request with h, which is or wraps a
// controllerHandler sending on ch, on a real loopback server and returns
// what the handler saw.
func runController(tb testing.TB, h http.Handler, ch <-chan controllerResult, h2 bool) controllerResult {
	tb.Helper()
	srv, client := NewServer(tb, h, h2)
	resp, err := client.Get(srv.URL)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	select {
	case res := <-ch:
		return res
	case <-time.After(10 * time.Second):
		tb.Fatal("handler did not finish within 10s")
		return controllerResult{}
	}
}

// CheckController runs a controllerHandler bare and wrapped by mw over
// HTTP/1.1 or HTTP/2 (h2): deadlines and full duplex must reach the
// server's writer through Unwrap with the results they have without mw.
func CheckController(t *testing.T, mw func(http.Handler) http.Handler, h2 bool) {
	t.Helper()
	ch := make(chan controllerResult, 1)
	bare := runController(t, controllerHandler(ch), ch, h2)
	got := runController(t, mw(controllerHandler(ch)), ch, h2)
	if got != bare {
		t.Errorf("through the middleware: got %+v, want %+v as without it", got, bare)
	}
	if got.readDeadline != "nil" || got.writeDeadline != "nil" {
		t.Errorf("deadlines: got %+v, want nil errors", got)
	}
	if !got.writeFailed {
		t.Error("writes went on after a write deadline in the past")
	}
	if !h2 && got.fullDuplex != "nil" {
		t.Errorf("EnableFullDuplex on HTTP/1.1: got %s, want nil", got.fullDuplex)
	}
	t.Logf("%+v", got)
}
