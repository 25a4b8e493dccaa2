package main

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const sample = `Running 4s test @ http://127.0.0.1:40000/json1k
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms    2.10ms  40.00ms   95.00%
    Req/Sec    16.00k     1.00k   18.00k    70.00%
  Latency Distribution
     50%  612.00us
     75%    1.00ms
     90%    2.00ms
     99%    2.35ms
  128000 requests in 4.00s, 150.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 2
Requests/sec:  32000.50
Transfer/sec:     37.50MB
Server CPU: 3.840 s
`

func TestParseFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "bare.json1k.1.txt")
	if err := os.WriteFile(name, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := parseFile(name)
	if err != nil {
		t.Fatal(err)
	}
	want := run{rps: 32000.50, requests: 128000, cpu: 3.84, p50: 612 * time.Microsecond, p99: 2350 * time.Microsecond, errors: 6}
	if r != want {
		t.Errorf("parseFile: %+v, want %+v", r, want)
	}
	if got := r.cpuPerReq(); math.Abs(got-30e-6) > 1e-12 {
		t.Errorf("cpuPerReq = %v, want 30 µs", got)
	}
}

func TestRatio(t *testing.T) {
	rs := map[int]run{1: {rps: 50}, 2: {rps: 90}, 3: {rps: 30}}
	base := map[int]run{1: {rps: 100}, 2: {rps: 100}, 3: {rps: 60}}
	if got := ratio(rs, base, func(r run) float64 { return r.rps }); got != "0.50" {
		t.Errorf("ratio = %s, want 0.50 (the median of 0.5, 0.9, 0.5)", got)
	}
}

func TestCheapest(t *testing.T) {
	runs := map[string]map[int]run{
		"chi.json1k":       {1: {requests: 100, cpu: 0.003}, 2: {requests: 100, cpu: 0.0028}},
		"httpsnoop.json1k": {1: {requests: 100, cpu: 0.0025}, 2: {requests: 100, cpu: 0.0032}, 3: {requests: 100, cpu: 0.0026}},
		"bare.json1k":      {1: {requests: 100, cpu: 0.001}},
		"chi.json64k":      {1: {rps: 10}}, // no CPU line
	}
	if got := cheapest(runs, []string{"chi", "httpsnoop"}, "json1k"); got != "httpsnoop" {
		t.Errorf("cheapest = %q, want httpsnoop (median 26 µs against chi's 29)", got)
	}
	if got := cheapest(runs, []string{"chi", "httpsnoop"}, "json64k"); got != "" {
		t.Errorf("cheapest with no CPU figures = %q, want none", got)
	}
	if got := cheapest(runs, []string{"echo"}, "json1k"); got != "" {
		t.Errorf("cheapest of peers that did not run = %q, want none", got)
	}
}
