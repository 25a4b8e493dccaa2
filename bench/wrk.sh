#!/usr/bin/env bash
# End-to-end benchmark with wrk: the same application served bare, behind
# bodytap, behind a plain httputil.ReverseProxy and behind bodytap's
# capturing proxy (both proxies in front of a separate bare upstream
# process), each loaded by wrk in turn, rounds interleaved. Prints a
# Markdown table of requests/s, the server's CPU per request (user and
# system time of its process, from /proc, over each wrk run) and latency
# percentiles, with ratios to bare, to the cheapest of the peers chi and
# httpsnoop when they run (the one with the least CPU per request), and of
# the capturing proxy to the plain one; then what each server says it
# served and recorded.
#
#   ./wrk.sh                                  # all defaults
#   DURATION=10s REPS=3 ./wrk.sh
#   MODES="bare bodytap httpsnoop chi rproxy proxy" ENDPOINTS="json1k json64k json1m" ./wrk.sh
#   MODES="bare chi bodytap-noredact bodytap" ENDPOINTS=json1k REPS=12 DURATION=3s ./wrk.sh
#
# Settings (environment): DURATION (5s) per wrk run, REPS (3) rounds,
# THREADS (2) and CONNS (32) for wrk, MODES, ENDPOINTS (POST /json1k and
# /json64k by default). It installs nothing: it needs wrk on PATH (Debian:
# apt-get install -y wrk) and Go.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v wrk >/dev/null; then
	echo "wrk.sh: wrk is not installed; on Debian: apt-get install -y wrk" >&2
	exit 1
fi
duration=${DURATION:-5s}
reps=${REPS:-3}
threads=${THREADS:-2}
conns=${CONNS:-32}
read -r -a modes <<<"${MODES:-bare bodytap bodytap-noredact rproxy proxy}"
read -r -a endpoints <<<"${ENDPOINTS:-json1k json64k}"

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/benchserver" ./cmd/benchserver
go build -o "$work/wrkratio" ./cmd/wrkratio
mkdir "$work/out"

# start NAME MODE [UPSTREAM]: starts a server and waits for its URL.
start() {
	local name=$1 mode=$2 up=${3:-}
	local args=(-mode "$mode" -urlfile "$work/$name.url")
	if [ -n "$up" ]; then
		args+=(-upstream "$up")
	fi
	"$work/benchserver" "${args[@]}" >"$work/$name.out" 2>"$work/$name.err" &
	pids+=($!)
	echo $! >"$work/$name.pid"
	for _ in $(seq 100); do
		[ -s "$work/$name.url" ] && return 0
		sleep 0.1
	done
	echo "wrk.sh: server $name ($mode) did not start:" >&2
	cat "$work/$name.err" >&2
	exit 1
}

upstream=""
for m in "${modes[@]}"; do
	case $m in
	rproxy | proxy)
		if [ -z "$upstream" ]; then
			start upstream bare
			upstream=$(cat "$work/upstream.url")
		fi
		start "$m" "$m" "$upstream"
		;;
	*) start "$m" "$m" ;;
	esac
done

# One Lua script per endpoint: POST the bench package's JSON payload.
for ep in "${endpoints[@]}"; do
	case $ep in
	json1k) size=1024 ;;
	json64k) size=65536 ;;
	json1m) size=1048576 ;;
	*)
		echo "wrk.sh: unknown endpoint $ep" >&2
		exit 1
		;;
	esac
	"$work/benchserver" -payload "$size" >"$work/$ep.body"
	cat >"$work/$ep.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$work/$ep.body", "rb"))
wrk.body = f:read("*a")
f:close()
EOF
done

echo "wrk.sh: wrk -t$threads -c$conns -d$duration, $reps rounds, modes: ${modes[*]}, endpoints: ${endpoints[*]}" >&2
for m in "${modes[@]}"; do # warm up
	wrk -t"$threads" -c"$conns" -d1s -s "$work/${endpoints[0]}.lua" "$(cat "$work/$m.url")/${endpoints[0]}" >/dev/null
done
# cputicks PID: the user and system CPU time of process PID so far, all
# its threads, in clock ticks (fields 14 and 15 of /proc/PID/stat, counted
# after the command name, which may hold blanks).
cputicks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
hz=$(getconf CLK_TCK)
n=${#modes[@]}
for rep in $(seq "$reps"); do
	for ep in "${endpoints[@]}"; do
		# Rotate the order each round so no mode always runs first.
		for i in $(seq 0 $((n - 1))); do
			m=${modes[$(((i + rep) % n))]}
			out="$work/out/$m.$ep.$rep.txt"
			pid=$(cat "$work/$m.pid")
			c0=$(cputicks "$pid")
			wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$work/$ep.lua" \
				"$(cat "$work/$m.url")/$ep" >"$out"
			c1=$(cputicks "$pid")
			echo "Server CPU: $(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.3f", (b - a) / hz }') s" >>"$out"
			echo "wrk.sh: round $rep $ep $m: $(grep Requests/sec "$out")" >&2
		done
	done
done

"$work/wrkratio" -modes "${modes[*]}" -endpoints "${endpoints[*]}" \
	-settings "wrk -t$threads -c$conns -d$duration --latency, $reps rounds" "$work/out"

# Stop the servers and show what they counted.
for p in "${pids[@]}"; do
	kill "$p" 2>/dev/null || true
done
wait 2>/dev/null || true
pids=()
echo
echo "Servers at exit:"
echo
for m in "${modes[@]}"; do
	echo "- $(cat "$work/$m.out")"
done
if [ -s "$work/upstream.out" ]; then
	echo "- upstream of the proxies, $(cat "$work/upstream.out")"
fi
if grep -l "panic" "$work"/*.err >/dev/null 2>&1; then
	echo
	echo "Panics logged by servers:"
	grep -h -A2 "panic" "$work"/*.err | head -20 | sed 's/^/    /'
fi
