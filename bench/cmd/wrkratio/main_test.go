package main

import (
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
	want := run{rps: 32000.50, p50: 612 * time.Microsecond, p99: 2350 * time.Microsecond, errors: 6}
	if r != want {
		t.Errorf("parseFile: %+v, want %+v", r, want)
	}
}

func TestRatio(t *testing.T) {
	rs := map[int]run{1: {rps: 50}, 2: {rps: 90}, 3: {rps: 30}}
	base := map[int]run{1: {rps: 100}, 2: {rps: 100}, 3: {rps: 60}}
	if got := ratio(rs, base, func(r run) float64 { return r.rps }); got != "0.50" {
		t.Errorf("ratio = %s, want 0.50 (the median of 0.5, 0.9, 0.5)", got)
	}
}
