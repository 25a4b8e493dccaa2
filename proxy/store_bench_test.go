package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/cputime"
	"github.com/bodytap/bodytap/proxy"
	"github.com/bodytap/bodytap/store"
)

// The benchmarks here compare the capturing proxy, storing every exchange
// in a real SQLite file, with a bare httputil.ReverseProxy in front of the
// same upstream, in the same run:
//
//	go test -run XXX -bench 'Proxy(Throughput|Latency)' -count 6 ./proxy/ | go run ./internal/benchratio
//
// or scripts/bench-proxy.sh, which interleaves the rounds. NOFTS=1 in the
// environment stores without the full-text index, to see its share.

// benchBody is the 1 KiB JSON document of the benchmark workload.
var benchBody = `{"items":[` + strings.TrimSuffix(strings.Repeat(`{"id":12345,"name":"widget","ok":true},`, 26), ",") + `]}`

func benchUpstream(b *testing.B) *url.URL {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, benchBody)
	}))
	b.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

// benchFrontEnd starts the front end named variant and returns its URL
// and a function that returns once everything it captured is committed
// to the store (at once for the others). The variants:
//   - bare: an httputil.ReverseProxy as the issue names it, with nothing
//     set but the upstream and X-Forwarded-*;
//   - skip: bodytap's proxy with capture skipped for every request (the
//     same forwarding, buffer pool and flushing as capture), to tell what
//     capture and the store cost from what the proxy's own set-up does;
//   - capture: bodytap's proxy storing every exchange in a SQLite file.
func benchFrontEnd(b *testing.B, variant string, up *url.URL) (string, func()) {
	b.Helper()
	var h http.Handler
	var srv *http.Server
	drain := func() {}
	switch variant {
	case "skip":
		p, err := proxy.New(proxy.Config{Upstream: up, Tap: bodytap.Config{Skip: func(*http.Request) bool { return true }}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close() })
		h = p
	case "bare":
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 256
		tr.DisableCompression = true
		h = &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(up); pr.SetXForwarded() },
			Transport: tr,
		}
	case "capture":
		st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{NoFullText: os.Getenv("NOFTS") != ""})
		if err != nil {
			b.Fatal(err)
		}
		p, err := proxy.New(proxy.Config{Upstream: up, Tap: bodytap.Config{Sink: st}})
		if err != nil {
			b.Fatal(err)
		}
		var once sync.Once
		drain = func() {
			once.Do(func() {
				// As the CLI does: the server first, so that no handler
				// is still finishing its exchange when the Tap closes.
				if err := srv.Shutdown(context.Background()); err != nil {
					b.Error(err)
				}
				p.Close()
				if s := p.Stats(); s.Dropped > 0 {
					b.Errorf("the tap dropped %d captures", s.Dropped)
				}
				if err := st.Flush(context.Background()); err != nil {
					b.Error(err)
				}
			})
		}
		b.Cleanup(func() {
			drain()
			st.Close()
			if s := st.Stats(); s.Dropped > 0 || s.Errors > 0 {
				b.Errorf("the store dropped %d exchanges, %d errors", s.Dropped, s.Errors)
			}
		})
		h = p
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv = proxy.NewServer(ln.Addr().String(), h)
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), drain
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
}

func post(c *http.Client, u string) error {
	resp, err := c.Post(u, "application/json", strings.NewReader(benchBody))
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// BenchmarkProxyThroughput measures requests per second through each front
// end under full load: 1 KiB request and response bodies, keep-alive. The
// capture variant's clock stops only once every exchange is committed to
// the store, so that a writer falling behind cannot hide in the queue.
// cpu-ns/op is the CPU the whole process (clients, proxy, upstream, store)
// spent per request; on a shared machine it is skewed less by other
// tenants than req/s, and under full load the throughput ratio is its
// inverse.
func BenchmarkProxyThroughput(b *testing.B) {
	up := benchUpstream(b)
	for _, v := range []string{"bare", "skip", "capture"} {
		b.Run("1KiB/"+v, func(b *testing.B) {
			base, drain := benchFrontEnd(b, v, up)
			u := base + "/api"
			c := benchClient()
			b.SetParallelism(8)
			b.ReportAllocs()
			start := time.Now()
			cpu, _ := cputime.Process()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := post(c, u); err != nil {
						b.Error(err)
						return
					}
				}
			})
			drain()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			if end, ok := cputime.Process(); ok {
				b.ReportMetric(float64(end-cpu)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// BenchmarkProxyLatency measures latency at a moderate load: 4 clients
// sending 250 requests a second each (1,000 req/s), reporting the median
// and 99th percentile.
func BenchmarkProxyLatency(b *testing.B) {
	up := benchUpstream(b)
	for _, v := range []string{"bare", "skip", "capture"} {
		b.Run("1KiB/"+v, func(b *testing.B) {
			base, _ := benchFrontEnd(b, v, up)
			u := base + "/api"
			c := benchClient()
			const clients = 4
			const interval = 4 * time.Millisecond
			var mu sync.Mutex
			var lat []time.Duration
			var wg sync.WaitGroup
			per := max(b.N/clients, 1)
			b.ResetTimer()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					mine := make([]time.Duration, 0, per)
					tick := time.NewTicker(interval)
					defer tick.Stop()
					for range per {
						<-tick.C
						t0 := time.Now()
						if err := post(c, u); err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, time.Since(t0))
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) == 0 {
				return
			}
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
