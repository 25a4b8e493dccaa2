package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
		{"domain-host", Query{Limit: 50, Filter: mustParse(b, "~d svc7.example.com")}},
		{"status-500", Query{Limit: 50, Filter: mustParse(b, "~c 500")}},
		{"method-post", Query{Limit: 50, Filter: mustParse(b, "~m POST")}},
		{"rare-pair", Query{Limit: 50, Filter: mustParse(b, "~m DELETE & ~c 503")}},
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

// searchRows is how many exchanges BenchmarkBodySearch stores, with
// about 2 KiB of bodies each.
const searchRows = 1_000_000

// Words planted in the bodies of the search fixture, and how often: one
// exchange in plantEvery[i] has plantWords[i] in its response body.
var (
	plantWords = []string{"marmot", "pangolin"}
	plantEvery = []int{100, 10_000}
)

// fixtureDir is where the large fixtures are kept between runs:
// $BODYTAP_FIXTURES, or os.TempDir().
func fixtureDir() string {
	if d := os.Getenv("BODYTAP_FIXTURES"); d != "" {
		return d
	}
	return os.TempDir()
}

// searchFile returns a store file holding n exchanges with JSON bodies of
// about 1 KiB each way, made of words drawn from a vocabulary of a few
// thousand (Zipf), numbers and hexadecimal IDs, and the plantWords. It is
// made once and kept in fixtureDir() for later runs (delete it, and its
// -log directory, to make it again).
func searchFile(b *testing.B, n int) string {
	h := fnv.New32a()
	fmt.Fprint(h, migrations, segShift, newChunkShift, blockTarget, plantWords, plantEvery, "v1")
	path := filepath.Join(fixtureDir(), fmt.Sprintf("bodytap-store-search-%d-%08x.db", n, h.Sum32()))
	if s, err := Open(path, Options{ReadOnly: true}); err == nil {
		c, err := s.Count(context.Background(), Query{})
		s.Close()
		if err == nil && c == int64(n) {
			return path
		}
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", logDir(path)} {
		os.RemoveAll(p)
	}
	b.Logf("filling %s with %d exchanges", path, n)
	start := time.Now()
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	vocab := vocabulary(r, 4000)
	zipf := rand.NewZipf(rand.New(rand.NewPCG(7, 8)), 1.1, 1, uint64(len(vocab)-1))
	tmpl := make([]*bodytap.Exchange, 256)
	for i := range tmpl {
		tmpl[i] = pagingExchange(r)
	}
	t0 := time.Now().Add(-time.Duration(n) * time.Millisecond)
	const batch = 10000
	xs := make([]*bodytap.Exchange, 0, batch)
	for i := 0; i < n; i++ {
		x := *tmpl[r.IntN(len(tmpl))]
		x.Start = t0.Add(time.Duration(i) * time.Millisecond)
		x.ID = bodytap.NewID(x.Start)
		req := apiBody(r, zipf, vocab, 1024, "")
		var plant string
		for k, w := range plantWords {
			if i%plantEvery[k] == plantEvery[k]/2 {
				plant = w
			}
		}
		resp := apiBody(r, zipf, vocab, 1024, plant)
		x.Request.Body = bodytap.Body{Bytes: req, Size: int64(len(req)), EOF: true}
		x.Response.Body = bodytap.Body{Bytes: resp, Size: int64(len(resp)), EOF: true}
		xs = append(xs, &x)
		if len(xs) == batch || i == n-1 {
			s.RecordBatch(xs)
			flush(b, s)
			xs = xs[:0]
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled in %v", time.Since(start).Round(time.Second))
	return path
}

// vocabulary returns n made-up words of two to four syllables.
func vocabulary(r *rand.Rand, n int) []string {
	cons := []string{"b", "d", "f", "g", "l", "m", "n", "p", "r", "t", "v", "z", "ch", "tr", "st", "br"}
	vows := []string{"a", "e", "i", "o", "u", "ai", "ou", "ea"}
	seen := make(map[string]bool)
	var out []string
	for len(out) < n {
		var w strings.Builder
		for range 2 + r.IntN(3) {
			w.WriteString(cons[r.IntN(len(cons))])
			w.WriteString(vows[r.IntN(len(vows))])
		}
		if s := w.String(); !seen[s] && !slices.Contains(plantWords, s) {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// apiBody returns about n bytes of JSON like an API's: IDs, names,
// e-mail addresses, numbers and free text; plant, if not empty, is put
// in its text.
func apiBody(r *rand.Rand, zipf *rand.Zipf, vocab []string, n int, plant string) []byte {
	word := func() string { return vocab[zipf.Uint64()] }
	b := fmt.Appendf(nil, `{"id":"%016x","user":{"name":"%s %s","email":"%s.%s@example.com"},"items":[`,
		r.Uint64(), word(), word(), word(), word())
	for len(b) < n-200 {
		b = fmt.Appendf(b, `{"sku":"SKU-%05d","title":"%s %s","qty":%d,"price":%d.%02d},`,
			r.IntN(100000), word(), word(), 1+r.IntN(9), r.IntN(500), r.IntN(100))
	}
	b = append(b[:len(b)-1], `],"note":"`...)
	for i := 0; len(b) < n-40; i++ {
		if i == 3 && plant != "" {
			b = append(b, plant...)
		} else {
			b = append(b, word()...)
		}
		b = append(b, ' ')
	}
	return fmt.Appendf(b, `","ref":"order-%06d"}`, r.IntN(1e6))
}

// BenchmarkBodySearch measures body searches on a store of a million
// exchanges with about 2 KiB of bodies each (see searchFile; the first
// run makes it, in minutes): the first page of 50 for a word in one
// exchange in a hundred, and in one in ten thousand, a word in none, a
// regular expression, and the same searches with the time a Scan takes
// to yield its first exchange. Each op opens nothing: the store stays
// open, as in the viewer; BODYTAP_SEARCH_ROWS makes a smaller store.
func BenchmarkBodySearch(b *testing.B) {
	n := searchRows
	if v, err := strconv.Atoi(os.Getenv("BODYTAP_SEARCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	path := searchFile(b, n)
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	cases := []struct{ name, filter string }{
		{"word-1in100", "~b marmot"},
		{"word-1in10000", "~b pangolin"},
		{"nothing", "~b nothingmatches"},
		{"regexp", `~b "order-12345[0-9]"`},
		{"word-and-status", "~b marmot & ~c 5xx"},
	}
	for _, c := range cases {
		q := Query{Limit: 50, Filter: mustParse(b, c.filter)}
		b.Run("first-page/"+c.name, func(b *testing.B) {
			var rows int
			for b.Loop() {
				sums, err := s.List(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				rows = len(sums)
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
	for _, c := range cases[:4] {
		q := Query{Filter: mustParse(b, c.filter)}
		b.Run("scan-first/"+c.name, func(b *testing.B) {
			for b.Loop() {
				for _, err := range s.Scan(ctx, q) {
					if err != nil {
						b.Fatal(err)
					}
					break
				}
			}
		})
	}
}
