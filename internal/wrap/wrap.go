package wrap

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"unsafe"
)

// Core is what a wrapper forwards to: the middleware's per-request state.
// Its methods are called only when the wrapped writer has the matching
// interface, so they may assert it without checking. Unwrap should return
// the wrapped writer while the handler runs.
type Core interface {
	Header() http.Header
	Write(p []byte) (int, error)
	WriteHeader(code int)
	Unwrap() http.ResponseWriter

	Flush()
	FlushError() error
	CloseNotify() <-chan bool
	Hijack() (net.Conn, *bufio.ReadWriter, error)
	ReadFrom(src io.Reader) (int64, error)
	Push(target string, opts *http.PushOptions) error
	WriteString(s string) (int, error)
}

// State is the memory a wrapper lives in. A middleware keeps one by value
// in its per-request struct and passes a pointer to [New]; the zero value
// is ready for New.
type State struct{ base }

// base holds what every combination has; embedding it in State promotes
// its methods to each generated type.
type base struct{ core Core }

func (b *base) Header() http.Header         { return b.core.Header() }
func (b *base) Write(p []byte) (int, error) { return b.core.Write(p) }
func (b *base) WriteHeader(code int)        { b.core.WriteHeader(code) }

// Unwrap returns the wrapped writer, as the Core says, for
// http.ResponseController.
func (b *base) Unwrap() http.ResponseWriter { return b.core.Unwrap() }

func (b *base) wrapCore() Core { return b.core }

// New returns the writer for core over w, living in s: it implements
// exactly the optional interfaces that w implements, forwards every method
// to core, and unwraps to core.Unwrap(). It does not allocate.
func New(s *State, core Core, w http.ResponseWriter) http.ResponseWriter {
	s.core = core
	return combine(s, maskOf(w))
}

// masks remembers the masks of the first writer types [New] sees: a
// server hands every request a writer of the same type or two, and the
// seven type assertions of mask cost more than the rest of New. The
// entries are set once and never replaced, so that a process that sees
// many types allocates no more than four of them.
var masks [4]atomic.Pointer[typeMask]

// A typeMask is the mask of the writers whose dynamic type has the
// interface table tab (see typeKey).
type typeMask struct {
	tab unsafe.Pointer
	m   uint
}

// typeKey identifies the dynamic type of w: the first word of a
// non-empty interface value points to the table of its methods for that
// type, one per (interface, type) pair. Comparing it costs a load, where
// comparing reflect.Types (interface values themselves) is a call to the
// runtime, about as costly as the rest of maskOf.
func typeKey(w http.ResponseWriter) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&w))[0]
}

// maskOf is mask(w), remembered for w's type.
func maskOf(w http.ResponseWriter) uint {
	tab := typeKey(w)
	for i := range masks {
		e := masks[i].Load()
		if e == nil {
			m := mask(w)
			masks[i].CompareAndSwap(nil, &typeMask{tab, m})
			return m
		}
		if e.tab == tab {
			return e.m
		}
	}
	return mask(w)
}

// SetCore makes the writer that [New] made in s forward to core from now
// on: the writer keeps its type, and so its interfaces, and nothing is
// looked up again. A middleware swaps in a stand-in this way once the
// handler has returned.
func (s *State) SetCore(core Core) { s.core = core }

// CoreOf returns the Core of w, if w is a writer made by [New].
func CoreOf(w http.ResponseWriter) (Core, bool) {
	if x, ok := w.(interface{ wrapCore() Core }); ok {
		return x.wrapCore(), true
	}
	return nil, false
}

// ErrDetached is what a handler gets for using its ResponseWriter after it
// returned, which net/http forbids.
var ErrDetached = errors.New("bodytap: ResponseWriter used after the handler returned")

// Detached stands in for the wrapped writer once the handler has
// returned: a middleware swaps it in so that late use of the writer (a
// bug in the handler) fails instead of touching the response.
type Detached struct{}

func (Detached) Header() http.Header                          { return http.Header{} }
func (Detached) Write([]byte) (int, error)                    { return 0, ErrDetached }
func (Detached) WriteHeader(int)                              {}
func (Detached) Flush()                                       {}
func (Detached) FlushError() error                            { return ErrDetached }
func (Detached) CloseNotify() <-chan bool                     { return make(chan bool) }
func (Detached) Hijack() (net.Conn, *bufio.ReadWriter, error) { return nil, nil, ErrDetached }
func (Detached) ReadFrom(io.Reader) (int64, error)            { return 0, ErrDetached }
func (Detached) Push(string, *http.PushOptions) error         { return ErrDetached }
func (Detached) WriteString(string) (int, error)              { return 0, ErrDetached }
