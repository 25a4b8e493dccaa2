#!/usr/bin/env bash
# Counts the instructions one in-process request takes through each
# implementation of the core benchmark (bench/BenchmarkInProcess: the
# handler called with an httptest.ResponseRecorder), with callgrind: a
# count the shared machine's noise does not move by more than about 3%,
# where CPU time moves by 10% and more from one run to the next. Use it to
# see what a change to the hot path does; the CPU and req/s targets are
# still judged by bench/cmd/benchcore.
#
# Each implementation runs in a process of its own under valgrind, with
# GOGC=off (the garbage collector's work is not counted: it depends on
# what the heap holds, which this does not model), GOMAXPROCS=1, no
# asynchronous preemption, and a runtime.Gosched every 64 requests so
# that bodytap's delivery goroutine runs (its work is counted). Each is
# run for N and 3N requests; the difference, divided by 2N, leaves out
# start-up and the first requests.
#
#   scripts/bench-instr.sh                        # json1k, the usual implementations
#   IMPLS="chi bodytap-noredact" WORK=json64k N=2000 scripts/bench-instr.sh
#
# It needs valgrind (Debian: apt-get install -y valgrind); a run takes a
# minute or two per implementation at N=10000.
set -euo pipefail
cd "$(dirname "$0")/../bench"
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	echo "bench-instr.sh: valgrind is not installed; on Debian: apt-get install -y valgrind" >&2
	exit 1
fi
impls=${IMPLS:-bare chi httpsnoop bodytap-noredact bodytap}
work=${WORK:-json1k}
n=${N:-10000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/bench.test" .

# total FILE: the instructions callgrind counted in all.
total() {
	callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }'
}

declare -A per
for impl in $impls; do
	for k in 1 3; do
		GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind \
			--callgrind-out-file="$dir/$impl.$k" "$dir/bench.test" -test.run '^$' \
			-test.bench "^BenchmarkInProcess\$/^work=$work\$/^impl=$impl\$" \
			-test.benchtime "$((k * n))x" -bench.yield 64 >/dev/null 2>&1
	done
	a=$(total "$dir/$impl.1")
	b=$(total "$dir/$impl.3")
	per[$impl]=$(((b - a) / (2 * n)))
	echo "bench-instr.sh: $impl: ${per[$impl]} instructions a request" >&2
done

base=${per[chi]:-}
echo "Instructions a request, in process, $work ($(go version | cut -d' ' -f3), callgrind, GOGC=off GOMAXPROCS=1, N=$n; scripts/bench-instr.sh):"
echo
echo "| implementation | instructions | × chi |"
echo "|---|---:|---:|"
for impl in $impls; do
	ratio=""
	if [[ -n "$base" ]]; then
		ratio=$(awk -v a="${per[$impl]}" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
	fi
	echo "| $impl | ${per[$impl]} | $ratio |"
done
