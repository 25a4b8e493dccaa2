#!/usr/bin/env bash
# Benchmarks the core middleware against its peers in one run: bodytap
# (redaction on and off; and with a sink that keeps its records), chi's Tee and httpsnoop (each keeping the same
# bounded copy and handing a record to a callback) and a bare handler,
# over loopback HTTP/1.1 at 1 KiB and in process at 1 KiB, 64 KiB and
# 1 MiB, with records lost counted at saturation and at half the
# saturation rate. Prints Markdown: medians, and ratios to the cheapest
# peer as medians of per-round ratios with their interquartile range.
#
#   scripts/bench-core.sh                 # 6 rounds, about 2 minutes
#   scripts/bench-core.sh -rounds 12      # any flag of bench/cmd/benchcore
#   MODE=root scripts/bench-core.sh       # the root package's own benchmarks
#                                         # (bare, skip, capture) instead
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${MODE:-}" != root ]]; then
	cd bench
	exec go run ./cmd/benchcore "$@"
fi
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
echo "go: $(go version | cut -d' ' -f3), $(nproc) cores, $(date -u +%Y-%m-%d), medians of $count runs, ratios as medians of per-round ratios with their interquartile range (MODE=root COUNT=$count BENCHTIME=$benchtime scripts/bench-core.sh)"
echo
go run ./internal/benchratio -paired < "$out"
