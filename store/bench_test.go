package store

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/cputime"
)

// jsonBody returns about n bytes of JSON.
func jsonBody(r *rand.Rand, n int) []byte {
	var b strings.Builder
	b.WriteString(`{"items": [`)
	for b.Len() < n-40 {
		fmt.Fprintf(&b, `{"id": %d, "name": "%s", "price": %d.%02d}, `,
			r.IntN(1e6), words[r.IntN(len(words))], r.IntN(1000), r.IntN(100))
	}
	b.WriteString(`{"end": true}]}`)
	return []byte(b.String())
}

// templates returns exchanges like those of a JSON API, with bodies of
// about bodySize bytes each way.
func templates(n, bodySize int) []*bodytap.Exchange {
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]*bodytap.Exchange, n)
	for i := range xs {
		req, resp := jsonBody(r, bodySize), jsonBody(r, bodySize)
		method := methods[r.IntN(len(methods))]
		status := []int{200, 200, 200, 201, 204, 400, 404, 500, 503}[r.IntN(9)]
		path := fmt.Sprintf("/api/v1/%s/%d", []string{"users", "orders", "items", "carts"}[r.IntN(4)], r.IntN(100000))
		xs[i] = &bodytap.Exchange{
			Duration:      time.Duration(r.IntN(500_000_000)),
			TimeToHeaders: time.Duration(r.IntN(10_000_000)),
			Route:         "GET /api/v1/users/{id}",
			Request: bodytap.Request{
				Method: method, URL: mustURL("https://api.example.com" + path + "?page=2"),
				Proto: "HTTP/1.1", Host: "api.example.com", RemoteAddr: "192.0.2.7:51234",
				Header: http.Header{
					"Content-Type":    {"application/json"},
					"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"},
					"Accept":          {"application/json"},
					"Accept-Encoding": {"gzip, br"},
					"X-Request-Id":    {fmt.Sprintf("%016x", r.Uint64())},
				},
				ContentLength: int64(len(req)),
				Body:          bodytap.Body{Bytes: req, Size: int64(len(req)), EOF: true},
			},
			Response: bodytap.Response{
				Status: status,
				Header: http.Header{
					"Content-Type":  {"application/json; charset=utf-8"},
					"Cache-Control": {"no-store"},
					"X-Request-Id":  {fmt.Sprintf("%016x", r.Uint64())},
				},
				Body: bodytap.Body{Bytes: resp, Size: int64(len(resp)), EOF: true},
			},
		}
	}
	return xs
}

// ingestBatch is how many exchanges ingest hands the store at once, as a
// Tap's delivery goroutine does under load.
const ingestBatch = 256

// ingest records n exchanges made from tmpl, in batches, as fast as the
// store takes them, and returns when they are all in the database.
func ingest(tb testing.TB, s *Store, tmpl []*bodytap.Exchange, n int, t0 time.Time) {
	batch := make([]*bodytap.Exchange, 0, ingestBatch)
	for i := range n {
		x := *tmpl[i%len(tmpl)]
		x.Start = t0.Add(time.Duration(i) * 50 * time.Microsecond)
		x.ID = bodytap.NewID(x.Start)
		batch = append(batch, &x)
		if len(batch) == ingestBatch || i == n-1 {
			s.RecordBatch(batch)
			batch = batch[:0]
		}
	}
	flush(tb, s)
	if st := s.Stats(); st.Dropped != 0 || st.Errors != 0 || st.Stored != int64(n) {
		tb.Fatalf("stats: %+v", st)
	}
}

// BenchmarkIngest measures how many exchanges with 1 KiB request and
// response bodies a store commits per second, skip index on.
func BenchmarkIngest(b *testing.B) {
	for _, size := range []int{1024} {
		b.Run(fmt.Sprintf("body=%d", size), func(b *testing.B) {
			tmpl := templates(512, size)
			s, _ := openTest(b, Options{})
			b.SetBytes(int64(2 * size))
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			ingest(b, s, tmpl, b.N, time.Now())
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "exchanges/s")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/exchange")
		})
	}
}

// cpuTime returns the CPU time the process has used, user and system.
// Benchmarks report it per exchange next to the rate, which other work
// on the machine skews.
func cpuTime() time.Duration {
	d, _ := cputime.Process()
	return d
}
