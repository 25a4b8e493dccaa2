package bodytap

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/cputime"
	"github.com/bodytap/bodytap/internal/testutil"
)

var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}

// echoSized reads the whole request body and answers with a body of the
// same size.
func echoSized(resp []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(resp)
	})
}

// benchModes are the ways a request can go: no tap, a tap that skips it,
// a tap that captures it (with a cap large enough for every body), one
// that captures it without redaction, to show what the tee and the
// record cost apart from the policy that is on by default, and that one
// again reusing exchanges (Config.ReuseExchanges).
func benchModes(h http.Handler) []struct {
	name string
	h    http.Handler
	tap  *Tap
} {
	skip := New(Config{Skip: func(*http.Request) bool { return true }})
	capture := New(Config{MaxBodyBytes: 1 << 20})
	noredact := New(Config{MaxBodyBytes: 1 << 20, Redact: Redaction{Disabled: true}})
	reuse := New(Config{MaxBodyBytes: 1 << 20, Redact: Redaction{Disabled: true}, ReuseExchanges: true})
	return []struct {
		name string
		h    http.Handler
		tap  *Tap
	}{
		{"bare", h, nil},
		{"skip", skip.Handler(h), skip},
		{"capture", capture.Handler(h), capture},
		{"capture-noredact", noredact.Handler(h), noredact},
		{"capture-noredact-reuse", reuse.Handler(h), reuse},
	}
}

// cpuMark is the process's CPU time when a benchmark started. On a shared
// machine, CPU per operation (cpu-ns/op: client, server, tap, delivery
// and GC together) is skewed less by other tenants than wall time; under
// full load the throughput ratio is its inverse.
type cpuMark time.Duration

func startCPU() cpuMark {
	d, _ := cputime.Process()
	return cpuMark(d)
}

func (m cpuMark) report(b *testing.B) {
	if d, ok := cputime.Process(); ok && b.N > 0 {
		b.ReportMetric(float64(d-time.Duration(m))/float64(b.N), "cpu-ns/op")
	}
}

// rewindBody is a request body that can be served again without
// allocating.
type rewindBody struct{ *bytes.Reader }

func (rewindBody) Close() error { return nil }

func BenchmarkInProcess(b *testing.B) {
	for _, size := range benchSizes {
		payload := bytes.Repeat([]byte("x"), size.n)
		for _, m := range benchModes(echoSized(payload)) {
			b.Run(fmt.Sprintf("%s/%s", size.name, m.name), func(b *testing.B) {
				body := rewindBody{bytes.NewReader(payload)}
				req, _ := http.NewRequest("POST", "http://example.com/api", body)
				w := &testutil.DiscardWriter{H: http.Header{}}
				b.SetBytes(int64(2 * size.n))
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					body.Reset(payload)
					req.Body = body
					clear(w.H)
					m.h.ServeHTTP(w, req)
				}
				cpu.report(b)
			})
			if m.tap != nil {
				m.tap.Close()
			}
		}
	}
}

func BenchmarkLoopback(b *testing.B) {
	for _, size := range benchSizes {
		payload := bytes.Repeat([]byte("x"), size.n)
		for _, m := range benchModes(echoSized(payload)) {
			b.Run(fmt.Sprintf("%s/%s", size.name, m.name), func(b *testing.B) {
				srv, client := newServer(b, m.h, false)
				client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
				b.SetBytes(int64(2 * size.n))
				b.ReportAllocs()
				// Enough clients to keep both cores busy: the figure is then CPU cost,
				// not round-trip scheduling.
				b.SetParallelism(8)
				cpu := startCPU()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(payload))
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
				cpu.report(b)
			})
			if m.tap != nil {
				m.tap.Close()
			}
		}
	}
}

// waitDelivered waits until tap's queue is empty.
func waitDelivered(t *testing.T, tap *Tap) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); tap.Stats().Queued > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("queue not delivered within 10s")
		}
	}
}

// TestAllocsAddedByTap guards the hot path: capturing a 1 KiB request and a
// 1 KiB response costs at most 4 allocations more than no tap at all, and
// 1 (what the handler may keep of its writer and request) when the Tap
// reuses exchanges.
func TestAllocsAddedByTap(t *testing.T) {
	if raceEnabled {
		t.Log("race build: allocation counts differ; measuring anyway")
	}
	payload := []byte(strings.Repeat("x", 1<<10))
	modes := benchModes(echoSized(payload))
	allocs := map[string]float64{}
	for _, m := range modes {
		body := rewindBody{bytes.NewReader(payload)}
		req, _ := http.NewRequest("POST", "http://example.com/api", body)
		w := &testutil.DiscardWriter{H: http.Header{}}
		serve := func() {
			body.Reset(payload)
			req.Body = body
			clear(w.H)
			m.h.ServeHTTP(w, req)
		}
		if m.tap != nil && m.tap.reuse {
			// The steady state: the exchanges of earlier requests have
			// been delivered, and their memory is there to reuse. The
			// loop below runs faster than the delivery goroutine, which
			// batches for a millisecond, takes them back.
			for range 2000 {
				serve()
			}
			waitDelivered(t, m.tap)
		}
		allocs[m.name] = testing.AllocsPerRun(500, serve)
		if m.tap != nil {
			m.tap.Close()
		}
	}
	t.Logf("allocs/request: bare %.1f, skip %.1f, capture %.1f, reusing %.1f", allocs["bare"], allocs["skip"], allocs["capture"], allocs["capture-noredact-reuse"])
	if raceEnabled {
		return
	}
	if d := allocs["skip"] - allocs["bare"]; d > 0 {
		t.Errorf("a skipped request costs %.1f allocations, want 0", d)
	}
	if d := allocs["capture"] - allocs["bare"]; d > 4 {
		t.Errorf("capture adds %.1f allocations per request, want at most 4", d)
	}
	if d := allocs["capture-noredact-reuse"] - allocs["bare"]; d > 1 {
		t.Errorf("capture reusing exchanges adds %.1f allocations per request, want at most 1", d)
	}
}
