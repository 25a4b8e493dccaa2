package bodytap

import (
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMemoryBoundedWhileStreaming streams 2 GiB (256 MiB under -race)
// through the tap over a real loopback connection with a 1 MiB cap and
// checks that the heap never grows past 64 MiB: a body costs its cap, not
// its size.
func TestMemoryBoundedWhileStreaming(t *testing.T) {
	const capBytes, limit = 1 << 20, 64 << 20
	total := int64(2 << 30)
	if raceEnabled {
		total = 256 << 20
		t.Logf("race build: streaming %d MiB instead of 2 GiB", total>>20)
	}
	col := newCollector()
	tap := New(Config{Sink: col, MaxBodyBytes: capBytes})
	defer tap.Close()
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for sent := int64(0); sent < total; sent += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	srv, client := newServer(t, h, false)

	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	close(stop)
	wg.Wait()
	if err != nil || n != total {
		t.Fatalf("client read %d bytes, %v; want %d", n, err, total)
	}
	x := col.next(t)
	if x.Response.Body.Size != total || len(x.Response.Body.Bytes) != capBytes {
		t.Errorf("Body: size %d, kept %d; want %d, %d", x.Response.Body.Size, len(x.Response.Body.Bytes), total, capBytes)
	}
	p := peak.Load()
	t.Logf("streamed %d MiB in %v with a %d MiB cap: peak heap %.1f MiB (limit %d MiB)",
		total>>20, time.Since(start).Round(time.Millisecond), capBytes>>20, float64(p)/(1<<20), limit>>20)
	if p > limit {
		t.Errorf("peak heap %d bytes, want under %d", p, limit)
	}
}
