#!/usr/bin/env bash
# Measures the PostgreSQL store (pgstore.TestPerf) and prints a Markdown
# report: ingest from 4 concurrent writers with 1 KiB bodies (as shipped,
# without NOTIFY, without the xid index, with schema v3's B-trees: rotated
# rounds, medians), the first page of filtered queries and body searches
# at N stored exchanges, the viewer's paging against the local store
# holding the same exchanges, and counts of filters (also with schema v3's
# B-trees, made at the end). A throwaway PostgreSQL cluster is started
# (Debian's postgresql package; see internal/pgtest) unless
# BODYTAP_PG_PERF_URL names a scratch database, whose tables it drops.
#
#   scripts/pg-bench.sh            # 1,000,000 exchanges, 3 rounds: about 10 minutes on 2 cores
#   scripts/pg-bench.sh 100000 1   # N exchanges, ROUNDS rounds of the ingest variants (0: none)
set -euo pipefail
cd "$(dirname "$0")/.."
export BODYTAP_PG_PERF="${1:-1000000}" BODYTAP_PG_PERF_ROUNDS="${2:-3}"
echo "go: $(go version | cut -d' ' -f3), $(nproc) cores, command: scripts/pg-bench.sh $BODYTAP_PG_PERF $BODYTAP_PG_PERF_ROUNDS" >&2
exec go test -count=1 -timeout 2h -run '^TestPerf$' -v ./pgstore 2>&1 | grep -v -e '^=== RUN' -e '^--- ' -e '^PASS$' -e '^ok '
