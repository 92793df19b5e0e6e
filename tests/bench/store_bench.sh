#!/usr/bin/env bash
# What the store's structure check and link census cost as a store grows
# (docs/store.md §6, §8): every command surveys the skeleton of every
# version before anything else, and audit counts the names of every file of
# the channel. A store of LBOM_BENCH_VERSIONS versions (default 100; three
# small files each, two shared by hard link) is built with the real binary,
# then log, verify --store, audit, audit --all and one more import are
# timed (median of LBOM_BENCH_RUNS, default 3, after one warm-up).
#
#   tests/bench/store_bench.sh                      (release build)
#   LBOM_BIN=target/debug/lbom LBOM_BENCH_VERSIONS=1 tests/bench/store_bench.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
versions="${LBOM_BENCH_VERSIONS:-100}"
runs="${LBOM_BENCH_RUNS:-3}"
lbom="${LBOM_BIN:-}"
if [ -z "$lbom" ]; then
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
  lbom="$repo/target/release/lbom"
fi
case "$lbom" in /*) ;; *) lbom="$PWD/$lbom" ;; esac
keys="$repo/keys"
work="$(mktemp -d "${TMPDIR:-/tmp}/lbom-store-bench.XXXXXX")"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cd "$work"
cat > station.toml <<POLICY
version = 1
[[keys]]
name = "maintainer"
public_key = "$keys/demo-maintainer.pub"
roles = ["maintainer"]
[[keys]]
name = "transfer"
public_key = "$keys/demo-transfer.pub"
roles = ["transfer"]
[signatures]
required_roles = ["maintainer", "transfer"]
[content]
allowed_formats = ["json", "unknown"]
POLICY
mkdir in
echo '{"a":1}' > in/config.json
echo notes > in/notes.txt
previous=()
for i in $(seq 1 $((versions + 1))); do
  echo "version $i" > in/data.txt
  "$lbom" pack in --name bench --channel c --output "v$i.lbom" --quiet \
    --key "$keys/demo-maintainer.key" --role maintainer "${previous[@]}" > /dev/null
  "$lbom" sign "v$i.lbom" --key "$keys/demo-transfer.key" --role transfer > /dev/null
  if [ "$i" -le "$versions" ]; then
    "$lbom" import "v$i.lbom" --into store --create --policy station.toml --quiet > /dev/null 2>&1
  fi
  previous=(--previous "v$i.lbom")
done

# Median wall time in ms of a command (exit status ignored: audit of a
# healthy store exits 0, the point is the time).
median_ms() {
  local times=()
  "$@" > /dev/null 2>&1 || true
  for _ in $(seq 1 "$runs"); do
    local s e
    s=$(date +%s%N)
    "$@" > /dev/null 2>&1 || true
    e=$(date +%s%N)
    times+=($(((e - s) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

next="v$((versions + 1)).lbom"
echo "store of $versions versions ($lbom)"
printf '%-32s %6s ms\n' "log" "$(median_ms "$lbom" log store --channel c)"
printf '%-32s %6s ms\n' "verify --store" "$(median_ms "$lbom" verify "$next" --policy station.toml --store store)"
printf '%-32s %6s ms\n' "audit (current)" "$(median_ms "$lbom" audit store)"
printf '%-32s %6s ms\n' "audit --all" "$(median_ms "$lbom" audit store --all)"
s=$(date +%s%N)
"$lbom" import "$next" --into store --create --policy station.toml --quiet > /dev/null 2>&1
e=$(date +%s%N)
printf '%-32s %6s ms\n' "import (one more version)" "$(((e - s) / 1000000))"
