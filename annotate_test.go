package bodytap

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// unwrapper is a middleware's writer that unwraps to the one it wraps.
type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// opaque is a middleware's writer that hides the one it wraps.
type opaque struct{ http.ResponseWriter }

func TestAnnotate(t *testing.T) {
	errDenied := errors.New("denied by policy")
	sink := newCollector()
	tap := New(Config{Sink: sink})
	defer tap.Close()
	var order []string
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := Annotate(w, func(x *Exchange) {
			order = append(order, "first")
			if x.Response.Status != http.StatusForbidden || string(x.Response.Body.Bytes) != "no" {
				t.Errorf("fn saw status %d body %q, want the finished record", x.Response.Status, x.Response.Body.Bytes)
			}
			x.Err = errDenied
			// Added before redaction: it must be redacted like any other.
			x.Response.Header.Set("Authorization", "Bearer s3cret")
		})
		if !ok {
			t.Error("Annotate on the Tap's writer returned false")
		}
		// Through a middleware's writer that unwraps.
		if !Annotate(unwrapper{w}, func(*Exchange) { order = append(order, "second") }) {
			t.Error("Annotate through an Unwrap returned false")
		}
		// Not through one that does not.
		if Annotate(opaque{w}, func(*Exchange) { order = append(order, "never") }) {
			t.Error("Annotate through an opaque writer returned true")
		}
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "no")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	x := sink.next(t)
	if !errors.Is(x.Err, errDenied) {
		t.Errorf("Err = %v, want the annotation's", x.Err)
	}
	if got := strings.Join(order, ","); got != "first,second" {
		t.Errorf("functions ran as %q, want first,second", got)
	}
	if v := x.Response.Header.Get("Authorization"); v != DefaultReplacement {
		t.Errorf("header added by the annotation = %q, want it redacted", v)
	}
	if resp.Header.Get("Authorization") != "" {
		t.Error("the annotation reached the client")
	}
	if x.notes != nil {
		t.Error("notes left on the delivered exchange")
	}
}

func TestAnnotateNotCaptured(t *testing.T) {
	rec := httptest.NewRecorder()
	if Annotate(rec, func(*Exchange) {}) {
		t.Error("Annotate without a Tap returned true")
	}
	if Annotate(nil, func(*Exchange) {}) {
		t.Error("Annotate(nil) returned true")
	}

	tap := New(Config{Skip: func(*http.Request) bool { return true }})
	defer tap.Close()
	tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Annotate(w, func(*Exchange) {}) {
			t.Error("Annotate on a skipped request returned true")
		}
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
}

func TestAnnotateAfterReturn(t *testing.T) {
	sink := newCollector()
	tap := New(Config{Sink: sink})
	defer tap.Close()
	var kept http.ResponseWriter
	tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kept = w
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if Annotate(kept, func(x *Exchange) { t.Error("a late annotation ran") }) {
		t.Error("Annotate after the handler returned reported true")
	}
	sink.next(t)
}

func TestAnnotatePanics(t *testing.T) {
	sink := newCollector()
	tap := New(Config{Sink: sink})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Annotate(w, func(*Exchange) { panic("annotation bug") })
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	tap.Close()
	st := tap.Stats()
	if st.SinkPanics != 1 || st.Delivered != 0 || len(sink.xs) != 0 {
		t.Errorf("stats %+v, %d recorded: want the exchange dropped and one panic counted", st, len(sink.xs))
	}
}

func ExampleAnnotate() {
	tap := New(Config{Sink: SinkFunc(func(x *Exchange) {
		fmt.Println(x.Response.Status, x.Err)
	})})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := errors.New("quota exceeded for tenant 42")
		// The Tap sees only a 429; the handler knows why.
		Annotate(w, func(x *Exchange) { x.Err = err })
		http.Error(w, "try again later", http.StatusTooManyRequests)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	tap.Close()
	// Output: 429 quota exceeded for tenant 42
}
