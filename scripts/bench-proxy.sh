#!/usr/bin/env bash
# Benchmarks the capturing proxy, storing every exchange in a real SQLite
# file, against a bare httputil.ReverseProxy in front of the same upstream:
# throughput under full load and latency at a moderate fixed rate, 1 KiB
# bodies. Runs COUNT interleaved rounds and prints medians and ratios.
#
#   scripts/bench-proxy.sh            # COUNT=5 BENCHTIME=2s
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
benchtime=${BENCHTIME:-2s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
bin=$(mktemp -d)/proxy.test
go test -c -o "$bin" ./proxy/
for i in $(seq "$count"); do
	(cd proxy && "$bin" -test.run XXX -test.bench 'Proxy(Throughput|Latency)' -test.benchmem -test.benchtime "$benchtime") | tee -a "$out" >&2
done
echo
echo "go: $(go version | cut -d' ' -f3), $(nproc) cores, $(date -u +%Y-%m-%d), load $(cut -d' ' -f1-3 /proc/loadavg), medians of $count runs, ratios as medians of per-round ratios with their interquartile range (COUNT=$count BENCHTIME=$benchtime scripts/bench-proxy.sh)"
echo
go run ./internal/benchratio -paired < "$out"
