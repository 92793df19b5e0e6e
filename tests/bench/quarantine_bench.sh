#!/usr/bin/env bash
# Verify and import costs of lbom against `openssl dgst -sha256` over the same
# bytes, and against what a station would do by hand, in one run.
#
#   tests/bench/quarantine_bench.sh      (make bench runs it after pack_bench.sh)
#
# 1. The same folder as scan_bench.sh (LBOM_BENCH_MB MiB, default 2048, or
#    LBOM_BENCH_DATA), packed
#    with --compress none and signed with a fresh key; a policy trusting it.
# 2. `openssl dgst -sha256` over the bundle file (the bytes verify reads).
# 3. `lbom verify` of the bundle; `sha256sum -c` over the extracted files (what
#    a station checks by hand).
# 4. `lbom import` into a fresh store; `tar -x` followed by `sha256sum -c`.
# Each: one warm-up run, then the median of LBOM_BENCH_RUNS (default 3); the
# ratio is lbom's throughput over the peer's (> 1: lbom is faster). Peak RSS
# from /usr/bin/time.
#
# Targets (issue 4): verify >= 0.85x and import >= 0.7x openssl; RSS < 64 MiB.
# PASS/FAIL lines are informational unless LBOM_BENCH_STRICT=1.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
total_mb="${LBOM_BENCH_MB:-2048}"
runs="${LBOM_BENCH_RUNS:-3}"
strict="${LBOM_BENCH_STRICT:-0}"
rss_cap_kib=$((64 * 1024))
failed=0
# shellcheck source=lib.sh
source "$repo/tests/bench/lib.sh"

lbom="$(bench_binary "$repo")"
require_binary quarantine_bench "$lbom"

work="$(mktemp -d "${TMPDIR:-/tmp}/lbom-quarantine-bench.XXXXXX")"
cleanup() { chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
# Data, bundle, extracted copy, store; 10 % slack.
need_mb=$((4 * total_mb * 11 / 10))
need_free_mb quarantine_bench "$work" "$need_mb"
bench_models "$repo" "$work" "$total_mb"
signed_bundle "$lbom" "$work" "$data" bench maintainer
((own_data)) && rm -rf "$data"
sync
bytes=$(stat -c %s "$bundle")
say "== verify and import: one bundle of $bytes bytes ($total_mb MiB of models); $(nproc) CPUs; median of $runs runs after a warm-up"

rss_line() { # NAME KIB
    pass_fail "$1 peak RSS" "$(calc "$2 > 0 && $2 < $rss_cap_kib")" "$2 KiB (target < $rss_cap_kib KiB)"
}

openssl_baseline verify

# ---- verify ------------------------------------------------------------------
if median_seconds "$lbom" verify --quiet "$bundle" --policy "$work/policy.toml"; then
    lbom_verify=$med
    row "lbom verify" "$med" "$ssl"
    r=$(calc "$(mbps "$med") / $ssl")
    timing_target "verify/openssl" "$(calc "$r >= 0.85")" "$(printf %.2f "$r")x (target >= 0.85x)"
    rss_line "verify" "$max_rss"
    verify_rss=$max_rss
    record "verify" "$med" "openssl dgst -sha256 (bundle)" "$ssl_s" 0.85 "$max_rss"
else
    pass_fail "verify" 0 "lbom verify failed"
    record "verify" ERROR "openssl dgst -sha256 (bundle)" "$ssl_s" 0.85
    lbom_verify=""
fi

# The by-hand peer: the extracted files checked against a sha256sum list.
extracted="$work/extracted"
mkdir -p "$extracted"
tar -xf "$bundle" -C "$extracted"
python3 - "$extracted" >"$work/SHA256SUMS" <<'PY'
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
for e in json.loads((root / "manifest.json").read_text())["entries"]:
    print(f'{e["sha256"]}  {e["path"]}')
PY
if median_seconds bash -c "cd '$extracted' && sha256sum --quiet -c '$work/SHA256SUMS'"; then
    row "sha256sum -c (extracted files)" "$med"
    if [[ -n "$lbom_verify" ]]; then
        say "      lbom verify is $(printf %.2f "$(calc "$med / $lbom_verify")")x faster than sha256sum -c"
        record "verify" "$lbom_verify" "sha256sum -c (extracted)" "$med" - "$verify_rss"
    fi
else
    record "verify" "${lbom_verify:-ERROR}" "sha256sum -c (extracted)" ERROR -
fi
rm -rf "$extracted"

# ---- import ------------------------------------------------------------------
store="$work/store"
fresh_store() { chmod -R u+w "$store" 2>/dev/null || true; rm -rf "$store"; sync; }
if median_seconds -p fresh_store "$lbom" import --quiet "$bundle" --into "$store" --create --policy "$work/policy.toml"; then
    lbom_import=$med
    row "lbom import" "$med" "$ssl"
    r=$(calc "$(mbps "$med") / $ssl")
    timing_target "import/openssl" "$(calc "$r >= 0.7")" "$(printf %.2f "$r")x (target >= 0.7x)"
    rss_line "import" "$max_rss"
    import_rss=$max_rss
    record "import" "$med" "openssl dgst -sha256 (bundle)" "$ssl_s" 0.7 "$max_rss"
else
    pass_fail "import" 0 "lbom import failed"
    record "import" ERROR "openssl dgst -sha256 (bundle)" "$ssl_s" 0.7
    lbom_import=""
fi
fresh_store
fresh_extract() { rm -rf "$extracted"; mkdir -p "$extracted"; sync; }
if median_seconds -p fresh_extract bash -c "tar -xf '$bundle' -C '$extracted' && cd '$extracted' && sha256sum --quiet -c '$work/SHA256SUMS'"; then
    row "tar -x && sha256sum -c" "$med"
    if [[ -n "$lbom_import" ]]; then
        say "      lbom import is $(printf %.2f "$(calc "$med / $lbom_import")")x faster than tar -x + sha256sum -c"
        record "import" "$lbom_import" "tar -x + sha256sum -c" "$med" - "$import_rss"
    fi
else
    record "import" "${lbom_import:-ERROR}" "tar -x + sha256sum -c" ERROR -
fi
rm -rf "$extracted"

if [[ "$failed" == 1 && "$strict" == 1 ]]; then
    exit 1
fi
exit 0
