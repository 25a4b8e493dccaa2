package wrap_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bodytap/bodytap/internal/wrap"
	"github.com/bodytap/bodytap/internal/wrap/wraptest"
)

// passCore forwards everything to w.
type passCore struct{ w http.ResponseWriter }

func (c *passCore) Header() http.Header         { return c.w.Header() }
func (c *passCore) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *passCore) WriteHeader(code int)        { c.w.WriteHeader(code) }
func (c *passCore) Unwrap() http.ResponseWriter { return c.w }
func (c *passCore) Flush()                      { c.w.(http.Flusher).Flush() }
func (c *passCore) FlushError() error           { return c.w.(interface{ FlushError() error }).FlushError() }
func (c *passCore) CloseNotify() <-chan bool {
	return c.w.(interface{ CloseNotify() <-chan bool }).CloseNotify()
}
func (c *passCore) Hijack() (net.Conn, *bufio.ReadWriter, error) { return c.w.(http.Hijacker).Hijack() }
func (c *passCore) ReadFrom(src io.Reader) (int64, error)        { return c.w.(io.ReaderFrom).ReadFrom(src) }
func (c *passCore) Push(target string, opts *http.PushOptions) error {
	return c.w.(http.Pusher).Push(target, opts)
}
func (c *passCore) WriteString(s string) (int, error) { return c.w.(io.StringWriter).WriteString(s) }

var _ wrap.Core = (*passCore)(nil)

// request is what a middleware keeps per request, State inside.
type request struct {
	passCore
	s wrap.State
}

func TestNewDoesNotAllocate(t *testing.T) {
	under := httptest.NewRecorder()
	r := &request{}
	var w http.ResponseWriter
	n := testing.AllocsPerRun(100, func() {
		r.passCore.w = under
		w = wrap.New(&r.s, &r.passCore, under)
	})
	if n != 0 {
		t.Errorf("New: %v allocations, want 0", n)
	}
	if _, ok := w.(http.Flusher); !ok {
		t.Error("writer over a ResponseRecorder is not an http.Flusher")
	}
}

func TestCoreOfOther(t *testing.T) {
	if c, ok := wrap.CoreOf(httptest.NewRecorder()); ok || c != nil {
		t.Errorf("CoreOf(ResponseRecorder) = %v, %v; want nil, false", c, ok)
	}
}

// TestCheckCatches: wraptest.Check reports a writer that hides an
// interface, one that adds one, and one that does not unwrap.
func TestCheckCatches(t *testing.T) {
	const all = wraptest.Combinations - 1
	under, calls := wraptest.New(all)
	if err := wraptest.Check(struct{ http.ResponseWriter }{under}, under, all, calls); err == nil {
		t.Error("Check accepted a writer with no optional interface for the full mask")
	}
	if err := wraptest.Check(under, under, 0, calls); err == nil {
		t.Error("Check accepted a writer with every interface for mask 0")
	}
	var s wrap.State
	w := wrap.New(&s, &passCore{w: wrap.Detached{}}, under)
	if err := wraptest.Check(w, under, all, calls); err == nil {
		t.Error("Check accepted a writer that neither forwards nor unwraps to under")
	}
}

func TestDetached(t *testing.T) {
	var d wrap.Detached
	if _, err := d.Write([]byte("x")); !errors.Is(err, wrap.ErrDetached) {
		t.Errorf("Write: got %v, want ErrDetached", err)
	}
}

// detachedCore is a Core that fails every write.
type detachedCore struct{ wrap.Detached }

func (detachedCore) Unwrap() http.ResponseWriter { return wrap.Detached{} }

// TestSetCore: a writer whose core is swapped keeps its type, and so its
// interfaces, and forwards to the new core only.
func TestSetCore(t *testing.T) {
	var s wrap.State
	rec := httptest.NewRecorder()
	w := wrap.New(&s, &passCore{rec}, rec)
	s.SetCore(detachedCore{})
	if _, ok := w.(http.Flusher); !ok {
		t.Error("the writer lost http.Flusher")
	}
	if n, err := w.Write([]byte("late")); n != 0 || err != wrap.ErrDetached {
		t.Errorf("Write after SetCore: %d, %v; want 0, %v", n, err, wrap.ErrDetached)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("the first core got %q", rec.Body)
	}
}

// TestNewRemembersTypes: New remembers the interfaces of the first
// writer types it sees; a writer of the same type again, or of any type
// past those, still gets exactly its own interfaces.
func TestNewRemembersTypes(t *testing.T) {
	has := []func(w http.ResponseWriter) bool{
		func(w http.ResponseWriter) bool { _, ok := w.(http.Flusher); return ok },
		func(w http.ResponseWriter) bool { _, ok := w.(interface{ FlushError() error }); return ok },
		func(w http.ResponseWriter) bool { _, ok := w.(interface{ CloseNotify() <-chan bool }); return ok },
		func(w http.ResponseWriter) bool { _, ok := w.(http.Hijacker); return ok },
		func(w http.ResponseWriter) bool { _, ok := w.(io.ReaderFrom); return ok },
		func(w http.ResponseWriter) bool { _, ok := w.(http.Pusher); return ok },
		func(w http.ResponseWriter) bool { _, ok := w.(io.StringWriter); return ok },
	}
	for round := range 3 {
		for _, mask := range []uint{0x7f, 0x00, 0x11, 0x5a, 0x23, 0x7f, 0x00, 0x40, 0x11} {
			under, _ := wraptest.New(mask)
			var s wrap.State
			w := wrap.New(&s, &passCore{w: under}, under)
			for i, f := range has {
				if got, want := f(w), mask&(1<<i) != 0; got != want {
					t.Errorf("round %d, mask %#02x: interface %d is %v, want %v", round, mask, i, got, want)
				}
			}
		}
	}
}
