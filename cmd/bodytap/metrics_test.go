package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/metrics"
)

// scrape GETs a /metrics URL, with token as a bearer token unless it is
// empty, and parses the text format strictly.
func scrape(t *testing.T, url, token string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != metrics.ContentType {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s, Content-Type %q\n%s", url, resp.Status, resp.Header.Get("Content-Type"), b)
	}
	samples, _, err := metrics.ParseText(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return samples
}

// waitMetric scrapes url until the series key has the value want, and
// returns that scrape.
func waitMetric(t *testing.T, url, token, key string, want float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := scrape(t, url, token)
		if s[key] == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s is %v, want %v", url, key, s[key], want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantSamples fails for each series of want that s does not have with
// that value.
func wantSamples(t *testing.T, where string, s, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if got, ok := s[k]; !ok || got != v {
			t.Errorf("%s: %s is %v (present: %v), want %v", where, k, got, ok, v)
		}
	}
}

// TestProxyMetrics scrapes the real proxy's /metrics, on its --metrics
// server and on its viewer, while it captures.
func TestProxyMetrics(t *testing.T) {
	up := upstream(t)
	db := filepath.Join(t.TempDir(), "m.db")
	p := startProxyProc(t, "--upstream", up.URL, "--db", db, "--ui", "127.0.0.1:0", "--metrics", "127.0.0.1:0")
	if p.mURL == "" || p.uiURL == "" {
		t.Fatalf("no metrics or viewer URL in\n%s", p.stderr.String())
	}
	for range 3 {
		get(t, http.DefaultClient, p.url+"/bin")
	}
	// The proxy forwards the upstream's own /metrics, and captures it.
	if resp, b := get(t, http.DefaultClient, p.url+"/metrics"); resp.StatusCode != 404 || strings.Contains(string(b), "bodytap_") {
		t.Errorf("the proxy answered /metrics itself: %s\n%s", resp.Status, b)
	}
	s := waitMetric(t, p.mURL, "", "bodytap_store_exchanges_stored_total", 4)
	wantSamples(t, "--metrics", s, map[string]float64{
		"bodytap_exchanges_captured_total":                     4,
		"bodytap_exchanges_delivered_total":                    4,
		`bodytap_exchanges_dropped_total{reason="queue_full"}`: 0,
		`bodytap_exchanges_dropped_total{reason="closed"}`:     0,
		"bodytap_queue_exchanges":                              0,
		"bodytap_store_errors_total":                           0,
	})
	if s["bodytap_store_size_bytes"] <= 0 {
		t.Errorf("bodytap_store_size_bytes is %v", s["bodytap_store_size_bytes"])
	}
	if _, ok := s["bodytap_otlp_records_exported_total"]; ok {
		t.Error("OTLP counters without --otlp")
	}

	// A look at the viewer searches the store; its /metrics says so.
	get(t, http.DefaultClient, p.uiURL+"?q="+"~c+200")
	s = scrape(t, strings.TrimSuffix(p.uiURL, "/")+"/metrics", "")
	if s["bodytap_store_searches_total"] < 1 || s["bodytap_store_search_time_seconds_total"] <= 0 {
		t.Errorf("viewer's /metrics: %v searches in %v s, want some", s["bodytap_store_searches_total"], s["bodytap_store_search_time_seconds_total"])
	}
	wantSamples(t, "viewer", s, map[string]float64{"bodytap_exchanges_captured_total": 4})
	p.stop(t)
}

// TestMetricsToken: with --token, a scrape must carry it; without one,
// --metrics refuses to listen beyond loopback.
func TestMetricsToken(t *testing.T) {
	up := upstream(t)
	db := filepath.Join(t.TempDir(), "m.db")
	r := bodytapCmd(t, nil, "proxy", "--upstream", up.URL, "--db", db, "--metrics", "0.0.0.0:0")
	if r.code != 2 || !strings.Contains(r.stderr, "--metrics 0.0.0.0:0: refusing") {
		t.Errorf("--metrics 0.0.0.0:0 without a token: exit %d\n%s", r.code, r.stderr)
	}
	p := startProxyProc(t, "--upstream", up.URL, "--db", db, "--metrics", "127.0.0.1:0", "--token", "s3cret")
	for _, auth := range []string{"", "Bearer wrong", "s3cret"} {
		req, _ := http.NewRequest("GET", p.mURL, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %s, want 401", auth, resp.Status)
		}
	}
	scrape(t, p.mURL, "s3cret")
	p.stop(t)
}

// uiLine is the line bodytap ui prints once it serves.
var uiLine = regexp.MustCompile(`bodytap ui: viewing .* at (http://\S+)$`)

// TestUIMetrics scrapes bodytap ui's /metrics: the searches of its store.
func TestUIMetrics(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ui.db")
	importExchanges(t, db, exchange(t, "", "http://example.com/a", []byte("a")), exchange(t, "", "http://example.com/b", []byte("b")))
	url := startUI(t, "--db", db)
	get(t, http.DefaultClient, url)
	s := scrape(t, url+"metrics", "")
	if s["bodytap_store_searches_total"] < 1 || s["bodytap_store_size_bytes"] <= 0 {
		t.Errorf("ui /metrics: %v", s)
	}
	wantSamples(t, "ui", s, map[string]float64{"bodytap_store_exchanges_stored_total": 0})
	if _, ok := s["bodytap_exchanges_captured_total"]; ok {
		t.Error("ui has no tap, but /metrics has its counters")
	}
}

// startUI starts bodytap ui with args on a free loopback port and returns
// the address it serves, once it does.
func startUI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"ui", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := uiLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case url := <-found:
		return url
	case <-time.After(20 * time.Second):
		t.Fatal("bodytap ui did not start")
	}
	return ""
}
