// Package wraptest provides fake http.ResponseWriters with any combination
// of the optional interfaces that package wrap preserves, and a check that
// a middleware's writer over one of them has the same interfaces, forwards
// each to it, and unwraps to it.
//
// A middleware's test loops over every combination:
//
//	for mask := range uint(wraptest.Combinations) {
//		under, calls := wraptest.New(mask)
//		w := ... // the middleware's writer over under
//		if err := wraptest.Check(w, under, mask, calls); err != nil {
//			t.Error(err)
//		}
//	}
package wraptest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
)

// An Iface is one optional interface; bit i of a mask stands for Ifaces[i].
type Iface struct {
	Name   string // as documented, such as "http.Flusher"
	Method string // its one method, as recorded in Calls

	implements func(http.ResponseWriter) bool
	call       func(http.ResponseWriter)
}

// Implements reports whether w has the interface.
func (i Iface) Implements(w http.ResponseWriter) bool { return i.implements(w) }

// Call calls the method on w, which must implement the interface, with
// harmless arguments.
func (i Iface) Call(w http.ResponseWriter) { i.call(w) }

// Calls records the names of the methods called on a fake writer, in order.
type Calls struct{ names []string }

// Names returns the methods called since the last Reset.
func (c *Calls) Names() []string { return slices.Clone(c.names) }

// Has reports whether method was called since the last Reset.
func (c *Calls) Has(method string) bool { return slices.Contains(c.names, method) }

// Reset forgets the calls so far.
func (c *Calls) Reset() { c.names = c.names[:0] }

func (c *Calls) add(method string) { c.names = append(c.names, method) }

// fake is the state of a fake writer; the generated types, one per mask,
// are named types over it.
type fake struct{ base }

type base struct {
	h     http.Header
	calls Calls
}

func (f *base) Header() http.Header { return f.h }

func (f *base) Write(p []byte) (int, error) {
	f.calls.add("Write")
	return len(p), nil
}

func (f *base) WriteHeader(int) { f.calls.add("WriteHeader") }

func (f *base) flush() { f.calls.add("Flush") }

func (f *base) flushError() error {
	f.calls.add("FlushError")
	return nil
}

func (f *base) closeNotify() <-chan bool {
	f.calls.add("CloseNotify")
	return make(chan bool)
}

func (f *base) hijack() (net.Conn, *bufio.ReadWriter, error) {
	f.calls.add("Hijack")
	return nil, nil, nil
}

func (f *base) readFrom(src io.Reader) (int64, error) {
	f.calls.add("ReadFrom")
	return io.Copy(io.Discard, src)
}

func (f *base) push(string, *http.PushOptions) error {
	f.calls.add("Push")
	return nil
}

func (f *base) writeString(s string) (int, error) {
	f.calls.add("WriteString")
	return len(s), nil
}

// New returns a fake writer that implements the optional interfaces in
// mask (bit i for Ifaces[i]) and no others, and the record of the calls
// that reach it. Every method succeeds; Hijack returns a nil connection.
func New(mask uint) (http.ResponseWriter, *Calls) {
	if mask >= Combinations {
		panic(fmt.Sprintf("wraptest: mask %#x out of range", mask))
	}
	f := &fake{base{h: http.Header{}}}
	return combine(f, mask), &f.calls
}

// Check reports how w, a middleware's writer over under (made by New with
// mask and recording into calls), differs from what it should be: it must
// implement exactly the optional interfaces in mask, each method must
// reach under, and Unwrap must return under. It calls every optional
// method of w once. The error is nil if there is nothing to report.
func Check(w, under http.ResponseWriter, mask uint, calls *Calls) error {
	var errs []error
	for bit, i := range Ifaces {
		want := mask&(1<<bit) != 0
		got := i.Implements(w)
		if got != want {
			errs = append(errs, fmt.Errorf("mask %#02x: implements %s = %v, want %v", mask, i.Name, got, want))
			continue
		}
		if !got {
			continue
		}
		calls.Reset()
		i.Call(w)
		if !calls.Has(i.Method) {
			errs = append(errs, fmt.Errorf("mask %#02x: %s did not reach the wrapped writer (calls %q)", mask, i.Method, calls.Names()))
		}
	}
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); !ok {
		errs = append(errs, fmt.Errorf("mask %#02x: no Unwrap method", mask))
	} else if got := u.Unwrap(); got != under {
		errs = append(errs, fmt.Errorf("mask %#02x: Unwrap returned %T, want the wrapped writer", mask, got))
	}
	return errors.Join(errs...)
}
