package bodytap

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
// record.
func TestLateUseTouchesNoOtherRequest(t *testing.T) {
	col := newCollector()
	tap := New(Config{Sink: col})
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
