#!/usr/bin/env bash
# Scan throughput of lbom against the real peers, in one run, on the same files.
#
#   tests/bench/scan_bench.sh            (make bench runs it, then pack_bench.sh)
#
# 1. Release build (skipped when LBOM_BIN names a binary).
# 2. LBOM_BENCH_MB MiB (default 1024) of random data in a temp folder
#    (tests/bench/make_models.py): four large safetensors files holding 80 % of
#    it and 1 MiB safetensors files for the rest (valid headers, random
#    weights), so lbom hashes what it parses.
# 3. Hash them with `openssl dgst -sha256`, `sha256sum`, `b3sum` (when installed)
#    and `lbom scan --format json DIR`: one warm-up run discarded, then the
#    median of LBOM_BENCH_RUNS runs (default 3); MB/s (10^6 bytes) and ratios.
# 4. A header-only scan (--no-hash) of a GGUF with a 250,000-token vocabulary
#    written by the gguf package (needs the venv), in milliseconds.
# 5. Peak RSS of each lbom command (/usr/bin/time), the largest over its runs.
#
# Targets: lbom >= 0.95 x openssl and >= 3 x sha256sum; header-only scan under
# 1 s ("milliseconds"); RSS under 64 MiB. The PASS/FAIL lines are informational:
# the script exits 0 unless LBOM_BENCH_STRICT=1. LBOM_BENCH_MB=8 is a smoke run
# of a few seconds (its ratios mean little: start-up costs dominate).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
total_mb="${LBOM_BENCH_MB:-1024}"
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
data="$work/models"
mkdir -p "$data"
python3 "$repo/tests/bench/make_models.py" "$data" "$total_mb"
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
        printf '%-26s %8.3f s  %8.1f MB/s\n' "$name" "$med" "${rate[$name]}"
    else
        say "$name: failed to run"
    fi
}
rss_line() { # NAME KIB
    pass_fail "$1 peak RSS" "$(calc "$2 > 0 && $2 < $rss_cap_kib")" "$2 KiB (target < $rss_cap_kib KiB)"
}

run_peer "openssl dgst -sha256" openssl dgst -sha256 "${files[@]}"
run_peer "sha256sum" sha256sum "${files[@]}"
if command -v b3sum >/dev/null 2>&1; then
    run_peer "b3sum" b3sum "${files[@]}"
else
    say "b3sum: not installed (skipped)"
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
    pass_fail "scan/openssl" "$(calc "$r_ssl >= 0.95")" "$(printf %.2f "$r_ssl")x (target >= 0.95x)"
    pass_fail "scan/sha256sum" "$(calc "$r_sum >= 3")" "$(printf %.2f "$r_sum")x (target >= 3x)"
    rss_line "scan" "$scan_rss"
else
    pass_fail "lbom scan" 0 "no valid lbom throughput to compare (see above)"
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
        pass_fail "header-only scan" "$(calc "$ms < 1000")" "$(printf %.0f "$ms") ms (target: milliseconds, < 1000)"
        rss_line "header-only scan" "$max_rss"
    else
        say "header-only scan: lbom failed"
    fi
else
    say "header-only scan: skipped (no venv at $venv; run tests/tools/setup-venv.sh)"
fi

if [[ "$failed" == 1 && "$strict" == 1 ]]; then
    exit 1
fi
exit 0
