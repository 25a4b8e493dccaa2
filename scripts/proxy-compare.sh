#!/usr/bin/env bash
# Compares the capturing proxy, run as the real `bodytap proxy` binary, with
# nginx as a plain reverse proxy, bodytap's proxy package with capture
# skipped (passthrough: the limit for bodytap here) and mitmdump in reverse
# mode writing its flow file, all in front of the same upstream (a Go
# server answering 1 KiB of JSON), on loopback only.
#
# Each round starts every contender afresh, in an order rotated from round
# to round, warms it up (2 s at 1,000 req/s; mitmdump: wrk, 1 s), and
# measures:
#   - latency at a fixed 1,000 req/s (open loop, from when each request was
#     due: the same generator, rate and connections for every contender),
#     LATENCY seconds, first, while the contender is fresh: measured after
#     the throughput run, the capturing proxy would be judged while its
#     store still inserts the rows of that run, and passthrough has no
#     such backlog; for all but mitmdump (which cannot hold that rate);
#   - throughput: wrk -t2 -c16 posting 1 KiB of JSON for DURATION seconds;
#   - at the end of each round, passthrough and bodytap proxy again, fresh,
#     side by side: one generator at 1,000 req/s takes them in turn, a
#     second each, for twice LATENCY seconds, so that the p99 of both is
#     measured over the same stretch of a shared machine's load (the
#     figure the target is judged on);
#   - for bodytap proxy: its peak RSS (VmHWM), and once it has stopped, the
#     exchanges stored and those a body search finds (every body holds
#     "item-7"), against the requests completed; in the last round its RSS
#     IDLE seconds after the load stopped.
# It prints the load average at each round's start, medians over the
# rounds, per-round ratios and the medians of those ratios, then times two
# body searches on the last round's store.
#
#   scripts/proxy-compare.sh               # 3 rounds of 10 s: about 8 minutes
#   scripts/proxy-compare.sh --sustained   # 3 rounds of 60 s: about 20 minutes
#   ROUNDS=5 DURATION=60 scripts/proxy-compare.sh
#   BASELINE_BIN=/tmp/bodytap-main scripts/proxy-compare.sh  # adds another bodytap build
#
# Needs wrk, nginx and mitmdump (Debian: apt-get install wrk nginx-light
# mitmproxy).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-3}
duration=${DURATION:-10}
latency=${LATENCY:-10}
idle=${IDLE:-30}
if [[ ${1:-} == --sustained ]]; then
	duration=60
fi
for tool in wrk nginx mitmdump; do
	command -v "$tool" >/dev/null || { echo "proxy-compare: $tool not found (apt-get install wrk nginx-light mitmproxy)" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/bodytap" ./cmd/bodytap
go build -o "$tmp/proxycmp" ./scripts/proxycmp

up=127.0.0.1:19001
port_of() { case $1 in nginx) echo 19002;; passthrough) echo 19003;; capture) echo 19004;; mitmdump) echo 19005;; baseline) echo 19006;; esac; }

"$tmp/proxycmp" upstream -listen "$up" & pids+=($!)

cat > "$tmp/nginx.conf" <<NGINX
worker_processes auto;
error_log $tmp/nginx-error.log;
pid $tmp/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx-body;
	proxy_temp_path $tmp/nginx-proxy;
	upstream up { server $up; keepalive 64; }
	server {
		listen 127.0.0.1:$(port_of nginx);
		location / {
			proxy_pass http://up;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
NGINX

body=$("$tmp/proxycmp" body)
cat > "$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$body]]
LUA

wait_port() {
	for _ in $(seq 100); do
		if (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "proxy-compare: nothing listening on port $1" >&2
	return 1
}

# start NAME ROUND: starts the contender, sets $pid.
start() {
	local port; port=$(port_of "$1")
	case $1 in
	nginx)
		nginx -c "$tmp/nginx.conf" -p "$tmp" -g 'daemon off;' 2>>"$tmp/nginx-error.log" & pid=$!;;
	passthrough)
		"$tmp/proxycmp" passthrough -listen "127.0.0.1:$port" -upstream "http://$up" & pid=$!;;
	capture|baseline)
		local bin=$tmp/bodytap; [[ $1 == baseline ]] && bin=$BASELINE_BIN
		rm -rf "$tmp/$1$2"; mkdir -p "$tmp/$1$2"
		"$bin" proxy -listen "127.0.0.1:$port" -upstream "http://$up" -db "$tmp/$1$2/bodytap.db" 2>"$tmp/$1$2.log" & pid=$!;;
	mitmdump)
		mitmdump -q --mode "reverse:http://$up" --listen-host 127.0.0.1 -p "$port" -w "$tmp/flows$2" >/dev/null 2>&1 & pid=$!;;
	esac
	pids+=("$pid")
	wait_port "$port"
}

stop() { kill -INT "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

results=$tmp/results
: > "$results"
names=(nginx passthrough capture mitmdump)
[[ -n ${BASELINE_BIN:-} ]] && names+=(baseline)
for r in $(seq "$rounds"); do
	for k in "${!names[@]}"; do
		name=${names[$(( (k + r - 1) % ${#names[@]} ))]}
		start "$name" "$r"
		port=$(port_of "$name")
		echo "round $r $name load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results" >&2
		if [[ $name == mitmdump ]]; then
			warm=$(wrk -t2 -c16 -d1s -s "$tmp/post.lua" "http://127.0.0.1:$port/" | awk '/requests in/ {print $1}')
		else
			# At the rate measured next: a burst would leave the
			# capturing proxy's store rows to insert during it.
			warm=$("$tmp/proxycmp" rate -url "http://127.0.0.1:$port/" -rate 1000 -d 2s | awk '{print $2}')
		fi
		lat="requests 0"
		if [[ $name != mitmdump ]]; then
			lat=$("$tmp/proxycmp" rate -url "http://127.0.0.1:$port/" -rate 1000 -d "${latency}s")
			echo "round $r $name latency $lat" | tee -a "$results" >&2
		fi
		out=$(wrk -t2 -c16 -d"${duration}s" -s "$tmp/post.lua" "http://127.0.0.1:$port/")
		rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
		done_=$(awk '/requests in/ {print $1}' <<<"$out")
		bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); bad=${bad:-0}
		echo "round $r $name rps $rps requests $done_ non2xx $bad" | tee -a "$results" >&2
		if [[ $name == capture || $name == baseline ]]; then
			hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
			echo "round $r $name peak_rss_kib $hwm" | tee -a "$results" >&2
			if [[ $r == "$rounds" && $idle -gt 0 && $name == capture ]]; then
				sleep "$idle"
				rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
				echo "round $r $name idle_rss_kib $rss after_s $idle" | tee -a "$results" >&2
			fi
			stop "$pid"
			sent=$(( warm + done_ + $(awk '/^requests/ {print $2}' <<<"$lat") ))
			stored=$("$tmp/proxycmp" count -db "$tmp/$name$r/bodytap.db")
			found=$("$tmp/proxycmp" count -db "$tmp/$name$r/bodytap.db" '~b item-7')
			echo "round $r $name completed $sent stored $stored found $found" | tee -a "$results" >&2
		else
			stop "$pid"
		fi
	done
	# p99 at 1,000 req/s of passthrough and capture side by side, both
	# fresh: one generator takes them in turn, a second each (first one,
	# then the other, from round to round), so that both meet the same
	# moments of a shared machine.
	start passthrough "$r"; ppid=$pid
	start capture "p$r"; cpid=$pid
	order=(passthrough capture)
	(( r % 2 == 0 )) && order=(capture passthrough)
	urls=
	for name in "${order[@]}"; do
		urls+=${urls:+,}http://127.0.0.1:$(port_of "$name")/
	done
	"$tmp/proxycmp" rate -url "$urls" -rate 1000 -d 4s >/dev/null # warm-up
	i=0
	while read -r line; do
		echo "round $r ${order[$i]} paired $line" | tee -a "$results" >&2
		i=$((i + 1))
	done < <("$tmp/proxycmp" rate -url "$urls" -rate 1000 -d "$((2 * latency))s")
	stop "$cpid"
	stop "$ppid"
done

echo
echo "$(go version | cut -d' ' -f3), $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d), nginx $(nginx -v 2>&1 | sed 's/.*\///'), mitmdump $(mitmdump --version 2>/dev/null | awk '/Mitmproxy/ {print $2}')"
echo "ROUNDS=$rounds DURATION=$duration LATENCY=$latency scripts/proxy-compare.sh${1:+ $1}; wrk -t2 -c16 POST 1 KiB JSON, upstream answers 1 KiB JSON"
python3 - "$results" <<'PY'
import sys, statistics as st, collections
rps = collections.defaultdict(dict); p99 = collections.defaultdict(dict); p50 = {}
paired = collections.defaultdict(dict)
extra = collections.defaultdict(list); load = {}; lat_errs = collections.Counter()
for line in open(sys.argv[1]):
    f = line.split(); r, name, kind = int(f[1]), f[2], f[3]
    if kind == "rps": rps[name][r] = float(f[4])
    elif kind == "latency":
        kv = dict(zip(f[4::2], f[5::2])); p99[name][r] = float(kv["p99_ms"]); p50.setdefault(name, []).append(float(kv["p50_ms"]))
        lat_errs[name] += int(kv["errors"])
    elif kind == "paired":
        kv = dict(zip(f[4::2], f[5::2])); paired[name][r] = float(kv["p99_ms"]); lat_errs[name] += int(kv["errors"])
    elif kind == "load": load.setdefault(r, []).append(float(f[4]))
    else: extra[kind].append((name, f[4:]))
med = lambda xs: st.median(xs) if xs else float("nan")
print()
print(f"{'':12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}   (medians at 1,000 req/s)")
for n in ["nginx", "passthrough", "capture", "mitmdump", "baseline"]:
    if n not in rps: continue
    print(f"{n:12} {med(list(rps[n].values())):9.0f} {med(p50.get(n, [])):8.2f} {med(list(p99[n].values())):8.2f}")
def ratio(a, b, d=rps):
    return med([d[a][r] / d[b][r] for r in d[a] if r in d[b]])
def rounds(a, b, fmt, d=rps):
    return ", ".join(fmt % (d[a][r] / d[b][r]) for r in sorted(d[a]) if r in d[b])
print()
for r in sorted(load):
    print(f"round {r}: 1-minute load average at the contenders' starts {min(load[r]):.1f} to {max(load[r]):.1f}")
print()
print(f"capture / passthrough by round: {rounds('capture', 'passthrough', '%.2f')}")
print(f"capture / mitmdump by round:    {rounds('capture', 'mitmdump', '%.1f')}")
print(f"p99 capture - passthrough by round (ms), each alone: " + ", ".join(f"{p99['capture'][r] - p99['passthrough'][r]:+.2f}" for r in sorted(p99['capture']) if r in p99['passthrough']))
print(f"p99 passthrough and capture side by side, by round (ms): " + ", ".join(f"{paired['passthrough'][r]:.2f} and {paired['capture'][r]:.2f}" for r in sorted(paired['capture']) if r in paired['passthrough']))
for n, e in lat_errs.items():
    if e: print(f"{n}: {e} failed requests in the latency runs")
print()
print(f"capture / passthrough   {ratio('capture', 'passthrough'):.2f}x  (target >= 0.85)")
print(f"capture / mitmdump      {ratio('capture', 'mitmdump'):.1f}x  (target >= 12)")
print(f"capture / nginx         {ratio('capture', 'nginx'):.2f}x")
print(f"passthrough / nginx     {ratio('passthrough', 'nginx'):.2f}x")
d = med([p99['capture'][r] - p99['passthrough'][r] for r in p99['capture'] if r in p99['passthrough']])
print(f"p99 capture - passthrough at 1,000 req/s, each alone: {d:+.2f} ms")
d = med([paired['capture'][r] - paired['passthrough'][r] for r in paired['capture'] if r in paired['passthrough']])
print(f"p99 capture - passthrough at 1,000 req/s, side by side: {d:+.2f} ms (target <= 1)")
if "baseline" in rps:
    print(f"capture / baseline      {ratio('capture', 'baseline'):.2f}x  (BASELINE_BIN={__import__('os').environ.get('BASELINE_BIN')})")
    print(f"baseline / passthrough  {ratio('baseline', 'passthrough'):.2f}x")
for n, v in extra["completed"]:
    print(f"{n}: stored {v[2]}, found by a body search {v[4]}, of {v[0]} requests completed (warm-up, latency and throughput runs)")
for n in ["capture", "baseline"]:
    hwm = [int(v[0]) for m, v in extra["peak_rss_kib"] if m == n]
    if hwm: print(f"{n}: peak RSS {max(hwm)/1024:.0f} MiB (max over rounds; target <= 100)")
for _, v in extra["idle_rss_kib"]:
    print(f"bodytap proxy RSS {v[2]} s after the load stopped: {int(v[0])/1024:.0f} MiB (target < 60)")
PY
db=$tmp/capture$rounds/bodytap.db
echo
echo "body search on the last round's store:"
echo "  ~b item-7:          $("$tmp/proxycmp" search -db "$db" '~b item-7')"
echo "  ~b nothingmatches:  $("$tmp/proxycmp" search -db "$db" '~b nothingmatches')"
