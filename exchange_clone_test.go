package bodytap

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestClone(t *testing.T) {
	x := sinkExchange(t)
	x.Err = ErrClientGone
	x.Request.Body.Err = ErrHijacked
	x.Response.Chunks = []Chunk{{Offset: 7, At: time.Millisecond}, {Offset: 19, At: 2 * time.Millisecond}}
	x.Response.ChunksOmitted = 3
	y := x.Clone()
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("clone differs:\ngot  %+v\nwant %+v", y, x)
	}
	if y.Request.URL != &y.url {
		t.Error("the clone's Request.URL points outside it")
	}

	// Change everything the clone holds; the original must not move.
	want := sinkExchange(t)
	want.Err = ErrClientGone
	want.Request.Body.Err = ErrHijacked
	want.Response.Chunks = []Chunk{{Offset: 7, At: time.Millisecond}, {Offset: 19, At: 2 * time.Millisecond}}
	want.Response.ChunksOmitted = 3
	y.Request.URL.Path = "/changed"
	y.Request.Header.Set("Content-Type", "changed")
	y.Request.Header["X-Trace"][0] = "changed"
	y.Request.Body.Bytes[0] = 'X'
	y.Response.Header.Add("X-New", "1")
	y.Response.Trailer.Set("X-Sum", "0")
	y.Response.Informational[0].Header.Set("Link", "changed")
	y.Response.Informational[0].Status = 100
	y.Response.Body.Bytes[0] = 'X'
	y.Response.Chunks[0].Offset = 0
	if !reflect.DeepEqual(x, want) {
		t.Errorf("changing the clone changed the original:\ngot  %+v\nwant %+v", x, want)
	}
}

func TestCloneEdges(t *testing.T) {
	tests := []struct {
		name string
		x    *Exchange
	}{
		{"zero", &Exchange{}},
		{"no URL", &Exchange{Request: Request{Method: "GET", Header: http.Header{}}}},
		{"URL elsewhere", func() *Exchange {
			x := sinkExchange(t)
			u := *x.Request.URL
			x.Request.URL = &u
			return x
		}()},
		{"empty copies", &Exchange{Request: Request{Body: Body{Bytes: []byte{}}}, Response: Response{Informational: []Informational{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := tt.x.Clone()
			if (y.Request.URL == nil) != (tt.x.Request.URL == nil) ||
				(y.Request.URL != nil && *y.Request.URL != *tt.x.Request.URL) {
				t.Errorf("URL: got %v, want %v", y.Request.URL, tt.x.Request.URL)
			}
			if y.Request.URL != nil && y.Request.URL == tt.x.Request.URL {
				t.Error("URL shared")
			}
			if (y.Request.Body.Bytes == nil) != (tt.x.Request.Body.Bytes == nil) ||
				(y.Response.Informational == nil) != (tt.x.Response.Informational == nil) {
				t.Error("nil and empty not kept apart")
			}
		})
	}
	if (*Exchange)(nil).Clone() != nil {
		t.Error("Clone of nil is not nil")
	}
}

// TestJSONPointsToJSONL: encoding/json fails on an Exchange with a message
// naming package jsonl, instead of writing a different form silently.
func TestJSONPointsToJSONL(t *testing.T) {
	x := sinkExchange(t)
	if _, err := json.Marshal(x); err == nil || !strings.Contains(err.Error(), "jsonl.Marshal") {
		t.Errorf("json.Marshal: got %v, want an error naming jsonl.Marshal", err)
	}
	if err := json.Unmarshal([]byte(`{}`), new(Exchange)); err == nil || !strings.Contains(err.Error(), "jsonl") {
		t.Errorf("json.Unmarshal: got %v, want an error naming jsonl", err)
	}
}
