#!/usr/bin/env bash
# Benchmarks the core middleware against a bare handler in the same run:
# in-process and over a real loopback HTTP/1.1 server, bodies of 1 KiB,
# 64 KiB and 1 MiB. Runs COUNT interleaved rounds and prints
# medians and ratios to bare.
#
#   scripts/bench-core.sh            # COUNT=6 BENCHTIME=1s
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-6}
benchtime=${BENCHTIME:-1s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
bin=$(mktemp -d)/bodytap.test
go test -c -o "$bin" .
# One pass per round, so that bare, skip and capture alternate and a noisy
# minute on a shared machine hits them alike.
for i in $(seq "$count"); do
	"$bin" -test.run XXX -test.bench 'InProcess|Loopback' -test.benchmem -test.benchtime "$benchtime" | tee -a "$out" >&2
done
echo
echo "go: $(go version | cut -d' ' -f3), $(nproc) cores, $(date -u +%Y-%m-%d), medians of $count runs, ratios as medians of per-round ratios with their interquartile range (COUNT=$count BENCHTIME=$benchtime scripts/bench-core.sh)"
echo
go run ./internal/benchratio -paired < "$out"
