// Package exchangetest holds what the tests of the packages that encode
// and store exchanges (har, jsonl) share: an exchange with every field set,
// and checks that an exchange read back is the one written.
//
// The root package's own tests cannot import it (it imports the root
// package) and keep their copy of Full, which also sets an unexported field.
//
// Only tests import it.
package exchangetest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// Full returns an exchange with every field set, as a Tap would deliver
// it: a JSON request, a text response with an early hint and a trailer.
func Full(tb testing.TB) *bodytap.Exchange {
	tb.Helper()
	id, err := bodytap.ParseID("01HQ3J5V2X0000000000000001")
	if err != nil {
		tb.Fatal(err)
	}
	return &bodytap.Exchange{
		ID:            id,
		Start:         time.Date(2024, 2, 20, 10, 0, 0, 123456789, time.UTC),
		Duration:      1500 * time.Microsecond,
		TimeToHeaders: 900 * time.Microsecond,
		Route:         "POST /items/{id}",
		Detected:      bodytap.DetectJWT | bodytap.DetectCard,
		Trace: bodytap.TraceContext{
			TraceID: [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
			SpanID:  [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
			Flags:   1,
		},
		Request: bodytap.Request{
			Method:        "POST",
			URL:           &url.URL{Scheme: "http", Host: "example.com", Path: "/items/7", RawQuery: "q=1"},
			Proto:         "HTTP/1.1",
			Host:          "example.com",
			RemoteAddr:    "192.0.2.1:53412",
			Header:        http.Header{"Content-Type": {"application/json"}, "X-Trace": {"a", "b"}},
			ContentLength: 11,
			Body:          bodytap.Body{Bytes: []byte(`{"name":1}` + "\n"), Size: 11, EOF: true},
		},
		Response: bodytap.Response{
			Status:        201,
			Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Trailer": {"X-Sum"}},
			Trailer:       http.Header{"X-Sum": {"42"}},
			Informational: []bodytap.Informational{{Status: 103, Header: http.Header{"Link": {"</a.css>; rel=preload"}}}},
			Body:          bodytap.Body{Bytes: []byte("created <ok> & done"), Size: 19, EOF: true},
			Chunks:        []bodytap.Chunk{{Offset: 8, At: 1000 * time.Microsecond}, {Offset: 13, At: 1200 * time.Microsecond}},
			ChunksOmitted: 2,
		},
	}
}

// Same fails tb unless got reads as want: the same fields, times equal,
// errors of the same text that match the same bodytap sentinel errors.
func Same(tb testing.TB, got, want *bodytap.Exchange) {
	tb.Helper()
	if got.ID != want.ID {
		tb.Errorf("ID: got %v, want %v", got.ID, want.ID)
	}
	if !got.Start.Equal(want.Start) {
		tb.Errorf("Start: got %v, want %v", got.Start, want.Start)
	}
	if got.Duration != want.Duration || got.TimeToHeaders != want.TimeToHeaders {
		tb.Errorf("Duration, TimeToHeaders: got %v, %v, want %v, %v", got.Duration, got.TimeToHeaders, want.Duration, want.TimeToHeaders)
	}
	if got.Route != want.Route || got.Hijacked != want.Hijacked {
		tb.Errorf("Route, Hijacked: got %q, %v, want %q, %v", got.Route, got.Hijacked, want.Route, want.Hijacked)
	}
	if got.Trace != want.Trace {
		tb.Errorf("Trace: got %s, want %s", got.Trace, want.Trace)
	}
	if got.Detected != want.Detected {
		tb.Errorf("Detected: got %q, want %q", got.Detected, want.Detected)
	}
	if errText(got.Err) != errText(want.Err) {
		tb.Errorf("Err: got %q, want %q", errText(got.Err), errText(want.Err))
	}
	for _, s := range []error{bodytap.ErrClientGone, bodytap.ErrHandlerPanic, bodytap.ErrAborted, bodytap.ErrHijacked} {
		if errors.Is(got.Err, s) != errors.Is(want.Err, s) {
			tb.Errorf("errors.Is(Err, %v): got %v", s, errors.Is(got.Err, s))
		}
	}
	gr, wr := &got.Request, &want.Request
	if (gr.URL == nil) != (wr.URL == nil) || (gr.URL != nil && gr.URL.String() != wr.URL.String()) {
		tb.Errorf("Request.URL: got %v, want %v", gr.URL, wr.URL)
	}
	if gr.Method != wr.Method || gr.Proto != wr.Proto || gr.Host != wr.Host || gr.RemoteAddr != wr.RemoteAddr || gr.ContentLength != wr.ContentLength {
		tb.Errorf("Request: got %q %q %q %q %d, want %q %q %q %q %d",
			gr.Method, gr.Proto, gr.Host, gr.RemoteAddr, gr.ContentLength,
			wr.Method, wr.Proto, wr.Host, wr.RemoteAddr, wr.ContentLength)
	}
	SameHeader(tb, "Request.Header", gr.Header, wr.Header)
	SameBody(tb, "Request.Body", gr.Body, wr.Body)
	gs, ws := &got.Response, &want.Response
	if gs.Status != ws.Status {
		tb.Errorf("Response.Status: got %d, want %d", gs.Status, ws.Status)
	}
	SameHeader(tb, "Response.Header", gs.Header, ws.Header)
	SameHeader(tb, "Response.Trailer", gs.Trailer, ws.Trailer)
	if len(gs.Informational) != len(ws.Informational) {
		tb.Errorf("Response.Informational: got %d, want %d", len(gs.Informational), len(ws.Informational))
	} else {
		for i := range gs.Informational {
			if gs.Informational[i].Status != ws.Informational[i].Status {
				tb.Errorf("Response.Informational[%d].Status: got %d, want %d", i, gs.Informational[i].Status, ws.Informational[i].Status)
			}
			SameHeader(tb, fmt.Sprintf("Response.Informational[%d].Header", i), gs.Informational[i].Header, ws.Informational[i].Header)
		}
	}
	SameBody(tb, "Response.Body", gs.Body, ws.Body)
	if !slices.Equal(gs.Chunks, ws.Chunks) || gs.ChunksOmitted != ws.ChunksOmitted {
		tb.Errorf("Response.Chunks: got %v and %d omitted, want %v and %d", gs.Chunks, gs.ChunksOmitted, ws.Chunks, ws.ChunksOmitted)
	}
}

// SameHeader fails tb unless got and want hold the same fields; nil and
// empty are the same. what names the header in messages.
func SameHeader(tb testing.TB, what string, got, want http.Header) {
	tb.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// SameBody fails tb unless got and want are the same body: the same bytes,
// flags and error text. what names the body in messages.
func SameBody(tb testing.TB, what string, got, want bodytap.Body) {
	tb.Helper()
	if !bytes.Equal(got.Bytes, want.Bytes) {
		tb.Errorf("%s.Bytes: got %q, want %q", what, trim(got.Bytes), trim(want.Bytes))
	}
	if got.Size != want.Size || got.Truncated != want.Truncated || got.EOF != want.EOF {
		tb.Errorf("%s: got Size %d, Truncated %v, EOF %v, want %d, %v, %v", what, got.Size, got.Truncated, got.EOF, want.Size, want.Truncated, want.EOF)
	}
	if got.Decoded != want.Decoded || got.Redacted != want.Redacted || got.Withheld != want.Withheld {
		tb.Errorf("%s: got Decoded %q, Redacted %v, Withheld %v, want %q, %v, %v", what, got.Decoded, got.Redacted, got.Withheld, want.Decoded, want.Redacted, want.Withheld)
	}
	if errText(got.Err) != errText(want.Err) {
		tb.Errorf("%s.Err: got %q, want %q", what, errText(got.Err), errText(want.Err))
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// trim shortens b for failure messages.
func trim(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
