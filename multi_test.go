package bodytap

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// sinkLog is a Sink that notes its name and the exchange's method in a
// shared log.
type sinkLog struct {
	name string
	log  *[]string
}

func (s sinkLog) Record(x *Exchange) { *s.log = append(*s.log, s.name+":"+x.Request.Method) }

// sinkPanic is a Sink that notes its name, then panics with v.
type sinkPanic struct {
	sinkLog
	v any
}

func (s sinkPanic) Record(x *Exchange) {
	s.sinkLog.Record(x)
	panic(s.v)
}

func TestMulti(t *testing.T) {
	var log []string
	a, b, c := sinkLog{"a", &log}, sinkLog{"b", &log}, sinkLog{"c", &log}
	tests := []struct {
		name  string
		sink  Sink
		want  []string
		count int // sinks in the Multi
	}{
		{"in order", Multi(a, b, c), []string{"a:GET", "b:GET", "c:GET"}, 3},
		{"nil left out", Multi(nil, a, nil, b), []string{"a:GET", "b:GET"}, 2},
		{"nested joined", Multi(a, Multi(b, c), Multi()), []string{"a:GET", "b:GET", "c:GET"}, 3},
		{"none", Multi(), nil, 0},
		{"only nil", Multi(nil), nil, 0},
		{"same sink twice", Multi(a, a), []string{"a:GET", "a:GET"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log = nil
			tt.sink.Record(&Exchange{Request: Request{Method: "GET"}})
			if !reflect.DeepEqual(log, tt.want) {
				t.Errorf("got %q, want %q", log, tt.want)
			}
			if got := len(tt.sink.(multi)); got != tt.count {
				t.Errorf("sinks: got %d, want %d", got, tt.count)
			}
		})
	}
}

// TestMultiShares: every sink gets the same *Exchange.
func TestMultiShares(t *testing.T) {
	var got []*Exchange
	keep := SinkFunc(func(x *Exchange) { got = append(got, x) })
	x := &Exchange{}
	Multi(keep, keep).Record(x)
	if len(got) != 2 || got[0] != x || got[1] != x {
		t.Errorf("got %p, want [%p %p]", got, x, x)
	}
}

func TestMultiPanic(t *testing.T) {
	errFirst := errors.New("first")
	var log []string
	a, b := sinkLog{"a", &log}, sinkLog{"b", &log}
	p1 := sinkPanic{sinkLog{"p1", &log}, errFirst}
	p2 := sinkPanic{sinkLog{"p2", &log}, "second"}
	tests := []struct {
		name      string
		sink      Sink
		want      []string
		wantPanic any
	}{
		{"one panics", Multi(a, p1, b), []string{"a:GET", "p1:GET", "b:GET"}, errFirst},
		{"two panic, first wins", Multi(p1, a, p2, b), []string{"p1:GET", "a:GET", "p2:GET", "b:GET"}, errFirst},
		{"last panics", Multi(a, b, p2), []string{"a:GET", "b:GET", "p2:GET"}, "second"},
		{"panic(nil)", Multi(sinkPanic{sinkLog{"n", &log}, nil}, a), []string{"n:GET", "a:GET"}, "*runtime.PanicNilError"},
		{"no panic", Multi(a, b), []string{"a:GET", "b:GET"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log = nil
			got := func() (p any) {
				defer func() { p = recover() }()
				tt.sink.Record(&Exchange{Request: Request{Method: "GET"}})
				return nil
			}()
			if !reflect.DeepEqual(log, tt.want) {
				t.Errorf("sinks called: got %q, want %q", log, tt.want)
			}
			if s, ok := tt.wantPanic.(string); ok && s == "*runtime.PanicNilError" {
				if reflect.TypeOf(got).String() != s {
					t.Errorf("panic: got %#v, want a %s", got, s)
				}
				return
			}
			if got != tt.wantPanic {
				t.Errorf("panic: got %#v, want %#v", got, tt.wantPanic)
			}
		})
	}
}

// TestMultiPanicInTap: a panicking sink in a Multi costs the Tap one
// counted panic per exchange; the other sinks get every exchange.
func TestMultiPanicInTap(t *testing.T) {
	c := newCollector()
	boom := SinkFunc(func(*Exchange) { panic("boom") })
	tap := New(Config{Sink: Multi(boom, c, boom)})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	for range 5 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	tap.Close()
	if got := len(c.xs); got != 5 {
		t.Errorf("collector: got %d exchanges, want 5", got)
	}
	if st := tap.Stats(); st.SinkPanics != 5 {
		t.Errorf("SinkPanics: got %d, want 5", st.SinkPanics)
	}
}

func TestFilter(t *testing.T) {
	failed := func(x *Exchange) bool { return x.Response.Status >= 500 }
	tests := []struct {
		name string
		keep func(*Exchange) bool
		want []int
	}{
		{"keep failures", failed, []int{500, 503}},
		{"keep none", func(*Exchange) bool { return false }, nil},
		{"nil keeps all", nil, []int{200, 500, 404, 503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			s := Filter(SinkFunc(func(x *Exchange) { got = append(got, x.Response.Status) }), tt.keep)
			for _, status := range []int{200, 500, 404, 503} {
				s.Record(&Exchange{Response: Response{Status: status}})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// A nil sink discards.
	Filter(nil, failed).Record(&Exchange{Response: Response{Status: 500}})
	Filter(nil, nil).Record(&Exchange{})
}

// TestFilterInMulti: per-sink filtering, each sink seeing its own share.
func TestFilterInMulti(t *testing.T) {
	var log []string
	errorsOnly := Filter(sinkLog{"errors", &log}, func(x *Exchange) bool { return x.Response.Status >= 500 })
	s := Multi(errorsOnly, sinkLog{"all", &log})
	for _, m := range []string{"GET", "POST"} {
		x := &Exchange{Request: Request{Method: m}}
		if m == "POST" {
			x.Response.Status = 500
		}
		s.Record(x)
	}
	want := []string{"all:GET", "errors:POST", "all:POST"}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("got %q, want %q", log, want)
	}
}
