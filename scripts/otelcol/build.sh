#!/usr/bin/env bash
# Builds the OpenTelemetry Collector of the end-to-end test
# (cmd/bodytap's TestCollectorPipeline) with the official builder, once:
# the binary is cached in the module cache, at
#   $(go env GOMODCACHE)/cache/bodytap-otelcol-$VERSION/otelcol-bodytap
# and this script prints that path. A second run finds it and returns,
# unless manifest.yaml changed since (its copy is kept beside the binary).
set -euo pipefail
VERSION=v0.165.0 # of the builder and of the components in manifest.yaml
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(go env GOMODCACHE)/cache/bodytap-otelcol-$VERSION"
bin="$dir/otelcol-bodytap"
if [ -x "$bin" ] && cmp -s "$here/manifest.yaml" "$dir/manifest.yaml"; then
	echo "$bin"
	exit 0
fi
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s|OUTPUT_PATH|$work/src|" "$here/manifest.yaml" >"$work/manifest.yaml"
start=$(date +%s)
GOBIN="$work/bin" go install "go.opentelemetry.io/collector/cmd/builder@$VERSION"
"$work/bin/builder" --config "$work/manifest.yaml" --ldflags="-s -w" >"$work/builder.log" 2>&1 || {
	cat "$work/builder.log" >&2
	exit 1
}
cp "$work/src/otelcol-bodytap" "$bin.tmp"
mv "$bin.tmp" "$bin"
cp "$here/manifest.yaml" "$dir/manifest.yaml"
echo "built the collector in $(($(date +%s) - start)) s" >&2
echo "$bin"
