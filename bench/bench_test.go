package bench

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Benchmark names are Benchmark<Group>/work=<workload>/impl=<impl>, so
// that benchstat can compare implementations (benchstat -col /impl) and
// cmd/benchall can take the last element as the variant.

var (
	rotate       = flag.Int("bench.rotate", 0, "start the implementations at this index, so that rounds interleave them in different orders")
	implList     = flag.String("bench.impls", "", "comma-separated implementations to run (default: all)")
	downloadFlag = flag.String("bench.file", "", "file served by BenchmarkDownload (default: a temporary file of -bench.size bytes)")
	downloadSize = flag.Int64("bench.size", 256<<20, "size of the temporary download file")
	streamPause  = flag.Duration("bench.pause", 0, "pause between the chunks of /stream")
	parallelism  = flag.Int("bench.parallelism", 8, "loopback client goroutines per GOMAXPROCS")
	interval     = flag.Duration("bench.interval", 0, "BenchmarkInProcess: start a request every interval instead of as fast as possible (cmd/benchcore paces at half the saturation rate this way)")
	yield        = flag.Int("bench.yield", 0, "BenchmarkInProcess: call runtime.Gosched every this many requests, so that with GOMAXPROCS=1 and no preemption (scripts/bench-instr.sh) bodytap's delivery goroutine runs")
)

var (
	tempFileOnce sync.Once
	tempFile     string
	tempFileErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if tempFile != "" {
		os.RemoveAll(filepath.Dir(tempFile))
	}
	os.Exit(code)
}

// downloadFile returns the file BenchmarkDownload serves, creating it on
// first use.
func downloadFile(b *testing.B) string {
	if *downloadFlag != "" {
		return *downloadFlag
	}
	tempFileOnce.Do(func() {
		tempFile, tempFileErr = WriteDownloadFile(*downloadSize)
	})
	if tempFileErr != nil {
		b.Fatal(tempFileErr)
	}
	return tempFile
}

// ordered returns the implementations to run, rotated by -bench.rotate.
func ordered() []Impl {
	var impls []Impl
	for _, i := range Impls {
		if *implList == "" || slices.Contains(strings.Split(*implList, ","), i.Name) {
			impls = append(impls, i)
		}
	}
	if len(impls) == 0 {
		return nil
	}
	k := *rotate % len(impls)
	return append(impls[k:len(impls):len(impls)], impls[:k]...)
}

// rewindBody is a request body that can be served again without
// allocating.
type rewindBody struct{ *bytes.Reader }

func (rewindBody) Close() error { return nil }

// reportCommon reports the process CPU time per operation since cpu0 and,
// for the implementations that capture, the fraction of exchanges their
// sink did not get (dropped by bodytap's queue, for example).
func reportCommon(b *testing.B, impl Impl, s *Sink, n int, cpu0 time.Duration) {
	b.ReportMetric(float64(CPUTime()-cpu0)/float64(n), "cpu-ns/op")
	if impl.Captures() {
		seen := s.Seen()
		b.ReportMetric(float64(int64(n)-seen.N)/float64(n), "lost/op")
		b.ReportMetric(float64(seen.Shed)/float64(n), "shed/op")
	}
}

// BenchmarkInProcess is the per-request cost: the handler is called
// directly with an httptest.ResponseRecorder (a new one per request, as
// tests do). ns/op is the request path only; cpu-ns/op is the CPU time
// of the whole process per request, bodytap's delivery goroutine
// included.
func BenchmarkInProcess(b *testing.B) {
	for _, wl := range JSONWorkloads {
		payload := Payload(wl.Size, 0)
		for _, impl := range ordered() {
			b.Run("work="+wl.Name+"/impl="+impl.Name, func(b *testing.B) {
				var s Sink
				h, done := impl.Build(&s, AppOptions{})
				body := rewindBody{bytes.NewReader(payload)}
				req, err := http.NewRequest("POST", "http://example.com"+wl.Path, nil)
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.ContentLength = int64(len(payload))
				var rec *httptest.ResponseRecorder
				b.SetBytes(int64(2 * wl.Size))
				b.ReportAllocs()
				n := 0
				pace := pacer{every: *interval}
				cpu0 := CPUTime()
				for b.Loop() {
					pace.wait()
					body.Reset(payload)
					req.Body = body
					rec = httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					n++
					if *yield > 0 && n%*yield == 0 {
						runtime.Gosched()
					}
				}
				done()
				if rec.Code != 200 || rec.Body.Len() != wl.Size {
					b.Fatalf("status %d, %d bytes; want 200, %d", rec.Code, rec.Body.Len(), wl.Size)
				}
				reportCommon(b, impl, &s, n, cpu0)
			})
		}
	}
}

// A pacer starts the requests of a loop every interval apart on average
// (none when every is zero), on a fixed schedule: it sleeps until a
// request's start time and starts those whose time has passed at once.
// Sleeping is coarse here (a wait under a millisecond lasts about one),
// so requests start in bursts of about a millisecond's worth; between
// them the loop's goroutine is idle, as a server's is between requests.
// (Spinning through the wait instead took a core from the delivery
// goroutines that no idle server would take.)
type pacer struct {
	every time.Duration
	next  time.Time
}

func (p *pacer) wait() {
	if p.every <= 0 {
		return
	}
	now := time.Now()
	if p.next.IsZero() {
		p.next = now
	}
	if d := p.next.Sub(now); d > 0 {
		time.Sleep(d)
	}
	p.next = p.next.Add(p.every)
}

// BenchmarkLoopback posts each JSON workload to a real HTTP/1.1 server on
// loopback, from -bench.parallelism × GOMAXPROCS client goroutines over
// keep-alive connections. The client runs in the same process: B/op and
// allocs/op count both sides.
func BenchmarkLoopback(b *testing.B) {
	for _, wl := range JSONWorkloads {
		payload := Payload(wl.Size, 0)
		for _, impl := range ordered() {
			b.Run("work="+wl.Name+"/impl="+impl.Name, func(b *testing.B) {
				var s Sink
				h, done := impl.Build(&s, AppOptions{})
				srv, _, client := newServer(b, h, 256)
				url := srv.URL + wl.Path
				b.SetParallelism(*parallelism)
				b.SetBytes(int64(2 * wl.Size))
				b.ReportAllocs()
				cpu0 := CPUTime()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := client.Post(url, "application/json", bytes.NewReader(payload))
						if err != nil {
							b.Error(err)
							return
						}
						n, err := io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err != nil || n != int64(wl.Size) {
							b.Errorf("read %d bytes (%v), want %d", n, err, wl.Size)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				srv.Close()
				done()
				reportCommon(b, impl, &s, b.N, cpu0)
			})
		}
	}
}

// BenchmarkStream gets /stream (StreamChunks flushed chunks, -bench.pause
// apart) over loopback, one request at a time, and reports the median
// time to the first body byte at the client (ttfb-ns) besides the total
// (ns/op).
func BenchmarkStream(b *testing.B) {
	const total = StreamChunks * StreamChunk
	for _, impl := range ordered() {
		b.Run(fmt.Sprintf("work=stream%dx%dk/impl=%s", StreamChunks, StreamChunk>>10, impl.Name), func(b *testing.B) {
			var s Sink
			h, done := impl.Build(&s, AppOptions{StreamPause: *streamPause})
			srv, _, client := newServer(b, h, 1)
			url := srv.URL + StreamPath
			ttfb := make([]time.Duration, 0, b.N)
			first := make([]byte, 1)
			b.SetBytes(total)
			b.ReportAllocs()
			cpu0 := CPUTime()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(resp.Body, first); err != nil {
					b.Fatal(err)
				}
				ttfb = append(ttfb, time.Since(t0))
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n+1 != total {
					b.Fatalf("read %d bytes (%v), want %d", n+1, err, total)
				}
			}
			b.StopTimer()
			srv.Close()
			done()
			slices.Sort(ttfb)
			b.ReportMetric(float64(ttfb[len(ttfb)/2]), "ttfb-ns")
			reportCommon(b, impl, &s, b.N, cpu0)
		})
	}
}

// BenchmarkDownload gets a large file (256 MiB by default) that the
// handler serves with io.Copy(w, f), over loopback. It reports the peak
// heap of the process during the benchmark (peak-heap-B) and the share of
// the response bytes that went through ReadFrom from the file, that is by
// sendfile (sendfile-%).
func BenchmarkDownload(b *testing.B) {
	for _, impl := range ordered() {
		b.Run("work=file/impl="+impl.Name, func(b *testing.B) {
			file := downloadFile(b)
			st, err := os.Stat(file)
			if err != nil {
				b.Fatal(err)
			}
			size := st.Size()
			var s Sink
			h, done := impl.Build(&s, AppOptions{DownloadFile: file})
			srv, l, client := newServer(b, h, 1)
			url := srv.URL + DownloadPath
			buf := make([]byte, 256<<10)
			discard := struct{ io.Writer }{io.Discard} // no ReadFrom: buf is used
			b.SetBytes(size)
			b.ReportAllocs()
			heap := StartHeapSampler()
			cpu0 := CPUTime()
			b.ResetTimer()
			for range b.N {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(discard, resp.Body, buf)
				resp.Body.Close()
				if err != nil || n != size {
					b.Fatalf("read %d bytes (%v), want %d", n, err, size)
				}
			}
			b.StopTimer()
			srv.Close()
			done()
			b.ReportMetric(float64(heap.Stop()), "peak-heap-B")
			b.ReportMetric(100*l.FileShare(), "sendfile-%")
			reportCommon(b, impl, &s, b.N, cpu0)
		})
	}
}
