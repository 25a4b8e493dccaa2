package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/otlp"
	"github.com/bodytap/bodytap/store"
)

// otelcolVersion is the collector scripts/otelcol/build.sh builds.
const otelcolVersion = "v0.165.0"

// otelcolBinary returns the collector that scripts/otelcol/build.sh
// built and cached in the module cache (.ci/setup runs it). In CI a
// missing one fails the test; elsewhere it is skipped.
func otelcolBinary(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(strings.TrimSpace(string(out)), "cache", "bodytap-otelcol-"+otelcolVersion, "otelcol-bodytap")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no OpenTelemetry Collector at %s in CI: .ci/setup builds it with scripts/otelcol/build.sh", bin)
		}
		t.Skipf("no OpenTelemetry Collector at %s: build it with scripts/otelcol/build.sh (a few minutes, once)", bin)
	}
	return bin
}

// otelcol is a running OpenTelemetry Collector process.
type otelcol struct {
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{}
}

// startOtelcol starts the collector with config and waits until it
// accepts connections on addr.
func startOtelcol(t *testing.T, bin, config, addr string, log *syncBuffer) *otelcol {
	t.Helper()
	c := &otelcol{cmd: exec.Command(bin, "--config", "file:"+config), log: log, exited: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(c.kill)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return c
		}
		select {
		case <-c.exited:
			t.Fatalf("the collector exited:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector does not listen on %s:\n%s", addr, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the collector at once, as a crash would: what it holds is lost.
func (c *otelcol) kill() {
	c.cmd.Process.Kill()
	<-c.exited
}

// TestCollectorPipeline runs the fleet's pipeline with real components: a
// Go server tapped by bodytap, exporting with otlp.New over OTLP/HTTP to
// a real OpenTelemetry Collector (otlp receiver, batch processor,
// otlphttp exporter, built by the official builder), which forwards to
// bodytap collect's receiver and store, in this process. Requests flow
// the whole time; the collector is killed mid-run and restarted. Every
// exchange that arrives must carry the client's trace ID, its bodies
// intact and its secrets redacted; the test counts what was lost and
// what arrived only thanks to the exporter's retries.
func TestCollectorPipeline(t *testing.T) {
	bin := otelcolBinary(t)
	for _, transport := range []string{"http", "grpc"} {
		t.Run(transport, func(t *testing.T) { testCollectorPipeline(t, bin, transport) })
	}
}

// testCollectorPipeline runs the pipeline with the service exporting over
// transport, "http" or "grpc".
func testCollectorPipeline(t *testing.T, bin, transport string) {
	dir := t.TempDir()

	st, err := store.Open(filepath.Join(dir, "fleet.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rv := &otlp.Receiver{Sink: st}
	collect, err := startCollector(rv, "127.0.0.1:0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer collect.shutdown()

	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	config := filepath.Join(dir, "otelcol.yaml")
	err = os.WriteFile(config, []byte(fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
      grpc:
        endpoint: %s
processors:
  batch:
    timeout: 200ms
exporters:
  otlphttp:
    endpoint: %s
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp]
`, httpAddr, grpcAddr, collect.httpURL)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	colLog := new(syncBuffer)
	col := startOtelcol(t, bin, config, grpcAddr, colLog)

	ctx := context.Background()
	url := "http://" + httpAddr
	if transport == "grpc" {
		url = "grpc://" + grpcAddr
	}
	sink, err := otlp.New(ctx, otlp.Config{URL: url, Interval: 100 * time.Millisecond, CloseTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	tap := bodytap.New(bodytap.Config{Sink: sink})
	app := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.Copy(w, r.Body)
	}))
	srv := httptest.NewServer(app)
	defer srv.Close()

	// sent holds each request's trace ID (hex) and body, by its phase:
	// before the kill, while the collector is down, after the restart.
	type request struct {
		body  string
		phase int
	}
	var (
		mu    sync.Mutex
		sent  = map[string]request{}
		phase int
	)
	send := func() {
		var id [16]byte
		rand.Read(id[:])
		trace := hex.EncodeToString(id[:])
		mu.Lock()
		ph := phase
		mu.Unlock()
		body := fmt.Sprintf(`{"n":%q,"password":"hunter2","text":"héllo, wörld"}`, trace)
		req, _ := http.NewRequest("POST", srv.URL+"/orders?token=sekrit", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Traceparent", "00-"+trace+"-b7ad6b7169203331-01")
		req.Header.Set("Authorization", "Bearer s3cr3t-t0ken")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mu.Lock()
		sent[trace] = request{body, ph}
		mu.Unlock()
	}
	setPhase := func(p int) { mu.Lock(); phase = p; mu.Unlock() }

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				send()
			}
		}
	}()
	time.Sleep(2 * time.Second)
	col.kill()
	setPhase(1)
	time.Sleep(2 * time.Second)
	setPhase(2)
	col = startOtelcol(t, bin, config, grpcAddr, colLog)
	time.Sleep(2 * time.Second)
	close(stop)
	<-done
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Error(err)
	}

	// Wait for the collector's last batch: until arrivals stop.
	var last int64 = -1
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		n := rv.Stats().Exchanges
		if n == last {
			break
		}
		last = n
		time.Sleep(time.Second)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	col.kill()

	arrived := map[string]int{}
	for x, err := range st.Scan(ctx, store.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		trace := hex.EncodeToString(x.Trace.TraceID[:])
		arrived[trace]++
		req, ok := sent[trace]
		if !ok {
			t.Errorf("an exchange with trace ID %s, which no request had", trace)
			continue
		}
		if arrived[trace] > 1 {
			continue
		}
		for _, part := range []struct {
			name string
			b    *bodytap.Body
		}{{"request", &x.Request.Body}, {"response", &x.Response.Body}} {
			if got := string(part.b.Bytes); !part.b.Redacted || strings.Contains(got, "hunter2") || !strings.Contains(got, `"text":"héllo, wörld"`) || !strings.Contains(got, trace) {
				t.Errorf("%s: %s body %q, redacted %v; want %q with the password redacted", trace, part.name, got, part.b.Redacted, req.body)
			}
		}
		if a := x.Request.Header.Get("Authorization"); strings.Contains(a, "s3cr3t") {
			t.Errorf("%s: Authorization %q not redacted", trace, a)
		}
		if strings.Contains(x.Request.URL.RawQuery, "sekrit") {
			t.Errorf("%s: query %q not redacted", trace, x.Request.URL.RawQuery)
		}
	}

	var perPhase, lostPerPhase [3]int
	dups := 0
	for trace, req := range sent {
		perPhase[req.phase]++
		switch n := arrived[trace]; {
		case n == 0:
			lostPerPhase[req.phase]++
		case n > 1:
			dups += n - 1
		}
	}
	ss := sink.Stats()
	lost := lostPerPhase[0] + lostPerPhase[1] + lostPerPhase[2]
	t.Logf("%s: sent %d (%d before the kill, %d while the collector was down, %d after its restart); arrived %d; "+
		"lost %d (%d, %d, %d); of those sent while down %d arrived, retried by the exporter; duplicates %d; "+
		"exporter: exported %d, failed %d, dropped %d; collect: %d requests",
		transport, len(sent), perPhase[0], perPhase[1], perPhase[2], len(arrived),
		lost, lostPerPhase[0], lostPerPhase[1], lostPerPhase[2], perPhase[1]-lostPerPhase[1], dups,
		ss.Exported, ss.Failed, ss.Dropped, rv.Stats().Requests)

	if perPhase[0] == 0 || perPhase[1] == 0 || perPhase[2] == 0 {
		t.Errorf("phases %v: want requests in each", perPhase)
	}
	// Every record is accounted for: exported (taken by the collector),
	// failed or dropped; of the exported, only those the killed collector
	// held in memory (its batch, 200 ms) may be missing.
	if n := ss.Exported + ss.Failed + ss.Dropped; n != int64(len(sent)) {
		t.Errorf("the exporter accounts for %d records, want the %d sent", n, len(sent))
	}
	if inCollector := ss.Exported - int64(len(arrived)); inCollector < 0 || int64(lost) != inCollector+ss.Failed+ss.Dropped {
		t.Errorf("lost %d: want the failed and dropped (%d) and those the collector took but lost (%d)", lost, ss.Failed+ss.Dropped, inCollector)
	}
	// After the restart nothing may be lost.
	if lostPerPhase[2] != 0 {
		t.Errorf("lost %d exchanges captured after the restart", lostPerPhase[2])
	}
	// Both transports retry while the collector is down: OTLP/gRPC's
	// exporter on Unavailable, otlp.Sink around OTLP/HTTP's exporter on a
	// refused connection.
	if lostPerPhase[1] != 0 {
		t.Errorf("over %s, lost %d exchanges captured while the collector was down, want them retried", transport, lostPerPhase[1])
	}
}
