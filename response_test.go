package bodytap

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
// sends what it saw on ch.
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

// runController serves one request with h on a real loopback server and
// returns what the handler saw.
func runController(t *testing.T, h http.Handler, ch <-chan controllerResult, h2 bool) controllerResult {
	t.Helper()
	srv, client := newServer(t, h, h2)
	resp, err := client.Get(srv.URL)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	select {
	case res := <-ch:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not finish within 10s")
		return controllerResult{}
	}
}

// TestTapResponseController: SetReadDeadline, SetWriteDeadline and
// EnableFullDuplex reach the server's writer through Unwrap, with the
// results they have without the Tap, over HTTP/1.1 and HTTP/2.
func TestTapResponseController(t *testing.T) {
	for _, p := range protos {
		t.Run(p.name, func(t *testing.T) {
			ch := make(chan controllerResult, 1)
			bare := runController(t, controllerHandler(ch), ch, p.h2)
			tap := New(Config{})
			defer tap.Close()
			got := runController(t, tap.Handler(controllerHandler(ch)), ch, p.h2)
			if got != bare {
				t.Errorf("through the Tap: got %+v, want %+v as without it", got, bare)
			}
			if got.readDeadline != "nil" || got.writeDeadline != "nil" {
				t.Errorf("deadlines: got %+v, want nil errors", got)
			}
			if !got.writeFailed {
				t.Error("writes went on after a write deadline in the past")
			}
			if !p.h2 && got.fullDuplex != "nil" {
				t.Errorf("EnableFullDuplex on HTTP/1.1: got %s, want nil", got.fullDuplex)
			}
			t.Logf("%+v", got)
		})
	}
}
