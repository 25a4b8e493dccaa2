#!/usr/bin/env bash
# Body searches on a store of a million exchanges with about 2 KiB of
# bodies each (store.BenchmarkBodySearch), this tree against another
# release in rotated rounds. Each reads a store of the same exchanges in
# the format it writes (a release that reads this tree's format and has
# the same migrations reads the same file): the first run of each makes
# its file (about 1.5 GB, a few minutes) in $BODYTAP_FIXTURES (default
# the temporary directory), named by a hash of its format, and later runs
# reuse it. Prints each case's median in ms for both and their ratio.
#
#   scripts/bench-search.sh                  # 3 rounds against f3f5c06
#   BASE=v0.9.0 ROUNDS=5 scripts/bench-search.sh
#   BASE= scripts/bench-search.sh            # this tree only
#
# The base runs only the cases it answers in seconds: it reads every
# candidate's bodies through SQL, and a full scan took it 70 to 90 s.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${BASE-f3f5c06}
rounds=${ROUNDS:-3}
export BODYTAP_FIXTURES=${BODYTAP_FIXTURES:-${TMPDIR:-/tmp}}
tmp=$(mktemp -d)
trap 'if [[ -d "$tmp/base" ]]; then git worktree remove --force "$tmp/base"; fi; rm -rf "$tmp"' EXIT
go test -c -o "$tmp/new.test" ./store
vs="new"
if [[ -n "$base" ]]; then
	git worktree add --detach "$tmp/base" "$base" >/dev/null
	# The benchmark itself, as this tree has it.
	cp store/bench1m_test.go "$tmp/base/store/"
	(cd "$tmp/base" && go test -c -o "$tmp/base.test" ./store)
	vs="base new"
fi
both='BodySearch/(first-page|scan-first)/(word-1in100|word-1in10000|nothing|word-and-status)$'
newOnly='BodySearch/(first-page|scan-first)/regexp$'
out="$tmp/out"
for r in $(seq "$rounds"); do
	order=$vs
	if (( r % 2 == 0 )); then order=$(echo "$vs" | tr ' ' '\n' | tac | tr '\n' ' '); fi
	for v in $order; do
		(cd store && "$tmp/$v.test" -test.run XXX -test.bench "$both" -test.benchtime 1x) | grep '^Bench' | sed "s/^/$v /" | tee -a "$out" >&2
	done
	(cd store && "$tmp/new.test" -test.run XXX -test.bench "$newOnly" -test.benchtime 1x) | grep '^Bench' | sed "s/^/new /" | tee -a "$out" >&2
done
printf '| case | base ms | new ms | base/new |\n|---|---:|---:|---:|\n'
awk '
	{ v = $1; c = $2; sub(/^BenchmarkBodySearch\//, "", c); sub(/-[0-9]+$/, "", c); t[v, c] = t[v, c] " " $4 / 1e6; cases[c] = 1 }
	function median(s,   a, n, i, j, x) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		for (c in cases) {
			b = (("base", c) in t) ? median(t["base", c]) : 0
			n = median(t["new", c])
			printf "| %s | %s | %.0f | %s |\n", c, b ? sprintf("%.0f", b) : "–", n, b ? sprintf("%.1f×", b / n) : "–"
		}
	}' "$out" | sort
