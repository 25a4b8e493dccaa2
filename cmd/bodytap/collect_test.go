package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// collectLine is the line bodytap collect prints once it receives.
var collectLine = regexp.MustCompile(`bodytap collect: OTLP/HTTP on (\S+), OTLP/gRPC on (\S+),`)

// startCollect starts `bodytap collect` with args and waits until it
// receives; it returns its OTLP/HTTP URL and gRPC address, and a function
// that stops it with SIGTERM and waits.
func startCollect(t *testing.T, args ...string) (httpURL, grpcAddr string, stop func()) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"collect"}, args...)...)
	cmd.Env = cleanEnv()
	pr, pw := io.Pipe()
	stderr := new(syncBuffer)
	cmd.Stderr = io.MultiWriter(pw, stderr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := collectLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case m := <-found:
		httpURL, grpcAddr = m[1], m[2]
	case err := <-exited:
		t.Fatalf("bodytap collect exited: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("bodytap collect did not start\n%s", stderr.String())
	}
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("bodytap collect: %v\n%s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("bodytap collect did not exit within 15 s of SIGTERM\n%s", stderr.String())
		}
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return httpURL, grpcAddr, stop
}

// TestProxyToCollect runs the fleet's pipeline in small: a proxy exporting
// over OTLP (HTTP, then gRPC) into bodytap collect, whose store ls reads.
func TestProxyToCollect(t *testing.T) {
	up := upstream(t)
	db := filepath.Join(t.TempDir(), "fleet.db")
	httpURL, grpcAddr, stopCollect := startCollect(t, "--db", db, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--token", "t0k")
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	for _, otlpURL := range []string{httpURL, "grpc://" + grpcAddr} {
		p := startProxyProc(t, "--upstream", up.URL, "--otlp", otlpURL, "--otlp-token", "t0k", "--otlp-only")
		req, _ := http.NewRequest("POST", p.url+"/echo", strings.NewReader(`{"password":"hunter2","q":"`+otlpURL+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Traceparent", tp)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if _, err := http.Get(p.url + "/bin"); err != nil {
			t.Fatal(err)
		}
		p.stop(t)
		if !strings.Contains(p.stderr.String(), "exported=2 failed=0 dropped=0") {
			t.Errorf("proxy with --otlp %s:\n%s", otlpURL, p.stderr.String())
		}
	}
	// Two proxies, two exports of two exchanges each; /metrics wants the
	// token too.
	s := waitMetric(t, httpURL+"/metrics", "t0k", "bodytap_store_exchanges_stored_total", 4)
	wantSamples(t, "collect", s, map[string]float64{
		"bodytap_collect_exchanges_total":        4,
		"bodytap_collect_records_ignored_total":  0,
		"bodytap_collect_records_rejected_total": 0,
		"bodytap_collect_requests_refused_total": 0,
	})
	if s["bodytap_collect_requests_total"] < 2 {
		t.Errorf("collect: %v requests, want at least 2", s["bodytap_collect_requests_total"])
	}
	if resp, err := http.Get(httpURL + "/metrics"); err != nil {
		t.Error(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %s, want 401", resp.Status)
	}
	stopCollect()
	xs := lsJSON(t, "--db", db)
	if len(xs) != 4 {
		t.Fatalf("collected %d exchanges, want 4", len(xs))
	}
	var echoes int
	for _, x := range xs {
		switch x.Request.URL.Path {
		case "/echo":
			echoes++
			if strings.Contains(string(x.Request.Body.Bytes), "hunter2") || !x.Request.Body.Redacted {
				t.Errorf("request body not redacted: %q", x.Request.Body.Bytes)
			}
		case "/bin":
			if !bytes.Equal(x.Response.Body.Bytes, binaryBody) {
				t.Errorf("binary body: %d bytes, want %d", len(x.Response.Body.Bytes), len(binaryBody))
			}
		}
	}
	if echoes != 2 {
		t.Errorf("%d echoes, want 2", echoes)
	}
	// The store does not keep the trace context yet (the JSON form it
	// keeps has none); the otlp package's tests check that it arrives.
}

func TestCollectRefusesPublicWithoutToken(t *testing.T) {
	for _, args := range [][]string{
		{"--http", "0.0.0.0:0", "--grpc", ""},
		{"--http", "", "--grpc", ":0"},
	} {
		r := bodytapCmd(t, nil, append([]string{"collect", "--db", filepath.Join(t.TempDir(), "x.db")}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "without --token") {
			t.Errorf("collect %v: exit %d, %s", args, r.code, r.stderr)
		}
	}
}
