#!/usr/bin/env bash
# Scan throughput of lbom against the real peers, in one run, on the same files.
#
#   tests/bench/scan_bench.sh            (make bench runs it, then pack_bench.sh)
#
# 1. Release build (skipped when LBOM_BIN names a binary).
# 2. LBOM_BENCH_MB MiB (default 2048) of random data in a temp folder
#    (tests/bench/make_models.py): four large safetensors files holding 80 % of
#    it and 1 MiB safetensors files for the rest (valid headers, random
#    weights), so lbom hashes what it parses. LBOM_BENCH_DATA names a folder
#    made that way already (run_all.sh shares one between the scripts).
# 3. Hash them with `openssl dgst -sha256`, `sha256sum`, `b3sum` (when installed)
#    and `lbom scan --format json DIR`: one warm-up run discarded, then the
#    median of LBOM_BENCH_RUNS runs (default 3); MB/s (10^6 bytes) and ratios.
# 4. A header-only scan (--no-hash) of a GGUF with a 250,000-token vocabulary
#    written by the gguf package (needs the venv), in milliseconds.
# 5. Peak RSS of each lbom command (/usr/bin/time), the largest over its runs.
# 6. With LBOM_BENCH_SCALING=1: lbom and openssl on a quarter-size folder of
#    the same layout, and on one of that size whose small files are 16 KiB
#    (16 times as many files): how cost grows with size and with file count.
#
# Targets: lbom >= 0.95 x openssl and >= 3 x sha256sum; header-only scan under
# 1 s ("milliseconds"); RSS under 64 MiB. The PASS/FAIL lines are informational:
# the script exits 0 unless LBOM_BENCH_STRICT=1. LBOM_BENCH_MB=8 is a smoke run
# of a few seconds (its ratios mean little: start-up costs dominate).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
total_mb="${LBOM_BENCH_MB:-2048}"
runs="${LBOM_BENCH_RUNS:-3}"
strict="${LBOM_BENCH_STRICT:-0}"
venv="${LBOM_VENV:-$repo/.venv}"
rss_cap_kib=$((64 * 1024))
failed=0
# shellcheck source=lib.sh
source "$repo/tests/bench/lib.sh"

lbom="$(bench_binary "$repo")"
[[ -x "$lbom" ]] || { say "scan_bench: no lbom binary at $lbom" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/lbom-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT INT TERM
if [[ -n "${LBOM_BENCH_DATA:-}" ]]; then
    data="$LBOM_BENCH_DATA"
else
    data="$work/models"
    mkdir -p "$data"
    python3 "$repo/tests/bench/make_models.py" "$data" "$total_mb"
fi
# The freshly written data must not be flushing to disk under the first runs.
sync
mapfile -t files < <(find "$data" -type f | sort)
bytes=$(cat "${files[@]}" | wc -c)
say "== scan: ${#files[@]} files, $bytes bytes ($total_mb MiB); $(nproc) CPUs; median of $runs runs after a warm-up"

mbps() { calc "$bytes / 1000000 / $1"; }
declare -A rate
run_peer() { # NAME CMD...
    local name="$1"
    shift
    if median_seconds "$@"; then
        rate[$name]=$(mbps "$med")
        secs[$name]=$med
        printf '%-26s %8.3f s  %8.1f MB/s\n' "$name" "$med" "${rate[$name]}"
    else
        say "$name: failed to run"
        secs[$name]=ERROR
    fi
}
rss_line() { # NAME KIB
    pass_fail "$1 peak RSS" "$(calc "$2 > 0 && $2 < $rss_cap_kib")" "$2 KiB (target < $rss_cap_kib KiB)"
}
declare -A secs

run_peer "openssl dgst -sha256" openssl dgst -sha256 "${files[@]}"
run_peer "sha256sum" sha256sum "${files[@]}"
if command -v b3sum >/dev/null 2>&1; then
    run_peer "b3sum" b3sum "${files[@]}"
else
    say "b3sum: not installed (skipped; tests/bench/setup-peers.sh installs it)"
fi
run_peer "lbom scan" "$lbom" scan --format json "$data"
scan_rss=$max_rss

# A fast lbom that hashed nothing proves nothing: its report must hold the
# SHA-256 of every large file.
if [[ -n "${rate[lbom scan]:-}" ]]; then
    "$lbom" scan --format json "$data" >"$work/scan.json" 2>/dev/null || true
    for f in "$data"/large-*.safetensors; do
        h=$(sha256sum "$f" | cut -d' ' -f1)
        if ! grep -q "$h" "$work/scan.json"; then
            pass_fail "lbom report" 0 "no SHA-256 of $(basename "$f") in lbom's JSON: throughput figures are void"
            unset 'rate[lbom scan]'
            break
        fi
    done
fi

ratio() { [[ -n "${rate[$1]:-}" && -n "${rate[$2]:-}" ]] && calc "${rate[$1]} / ${rate[$2]}"; }
if [[ -n "${rate[lbom scan]:-}" ]]; then
    r_ssl=$(ratio "lbom scan" "openssl dgst -sha256" || echo 0)
    r_sum=$(ratio "lbom scan" "sha256sum" || echo 0)
    timing_target "scan/openssl" "$(calc "$r_ssl >= 0.95")" "$(printf %.2f "$r_ssl")x (target >= 0.95x)"
    timing_target "scan/sha256sum" "$(calc "$r_sum >= 3")" "$(printf %.2f "$r_sum")x (target >= 3x)"
    rss_line "scan" "$scan_rss"
    record "scan ($total_mb MiB, ${#files[@]} files)" "${secs[lbom scan]}" "openssl dgst -sha256" "${secs[openssl dgst -sha256]:-ERROR}" 0.95 "$scan_rss"
    record "scan" "${secs[lbom scan]}" "sha256sum" "${secs[sha256sum]:-ERROR}" 3 "$scan_rss"
    if [[ -n "${secs[b3sum]:-}" ]]; then
        record "scan" "${secs[lbom scan]}" "b3sum (BLAKE3)" "${secs[b3sum]}" - "$scan_rss"
    fi
else
    pass_fail "lbom scan" 0 "no valid lbom throughput to compare (see above)"
    record "scan" ERROR "openssl dgst -sha256" - 0.95
fi

# ---- header-only scan of a large-vocabulary GGUF ------------------------------
if [[ -x "$venv/bin/python" ]]; then
    vocab="$work/vocab-250k.gguf"
    "$venv/bin/python" - "$vocab" <<'PY'
import sys
import numpy as np
import gguf
w = gguf.GGUFWriter(sys.argv[1], "llama")
n = 250_000
w.add_name("bench vocab"); w.add_file_type(0); w.add_context_length(4096); w.add_vocab_size(n)
w.add_tokenizer_model("gpt2")
w.add_token_list([f"tok{i}" for i in range(n)])
w.add_token_types([1] * n)
w.add_token_merges([f"t o{i}" for i in range(n)])
w.add_tensor("token_embd.weight", np.zeros((4, 32), np.float32))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(progress=False); w.close()
PY
    if median_seconds "$lbom" scan --no-hash --format json "$vocab"; then
        ms=$(calc "$med * 1000")
        printf '%-26s %8.1f ms  (%s bytes, 250,000 tokens + merges, --no-hash)\n' \
            "header-only scan" "$ms" "$(stat -c %s "$vocab")"
        timing_target "header-only scan" "$(calc "$ms < 1000")" "$(printf %.0f "$ms") ms (target: milliseconds, < 1000)"
        rss_line "header-only scan" "$max_rss"
        record "header-only scan, 250k-token GGUF" "$med" - - "<1" "$max_rss"
    else
        say "header-only scan: lbom failed"
        record "header-only scan, 250k-token GGUF" ERROR - - "<1"
    fi
else
    say "header-only scan: skipped (no venv at $venv; run tests/tools/setup-venv.sh)"
fi

# ---- how cost grows with total size and with file count --------------------------
scale_run() { # MIB SMALL_KIB
    local dir="$work/scale-$1-$2" fs n b lbom_s ssl_s
    mkdir -p "$dir"
    python3 "$repo/tests/bench/make_models.py" "$dir" "$1" 0 "$2"
    sync
    mapfile -t fs < <(find "$dir" -type f | sort)
    n=${#fs[@]}
    b=$(cat "${fs[@]}" | wc -c)
    if median_seconds openssl dgst -sha256 "${fs[@]}"; then ssl_s=$med; else ssl_s=ERROR; fi
    if median_seconds "$lbom" scan --format json "$dir"; then lbom_s=$med; else lbom_s=ERROR; fi
    if [[ "$lbom_s" != ERROR && "$ssl_s" != ERROR ]]; then
        printf '%-26s %6s files  lbom %7.3f s (%6.1f MB/s, %5.1f us/file over openssl)  openssl %7.3f s\n' \
            "scan $1 MiB, ${2} KiB small" "$n" "$lbom_s" "$(calc "$b / 1000000 / $lbom_s")" \
            "$(calc "($lbom_s - $ssl_s) * 1000000 / $n")" "$ssl_s"
    fi
    record "scan ($1 MiB, $n files)" "$lbom_s" "openssl dgst -sha256" "$ssl_s" - "$max_rss"
    rm -rf "$dir"
}
if [[ "${LBOM_BENCH_SCALING:-0}" == 1 ]]; then
    quarter=$((total_mb / 4 > 8 ? total_mb / 4 : 8))
    say "== scaling: $quarter MiB with 1 MiB and 16 KiB small files (the $total_mb MiB run above is the size step)"
    scale_run "$quarter" 1024
    scale_run "$quarter" 16
fi

if [[ "$failed" == 1 && "$strict" == 1 ]]; then
    exit 1
fi
exit 0
