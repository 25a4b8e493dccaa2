package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needTool returns the path of an external program a test needs. In CI
// (CI=true) a missing one fails the test, since .ci/setup installs it;
// elsewhere the test is skipped with a message saying what to install.
func needTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing in CI: %s", name, install)
		}
		t.Skipf("%s is not installed (%s)", name, install)
	}
	return path
}

// freeAddr returns a loopback address with a port free a moment ago, for
// programs that cannot listen on port 0 and say which port they got.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestPrometheusScrapes runs a real Prometheus (2.42, Debian's package)
// that scrapes the real proxy's /metrics every second, and asks it over
// its HTTP API, in PromQL, how many exchanges the proxy captured.
func TestPrometheusScrapes(t *testing.T) {
	prom := needTool(t, "prometheus", "apt-get install prometheus")
	up := upstream(t)
	dir := t.TempDir()
	p := startProxyProc(t, "--upstream", up.URL, "--db", filepath.Join(dir, "p.db"), "--metrics", "127.0.0.1:0", "--token", "s3cret")
	target, err := url.Parse(p.mURL)
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: bodytap
    metrics_path: %s
    authorization:
      credentials: s3cret
    static_configs:
      - targets: [%q]
`, target.Path, target.Host)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+addr)
	log := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	const n = 7
	for range n {
		get(t, http.DefaultClient, p.url+"/json")
	}
	queries := map[string]float64{
		`bodytap_exchanges_captured_total{job="bodytap"}`:                         n,
		`sum(bodytap_exchanges_dropped_total)`:                                    0,
		`bodytap_store_exchanges_stored_total - bodytap_exchanges_captured_total`: 0,
	}
	deadline := time.Now().Add(60 * time.Second)
	for q, want := range queries {
		for {
			got, err := promQuery("http://"+addr, q)
			if err == nil && got == want {
				break
			}
			select {
			case <-exited:
				t.Fatalf("prometheus exited:\n%s", log.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: got %v (%v), want %v\nprometheus:\n%s", q, got, err, want, log.String())
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	p.stop(t)
}

// promQuery evaluates an instant PromQL query that gives one sample and
// returns its value.
func promQuery(base, q string) (float64, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, fmt.Errorf("%s: %v", resp.Status, err)
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s: %s", r.Status, r.Error)
	}
	if len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("%d samples, want 1", len(r.Data.Result))
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	var v float64
	_, err = fmt.Sscan(strings.TrimSpace(s), &v)
	return v, err
}
