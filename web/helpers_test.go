package web

import (
	"context"
	"encoding/binary"
	"iter"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/store"
)

// errStore is a source whose every query fails.
type errStore struct{ err error }

func (s errStore) List(context.Context, store.Query) ([]store.Summary, error) { return nil, s.err }
func (s errStore) ListPage(context.Context, store.Query) ([]store.Summary, bodytap.ID, error) {
	return nil, bodytap.ID{}, s.err
}
func (s errStore) Count(context.Context, store.Query) (int64, error) { return 0, s.err }
func (s errStore) Get(context.Context, bodytap.ID) (*bodytap.Exchange, error) {
	return nil, s.err
}
func (s errStore) Scan(context.Context, store.Query) iter.Seq2[*bodytap.Exchange, error] {
	return func(yield func(*bodytap.Exchange, error) bool) { yield(nil, s.err) }
}
func (s errStore) Subscribe(context.Context, *filter.Filter) <-chan store.Summary {
	ch := make(chan store.Summary)
	close(ch)
	return ch
}

// idSeq makes test IDs unique.
var idSeq atomic.Uint64

// testID returns a new ID for an exchange that started at t.
func testID(t time.Time) bodytap.ID {
	var id bodytap.ID
	binary.BigEndian.PutUint64(id[0:8], uint64(t.UnixMilli())<<16|0xbeef)
	binary.BigEndian.PutUint64(id[8:16], idSeq.Add(1))
	return id
}

// ex is a test exchange under construction.
type ex struct{ *bodytap.Exchange }

// newEx returns a completed exchange with an empty JSON response.
func newEx(t testing.TB, method, rawURL string, status int) ex {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	x := &bodytap.Exchange{
		ID:            testID(start),
		Start:         start,
		Duration:      12*time.Millisecond + 345*time.Microsecond,
		TimeToHeaders: 3 * time.Millisecond,
		Request: bodytap.Request{
			Method:        method,
			URL:           u,
			Proto:         "HTTP/1.1",
			Host:          u.Host,
			RemoteAddr:    "192.0.2.10:53412",
			Header:        http.Header{"User-Agent": {"test/1.0"}, "Accept": {"*/*"}},
			ContentLength: 0,
			Body:          bodytap.Body{EOF: true},
		},
		Response: bodytap.Response{
			Status: status,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   bodytap.Body{EOF: true},
		},
	}
	return ex{x}
}

func (e ex) at(t time.Time) ex {
	e.Start = t
	e.ID = testID(t)
	return e
}

func (e ex) reqBody(ct string, b []byte) ex {
	e.Request.Header.Set("Content-Type", ct)
	e.Request.Body = bodytap.Body{Bytes: b, Size: int64(len(b)), EOF: true}
	e.Request.ContentLength = int64(len(b))
	return e
}

func (e ex) respBody(ct string, b []byte) ex {
	e.Response.Header.Set("Content-Type", ct)
	e.Response.Body = bodytap.Body{Bytes: b, Size: int64(len(b)), EOF: true}
	return e
}

func (e ex) respHeader(k, v string) ex {
	e.Response.Header.Add(k, v)
	return e
}

func (e ex) reqHeader(k, v string) ex {
	e.Request.Header.Add(k, v)
	return e
}
