#!/usr/bin/env bash
# Push and pull throughput of lbom against skopeo on the same artifact, with
# a registry this script starts (Debian's docker-registry on 127.0.0.1,
# plain HTTP, a fresh storage folder for every timed push).
#
#   tests/bench/registry_bench.sh        (make bench runs it from run_all.sh)
#
# 1. The same folder as the other scripts (LBOM_BENCH_MB MiB, default 2048, or
#    LBOM_BENCH_DATA), packed with --compress none, imported into a station
#    store with a receipt; `lbom export --oci-layout` gives skopeo the same
#    artifact (same manifest digest) as an OCI image layout.
# 2. Push: `lbom push` (HEAD, chunked upload, manifests, referrers tag;
#    blobs uploaded by its default --jobs workers, and once more with
#    --jobs 1, one blob at a time as before issue 19's parallel uploads)
#    against `skopeo copy oci:LAYOUT docker://…` (the model manifest and its
#    layers; skopeo does not copy referrers), each into an empty registry.
# 3. Pull: `lbom pull` (referrers, receipt and chain checks, then verify +
#    import reading the bundle in place from the layers: no bundle written)
#    against `skopeo copy docker://… oci:DIR` (layers to an image layout,
#    digests checked), each into an empty folder.
# Rows: lbom s, peer, peer s, ratio (peer s / lbom s), no speed target (the
# registry's own disk writes dominate both); peak RSS < 64 MiB is checked.
# Needs docker-registry and skopeo (tests/bench/setup-peers.sh and
# tests/tools/setup-venv.sh install them); without them the rows are skipped
# with a note, as for a missing peer.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
total_mb="${LBOM_BENCH_MB:-2048}"
runs="${LBOM_BENCH_RUNS:-3}"
failed=0
# shellcheck source=lib.sh
source "$repo/tests/bench/lib.sh"

lbom="$(bench_binary "$repo")"
require_binary registry_bench "$lbom"
for tool in docker-registry skopeo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        # As for every peer: skipped with a note (tests/bench/setup-peers.sh
        # and tests/tools/setup-venv.sh install both).
        say "registry_bench: $tool is missing; push and pull rows skipped (make bench-peers installs it)"
        exit 0
    fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/lbom-registry-bench.XXXXXX")"
registry_pid=""
stop_registry() {
    if [[ -n "$registry_pid" ]]; then
        kill "$registry_pid" 2>/dev/null || true
        wait "$registry_pid" 2>/dev/null || true
        registry_pid=""
    fi
}
cleanup() { stop_registry; chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
# Data, bundle, store, layout, registry, pulled bundle + store; 10 % slack.
need_mb=$((6 * total_mb * 11 / 10))
need_free_mb registry_bench "$work" "$need_mb"
bench_models "$repo" "$work" "$total_mb"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A registry with an empty storage folder: (re)started before every timed push.
fresh_registry() {
    stop_registry
    rm -rf "$work/registry"
    mkdir -p "$work/registry"
    cat >"$work/registry.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YAML
    docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
    registry_pid=$!
    local i
    for i in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    say "registry_bench: docker-registry did not start: $(cat "$work/registry.log")" >&2
    return 1
}

"$lbom" keygen --quiet "$work/maintainer" >/dev/null
"$lbom" keygen --quiet "$work/station" >/dev/null
"$lbom" pack --quiet --compress none --name bench --channel bench -o "$work/b.lbom" "$data" \
    --key "$work/maintainer.key" --role maintainer >/dev/null
((own_data)) && rm -rf "$data"
"$lbom" policy init -o "$work/station.toml" --trust "maintainer=$work/maintainer.pub:maintainer" >/dev/null
"$lbom" policy init -o "$work/node.toml" --trust "maintainer=$work/maintainer.pub:maintainer" \
    --trust "station=$work/station.pub:station" --require maintainer >/dev/null
"$lbom" import --quiet "$work/b.lbom" --into "$work/store" --create --policy "$work/station.toml" \
    --key "$work/station.key" >/dev/null
rm -f "$work/b.lbom"
"$lbom" export "$work/store" --channel bench --oci-layout "$work/layout" --tag v1 >/dev/null
bytes=$(du -sb "$work/store/bench/1/files" | cut -f1)
target="127.0.0.1:$port/bench/model"
say "== registry push and pull: $bytes bytes of files; docker-registry $(docker-registry --version | awk '{print $3}'), $(skopeo --version); median of $runs runs"

# measured LABEL PREP CMD...: the median of CMD (PREP before each run)
# printed as a row; sets $got_s (seconds, or ERROR) and $got_rss (KiB, or -).
measured() {
    local label="$1"
    shift
    if median_seconds -p "$@"; then
        got_s=$med
        got_rss=$max_rss
        say "$(printf '%-35s%8.3f' "$label" "$got_s") s  $(printf '%8.1f' "$(mbps "$got_s")") MB/s"
    else
        got_s=ERROR
        got_rss=-
    fi
}

measured "lbom push" fresh_registry "$lbom" --quiet push "$work/store" --channel bench "oci://$target:v1"
push_s=$got_s
push_rss=$got_rss
measured "lbom push --jobs 1" fresh_registry "$lbom" --quiet push "$work/store" --channel bench --jobs 1 "oci://$target:v1"
push1_s=$got_s
push1_rss=$got_rss
measured "skopeo copy oci: -> docker://" fresh_registry \
    skopeo copy --quiet --dest-tls-verify=false "oci:$work/layout:v1" "docker://$target:v1"
skopeo_push_s=$got_s
record "push (registry, ${total_mb} MiB)" "$push_s" "skopeo copy oci: to docker://" "$skopeo_push_s" - "$push_rss"
record "push --jobs 1 (registry, ${total_mb} MiB)" "$push1_s" "skopeo copy oci: to docker://" "$skopeo_push_s" - "$push1_rss"

# One registry holding the artifact for every pull.
fresh_registry
"$lbom" --quiet push "$work/store" --channel bench "oci://$target:v1" >/dev/null
fresh_node() { chmod -R u+w "$work/node" 2>/dev/null || true; rm -rf "$work/node"; }
measured "lbom pull (verify + import)" fresh_node \
    "$lbom" --quiet pull "oci://$target:v1" --into "$work/node" --create --policy "$work/node.toml"
pull_s=$got_s
pull_rss=$got_rss
fresh_copy() { rm -rf "$work/copy"; }
measured "skopeo copy docker:// -> oci:" fresh_copy \
    skopeo copy --quiet --src-tls-verify=false "docker://$target:v1" "oci:$work/copy:v1"
skopeo_pull_s=$got_s
record "pull (registry, ${total_mb} MiB)" "$pull_s" "skopeo copy docker:// to oci:" "$skopeo_pull_s" - "$pull_rss"
[[ "$push_s" != ERROR && "$push1_s" != ERROR && "$pull_s" != ERROR && "$skopeo_push_s" != ERROR && "$skopeo_pull_s" != ERROR ]] || exit 1
exit 0
