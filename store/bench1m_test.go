package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// pagingRows is how many exchanges BenchmarkPaging stores.
const pagingRows = 1_000_000

// pagingFile returns a store file holding pagingRows exchanges, made
// once and kept in os.TempDir() for later runs (delete it to make it
// again).
func pagingFile(b *testing.B) string {
	h := fnv.New32a()
	fmt.Fprint(h, migrations, pageSize, segShift)
	path := filepath.Join(os.TempDir(), fmt.Sprintf("bodytap-store-paging-%d-%08x.db", pagingRows, h.Sum32()))
	if s, err := Open(path, Options{ReadOnly: true}); err == nil {
		n, err := s.Count(context.Background(), Query{})
		s.Close()
		if err == nil && n == pagingRows {
			return path
		}
	}
	os.Remove(path)
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	b.Logf("filling %s with %d exchanges", path, pagingRows)
	start := time.Now()
	s, err := Open(path, Options{NoFullText: true})
	if err != nil {
		b.Fatal(err)
	}
	// The bulk path: rows made from a few hundred exchanges, with their
	// own IDs and columns, written in large transactions straight to the
	// writer.
	r := rand.New(rand.NewPCG(3, 4))
	tmpl := make([]*row, 512)
	for i := range tmpl {
		x := pagingExchange(r)
		if tmpl[i], err = newRow(x); err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Now().Add(-pagingRows * time.Millisecond)
	const chunk = 20000
	rows := make([]*row, chunk)
	for done := 0; done < pagingRows; done += chunk {
		for i := range rows {
			x := *tmpl[r.IntN(len(tmpl))]
			x.id = newIDBytes(t0.Add(time.Duration(done+i) * time.Millisecond))
			x.start = t0.Add(time.Duration(done+i) * time.Millisecond).UnixNano()
			x.duration = int64(r.ExpFloat64() * 80e6)
			if r.IntN(1000) == 0 {
				x.duration = int64(3e9 + r.IntN(5e9))
			}
			rows[i] = &x
		}
		if err := s.w.appendRows(rows); err != nil {
			b.Fatal(err)
		}
		s.signal()
		flush(b, s)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.Logf("filled in %v: %d MB", time.Since(start).Round(time.Second), fi.Size()>>20)
	return path
}

func newIDBytes(t time.Time) []byte {
	id := bodytap.NewID(t)
	return id[:]
}

var pagingHosts = func() []string {
	var hs []string
	for i := range 20 {
		hs = append(hs, fmt.Sprintf("svc%d.example.com", i))
	}
	return hs
}()

// pagingExchange returns an exchange with small bodies: the paging
// benchmark reads no bodies, and a smaller file is made sooner.
func pagingExchange(r *rand.Rand) *bodytap.Exchange {
	method := "GET"
	switch n := r.IntN(100); {
	case n < 20:
		method = "POST"
	case n < 25:
		method = "PUT"
	case n < 28:
		method = "DELETE"
	}
	status := 200
	switch n := r.IntN(100); {
	case n < 5:
		status = 500 + r.IntN(4)
	case n < 15:
		status = 400 + r.IntN(5)
	case n < 20:
		status = 304
	case n < 30:
		status = 201
	}
	host := pagingHosts[r.IntN(len(pagingHosts))]
	path := fmt.Sprintf("/api/v1/%s/%d", []string{"users", "orders", "items", "carts", "search"}[r.IntN(5)], r.IntN(1e6))
	req, resp := jsonBody(r, 128), jsonBody(r, 256)
	return &bodytap.Exchange{
		Route: "GET /api/v1/users/{id}",
		Request: bodytap.Request{
			Method: method, URL: mustURL("https://" + host + path), Host: host,
			RemoteAddr: "192.0.2.7:51234",
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       bodytap.Body{Bytes: req, Size: int64(len(req)), EOF: true},
		},
		Response: bodytap.Response{
			Status: status,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   bodytap.Body{Bytes: resp, Size: int64(len(resp)) + int64(r.IntN(1<<20)), EOF: true},
		},
	}
}

// BenchmarkPaging measures queries on a store of a million exchanges:
// the first page, a page deep down (by the Before cursor), filtered
// pages, and counts. Each op is one query of a page of 50.
func BenchmarkPaging(b *testing.B) {
	path := pagingFile(b)
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// A cursor 900,000 exchanges deep.
	var deep bodytap.ID
	if err := s.rdb.QueryRow("SELECT id FROM exchanges ORDER BY id DESC LIMIT 1 OFFSET 900000").Scan(deep[:0:16]); err != nil {
		var raw []byte
		if err := s.rdb.QueryRow("SELECT id FROM exchanges ORDER BY id DESC LIMIT 1 OFFSET 900000").Scan(&raw); err != nil {
			b.Fatal(err)
		}
		copy(deep[:], raw)
	}
	cases := []struct {
		name string
		q    Query
	}{
		{"first", Query{Limit: 50}},
		{"deep", Query{Limit: 50, Before: deep}},
		{"filtered", Query{Limit: 50, Filter: mustParse(b, "~c 5xx & ~m POST")}},
		{"filtered-deep", Query{Limit: 50, Before: deep, Filter: mustParse(b, "~c 5xx & ~m POST")}},
		{"domain", Query{Limit: 50, Filter: mustParse(b, "~d ^svc7\\.")}},
		{"path-prefix", Query{Limit: 50, Filter: mustParse(b, `~path "/api/v1/carts/**"`)}},
		{"slow", Query{Limit: 50, Filter: mustParse(b, "~dur >2s")}},
		{"url-regexp", Query{Limit: 50, Filter: mustParse(b, "~u carts/12")}},
		{"header-go", Query{Limit: 50, Filter: mustParse(b, "~hq json"), MaxScan: 1000}},
		{"since-1h", Query{Limit: 50, Since: time.Now().Add(-time.Hour)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				sums, err := s.List(ctx, c.q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(sums)
			}
			b.ReportMetric(float64(n), "rows")
		})
	}
	counts := []struct {
		name string
		q    Query
	}{
		{"count-all", Query{}},
		{"count-filtered", Query{Filter: mustParse(b, "~c 5xx & ~m POST")}},
		{"count-status", Query{Filter: mustParse(b, "~c 5xx")}},
	}
	for _, c := range counts {
		b.Run(c.name, func(b *testing.B) {
			var n int64
			for b.Loop() {
				if n, err = s.Count(ctx, c.q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "rows")
		})
	}
}
