package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/testutil"
)

// heapPeak samples the heap in use until stop is called, and returns the
// peak.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// TestMemoryBounded streams a 1 GiB download and a 256 MiB upload through
// the proxy (less with -short or -race) and checks that the heap in use,
// upstream and client included as they run in the same process, never
// passes 64 MiB: memory does not grow with the body.
func TestMemoryBounded(t *testing.T) {
	const limit = 64 << 20
	down, upl := int64(1<<30), int64(256<<20)
	if testing.Short() || testutil.RaceEnabled {
		down, upl = 128<<20, 64<<20
	}
	chunk := pattern(64<<10, 3)
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PUT" {
			n, err := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%d %v", n, err)
			return
		}
		total, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Length", strconv.FormatInt(total, 10))
		for sent := int64(0); sent < total; sent += int64(len(chunk)) {
			if _, err := w.Write(chunk[:min(int64(len(chunk)), total-sent)]); err != nil {
				return
			}
		}
	}), false)

	t.Run("Download", func(t *testing.T) {
		e := newEnv(t, up.URL, h1, nil)
		stop := heapPeak()
		start := time.Now()
		resp, err := e.client.Get(e.url("/file?n=" + strconv.FormatInt(down, 10)))
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		peak := stop()
		if err != nil || n != down {
			t.Fatalf("client read %d bytes, %v; want %d", n, err, down)
		}
		x := e.col.next(t)
		if x.Response.Body.Size != down || len(x.Response.Body.Bytes) != 64<<10 {
			t.Errorf("recorded: size %d, kept %d", x.Response.Body.Size, len(x.Response.Body.Bytes))
		}
		t.Logf("downloaded %d MiB through the proxy in %v: peak heap in use %.1f MiB (limit %d MiB)",
			down>>20, time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20), limit>>20)
		if peak > limit {
			t.Errorf("peak heap in use %d bytes, want under %d", peak, limit)
		}
	})
	t.Run("Upload", func(t *testing.T) {
		e := newEnv(t, up.URL, h1, nil)
		stop := heapPeak()
		start := time.Now()
		req, _ := http.NewRequest("PUT", e.url("/upload"), newPatternReader(upl))
		req.ContentLength = upl
		_, body := e.do(t, req)
		peak := stop()
		if want := fmt.Sprintf("%d <nil>", upl); string(body) != want {
			t.Fatalf("upstream got %q, want %q", body, want)
		}
		x := e.col.next(t)
		if x.Request.Body.Size != upl || len(x.Request.Body.Bytes) != 64<<10 {
			t.Errorf("recorded: size %d, kept %d", x.Request.Body.Size, len(x.Request.Body.Bytes))
		}
		t.Logf("uploaded %d MiB through the proxy in %v: peak heap in use %.1f MiB (limit %d MiB)",
			upl>>20, time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20), limit>>20)
		if peak > limit {
			t.Errorf("peak heap in use %d bytes, want under %d", peak, limit)
		}
	})
}

// TestSustainedLoadDropsNothing sends requests with 64 KiB bodies both
// ways through the proxy from 32 clients, faster than its sink (a store
// taking a millisecond or more a record) keeps up: the backlog grows past what the core's
// default queue holds (64 MiB of body copies, about 500 of these
// exchanges), and with the proxy's defaults no exchange is dropped.
func TestSustainedLoadDropsNothing(t *testing.T) {
	const clients, size = 32, 64 << 10
	perClient := 38
	if testing.Short() || testutil.RaceEnabled {
		perClient = 8
	}
	body := pattern(size, 9)
	up := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	}), false)
	u, _ := url.Parse(up.URL)
	var maxQueued atomic.Int64
	var p *Proxy
	p, err := New(Config{Upstream: u, Tap: bodytap.Config{Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
		if q := int64(p.Stats().Queued); q > maxQueued.Load() {
			maxQueued.Store(q)
		}
		time.Sleep(time.Millisecond)
	})}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(p)
	srv.Config = NewServer("", p)
	srv.Start()
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range clients {
		wg.Go(func() {
			for range perClient {
				resp, err := client.Post(srv.URL+"/load", "application/octet-stream", bytes.NewReader(body))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	n := int64(clients * perClient)
	t.Logf("%d requests (%d KiB each way) in %v: %.0f req/s; most queued %d; %+v",
		n, size>>10, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), maxQueued.Load(), st)
	if failed.Load() != 0 || st.Captured != n || st.Delivered != n || st.Dropped != 0 {
		t.Errorf("failed %d, Stats %+v; want %d captured and delivered, none dropped", failed.Load(), st, n)
	}
}
