package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/pgtest"
	"github.com/bodytap/bodytap/otlp"
)

// fleetTotal is how many exchanges TestPostgresFleet writes:
// $BODYTAP_FLEET_EXCHANGES, or 20,000 (about half a minute on two
// cores); the figure is 200,000.
func fleetTotal(t *testing.T) int {
	s := os.Getenv("BODYTAP_FLEET_EXCHANGES")
	if s == "" {
		return 20_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 {
		t.Fatalf("BODYTAP_FLEET_EXCHANGES=%q: want a number of at least 100", s)
	}
	return n
}

// TestPostgresFleet runs a fleet into one database: three `bodytap
// proxy` processes capturing requests and two `bodytap collect`
// processes receiving OTLP exports, all at once, while PostgreSQL is
// stopped and started again in the middle. Every exchange is stored
// exactly once: each has a path of its own, and the database holds as
// many rows, IDs and paths as exchanges were made. The writers spool to
// disk while the server is away and replay when it is back.
func TestPostgresFleet(t *testing.T) {
	db := pgtest.DB(t)
	c, err := pgtest.Current()
	if err != nil {
		t.Fatal(err)
	}
	// The proxies share one spool directory (--spool), as processes on
	// one machine may; each collector has its own.
	proxySpool := t.TempDir()
	total := fleetTotal(t)
	perProxy := total * 3 / 10 / 3 // 30% through the proxies
	perCollect := (total - 3*perProxy) / 2

	up := upstream(t)
	var proxies []*proxyProc
	for range 3 {
		proxies = append(proxies, startProxyProc(t, "--upstream", up.URL, "--db", db, "--spool", proxySpool))
	}
	type collector struct {
		url  string
		stop func()
	}
	var collectors []collector
	for range 2 {
		u, _, stop := startCollect(t, "--db", db, "--http", "127.0.0.1:0", "--grpc", "", "--spool", t.TempDir())
		collectors = append(collectors, collector{u, stop})
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		made int // exchanges sent and acknowledged
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		cancel()
	}
	count := func(n int) {
		mu.Lock()
		made += n
		mu.Unlock()
	}
	start := time.Now()
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	body := strings.Repeat("fleet ", 40)
	for p, proxy := range proxies {
		const conns = 4
		for k := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := k; i < perProxy && ctx.Err() == nil; i += conns {
					resp, err := client.Post(fmt.Sprintf("%s/echo?w=p%d&i=%d", proxy.url, p, i), "text/plain", strings.NewReader(body))
					if err != nil {
						fail(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						fail(fmt.Errorf("proxy %d: status %d", p, resp.StatusCode))
						return
					}
					count(1)
				}
			}()
		}
	}
	for w, col := range collectors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sink, err := otlp.New(ctx, otlp.Config{URL: col.url, MaxQueue: 4096, Interval: 50 * time.Millisecond})
			if err != nil {
				fail(err)
				return
			}
			defer sink.Close()
			const chunk = 1000
			for i := 0; i < perCollect && ctx.Err() == nil; i += chunk {
				var xs []*bodytap.Exchange
				for j := i; j < min(i+chunk, perCollect); j++ {
					at := time.Now()
					x := &bodytap.Exchange{ID: bodytap.NewID(at), Start: at, Duration: time.Millisecond}
					x.Request.Method = "POST"
					x.Request.Host = "svc.internal"
					x.Request.URL = &url.URL{Scheme: "http", Host: "svc.internal", Path: "/echo", RawQuery: fmt.Sprintf("w=c%d&i=%d", w, j)}
					x.Request.Body = bodytap.Body{Bytes: []byte(body), Size: int64(len(body)), EOF: true}
					x.Response.Status = 200
					xs = append(xs, x)
				}
				sink.RecordBatch(xs)
				if err := sink.Flush(ctx); err != nil {
					fail(err)
					return
				}
				if st := sink.Stats(); st.Failed+st.Dropped > 0 {
					fail(fmt.Errorf("collector %d: OTLP export lost records: %+v", w, st))
					return
				}
				count(len(xs))
			}
		}()
	}

	// Stop the server once a third of the exchanges are made, for a
	// while, with every writer busy.
	waitFor := func(what string, n int) {
		for end := time.Now().Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			m := made
			mu.Unlock()
			if m >= n || ctx.Err() != nil {
				return
			}
			if time.Now().After(end) {
				t.Fatalf("%s: %d exchanges made, want %d", what, m, n)
			}
		}
	}
	waitFor("before the restart", total/3)
	restarted := time.Now()
	if err := c.Restart(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL stopped and started in %v", time.Since(restarted).Round(time.Millisecond))
	wg.Wait()
	elapsed := time.Since(start)
	if len(errs) > 0 {
		t.Fatalf("%d errors, the first: %v", len(errs), errs[0])
	}
	for _, p := range proxies {
		p.stop(t) // writes what its queue holds, and the spool
	}
	// A collector's metrics count its spool: whatever it spooled, it
	// wrote back, and holds nothing now that the database is back.
	for i, col := range collectors {
		m := waitMetric(t, col.url+"/metrics", "", "bodytap_store_spool_size_bytes", 0)
		if sp, rp := m["bodytap_store_spool_exchanges_spooled_total"], m["bodytap_store_spool_exchanges_replayed_total"]; sp != rp || m["bodytap_store_spool_exchanges_dropped_total"] != 0 {
			t.Errorf("collector %d: spool metrics %v spooled, %v replayed, %v dropped: want all replayed", i,
				sp, rp, m["bodytap_store_spool_exchanges_dropped_total"])
		}
		if _, ok := m["bodytap_store_spool_away"]; !ok {
			t.Errorf("collector %d: no bodytap_store_spool_away in its metrics", i)
		}
		col.stop()
	}

	out, err := c.Psql(dbNameOf(t, db), "SELECT count(*), count(DISTINCT id), count(DISTINCT url) FROM exchanges")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d|%d|%d", total, total, total); out != want {
		t.Errorf("rows|IDs|URLs: got %s, want %s", out, want)
		out, _ := c.Psql(dbNameOf(t, db), "SELECT substr(url, strpos(url, 'w='), 4), count(*) FROM exchanges GROUP BY 1 ORDER BY 1")
		t.Logf("by writer:\n%s", out)
		for i, p := range proxies {
			t.Logf("proxy %d:\n%s", i, p.stderr.String())
		}
	}
	var spooling int
	for i, p := range proxies {
		log := p.stderr.String()
		if strings.Contains(log, "database away") {
			spooling++
			if !strings.Contains(log, "dir="+proxySpool) {
				t.Errorf("proxy %d spooled elsewhere than its --spool %s:\n%s", i, proxySpool, log)
			}
		}
		if strings.Contains(log, "batch lost") || strings.Contains(log, "spool full") {
			t.Errorf("proxy %d lost exchanges:\n%s", i, log)
		}
	}
	if spooling == 0 {
		t.Errorf("no proxy spooled while PostgreSQL was stopped")
	}
	t.Logf("%d exchanges (%d through 3 proxies, %d through 2 collectors) in %v; %d of 3 proxies spooled",
		total, 3*perProxy, 2*perCollect, elapsed.Round(time.Millisecond), spooling)
}

// dbNameOf returns the database name of a pgtest URL.
func dbNameOf(t *testing.T, u string) string {
	t.Helper()
	i := strings.LastIndexByte(u, '/')
	j := strings.IndexByte(u[i:], '?')
	if i < 0 || j < 0 {
		t.Fatalf("unexpected URL %q", u)
	}
	return u[i+1 : i+j]
}
