package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// roundTripCases are exchanges with the corners of the data model.
func roundTripCases() []*bodytap.Exchange {
	t0 := time.Date(2024, 2, 20, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	var xs []*bodytap.Exchange
	add := func(x *bodytap.Exchange) {
		x.Start = t0.Add(time.Duration(len(xs)) * time.Millisecond)
		x.ID = bodytap.NewID(x.Start)
		xs = append(xs, x)
	}
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	// Everything set.
	add(&bodytap.Exchange{
		Duration:      1500 * time.Microsecond,
		TimeToHeaders: 900 * time.Microsecond,
		Route:         "POST /items/{id}",
		Request: bodytap.Request{
			Method:        "POST",
			URL:           mustURL("https://example.com:8443/items/7?q=1&x=%20y#frag"),
			Proto:         "HTTP/2.0",
			Host:          "example.com:8443",
			RemoteAddr:    "192.0.2.1:53412",
			Header:        http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}},
			ContentLength: 11,
			Body:          bodytap.Body{Bytes: []byte(`{"id": 7}`), Size: 11, Truncated: true, EOF: false, Redacted: true},
		},
		Response: bodytap.Response{
			Status:  201,
			Header:  http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Encoding": {"gzip"}},
			Trailer: http.Header{"X-Checksum": {"abc"}},
			Informational: []bodytap.Informational{
				{Status: 103, Header: http.Header{"Link": {"</style.css>; rel=preload"}}},
				{Status: 100, Header: http.Header{}},
				{Status: 102},
			},
			Body: bodytap.Body{Bytes: []byte("héllo wörld"), Size: 4000, EOF: true, Decoded: "gzip"},
		},
		Err: fmt.Errorf("%w: write tcp: broken pipe", bodytap.ErrClientGone),
	})
	// Binary bodies, body errors, withheld.
	add(&bodytap.Exchange{
		Request: bodytap.Request{Method: "PUT", URL: mustURL("http://h/bin"), Host: "h",
			Header: http.Header{"Content-Type": {"application/octet-stream"}},
			Body:   bodytap.Body{Bytes: binary, Size: 256, EOF: true}},
		Response: bodytap.Response{Status: 200, Header: http.Header{"Content-Type": {"image/png"}},
			Body: bodytap.Body{Bytes: []byte{0xff, 0xfe, 0, 1, 'a'}, Size: 5, EOF: true,
				Err: errors.New("bodytap: decode br: corrupt input")}},
	})
	add(&bodytap.Exchange{
		Request: bodytap.Request{Method: "GET", URL: mustURL("http://h/w"), Host: "h"},
		Response: bodytap.Response{Status: 200, Header: http.Header{"Content-Encoding": {"zstd"}},
			Body: bodytap.Body{Size: 100, Withheld: true, Err: errors.New("bodytap: body withheld: unknown encoding")}},
	})
	// Empty, not nil: headers, trailers, informational, bodies.
	add(&bodytap.Exchange{
		Request: bodytap.Request{Method: "GET", URL: mustURL("http://h/empty"), Host: "h",
			Header: http.Header{}, Body: bodytap.Body{Bytes: []byte{}, EOF: true}},
		Response: bodytap.Response{Status: 204, Header: http.Header{}, Trailer: http.Header{},
			Informational: []bodytap.Informational{}, Body: bodytap.Body{Bytes: []byte{}, EOF: true}},
	})
	// Nil everything: no URL, no response.
	add(&bodytap.Exchange{Err: bodytap.ErrHandlerPanic})
	// Hijacked.
	add(&bodytap.Exchange{
		Hijacked: true,
		Request: bodytap.Request{Method: "GET", URL: mustURL("http://h/ws"), Host: "h",
			Header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}}},
		Err: bodytap.ErrHijacked,
	})
	// Text that is not UTF-8 (Latin-1), a body cut inside a character,
	// and an aborted handler.
	add(&bodytap.Exchange{
		Request: bodytap.Request{Method: "POST", URL: mustURL("http://h/latin1"), Host: "h",
			Header: http.Header{"Content-Type": {"text/plain; charset=iso-8859-1"}},
			Body:   bodytap.Body{Bytes: []byte("caf\xe9"), Size: 4, EOF: true}},
		Response: bodytap.Response{Status: 500, Header: http.Header{"Content-Type": {"text/plain"}},
			Body: bodytap.Body{Bytes: []byte("日本\xe8\xaa"), Size: 9, Truncated: true}},
		Err: fmt.Errorf("%w: boom", bodytap.ErrAborted),
	})
	// Strings that are not UTF-8, which the JSON form cannot carry.
	u := mustURL("http://h/bad")
	u.RawQuery = "q=caf\xe9"
	add(&bodytap.Exchange{
		Route: "GET /caf\xe9",
		Request: bodytap.Request{Method: "GET", URL: u, Host: "h\xff", RemoteAddr: "1.2.3.4:5",
			Header: http.Header{"X-Latin": {"caf\xe9"}, "Ok": {"fine"}}},
		Response: bodytap.Response{Status: 200, Header: http.Header{"X-Bad\xfe": {"v"}},
			Trailer:       http.Header{"T": {"\xc3"}},
			Informational: []bodytap.Informational{{Status: 103, Header: http.Header{"Link": {"\xe0"}}}, {Status: 100}},
			Body:          bodytap.Body{Err: errors.New("bodytap: decode: \xff")}},
		Err: fmt.Errorf("%w: \xfe", bodytap.ErrClientGone),
	})
	return xs
}

func TestRoundTrip(t *testing.T) {
	s, _ := openTest(t, Options{})
	xs := roundTripCases()
	for _, x := range xs {
		s.Record(x)
	}
	flush(t, s)
	ctx := context.Background()
	for _, want := range xs {
		got, err := s.Get(ctx, want.ID)
		if err != nil {
			t.Fatalf("Get %s: %v", want.ID, err)
		}
		sameExchange(t, want, got)
		if !errors.Is(got.Err, bodytap.ErrClientGone) && errors.Is(want.Err, bodytap.ErrClientGone) {
			t.Errorf("errors.Is(Err, ErrClientGone) lost")
		}
		if want.Err == bodytap.ErrHandlerPanic && got.Err != bodytap.ErrHandlerPanic {
			t.Errorf("Err = %v, want the sentinel ErrHandlerPanic", got.Err)
		}
	}
	// Scan returns the same, newest first.
	i := len(xs)
	for x, err := range s.Scan(ctx, Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		i--
		sameExchange(t, xs[i], x)
	}
	if i != 0 {
		t.Errorf("Scan yielded %d exchanges, want %d", len(xs)-i, len(xs))
	}
	if _, err := s.Get(ctx, bodytap.NewID(time.Now())); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an unknown ID: %v, want ErrNotFound", err)
	}
	// And after reopening the file.
	if st := s.Stats(); st.Stored != int64(len(xs)) {
		t.Errorf("Stats = %+v, want %d stored", st, len(xs))
	}
}
