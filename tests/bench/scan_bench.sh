#!/usr/bin/env bash
# Scan throughput of lbom against the real peers, in one run, on the same files.
#
#   tests/bench/scan_bench.sh            (make bench)
#
# 1. Release build (skipped when LBOM_BIN names a binary).
# 2. LBOM_BENCH_MB MiB (default 1024) of random data in a temp folder: four large
#    safetensors files holding 80 % of it and 1 MiB safetensors files for the
#    rest (valid headers, random weights), so lbom hashes what it parses.
# 3. Hash them with `openssl dgst -sha256`, `sha256sum`, `b3sum` (when installed)
#    and `lbom scan --format json DIR`: one warm-up run discarded, then the
#    median of LBOM_BENCH_RUNS runs (default 3); MB/s (10^6 bytes) and ratios.
# 4. A header-only scan (--no-hash) of a GGUF with a 250,000-token vocabulary
#    written by the gguf package (needs the venv), in milliseconds.
# 5. lbom's peak RSS on the folder scan (/usr/bin/time -v).
#
# Targets: lbom >= 0.95 x openssl and >= 3 x sha256sum. The PASS/FAIL lines are
# informational: the script exits 0 unless LBOM_BENCH_STRICT=1.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
total_mb="${LBOM_BENCH_MB:-1024}"
runs="${LBOM_BENCH_RUNS:-3}"
strict="${LBOM_BENCH_STRICT:-0}"
venv="${LBOM_VENV:-$repo/.venv}"
failed=0

say() { printf '%s\n' "$*"; }
pass_fail() { # NAME OK(1/0) DETAIL
    if [[ "$2" == 1 ]]; then say "PASS  $1: $3"; else say "FAIL  $1: $3"; failed=1; fi
}

# ---- the binary -------------------------------------------------------------
if [[ -n "${LBOM_BIN:-}" ]]; then
    lbom="$LBOM_BIN"
else
    (cd "$repo" && cargo build --release --quiet)
    lbom="$repo/target/release/lbom"
fi
[[ -x "$lbom" ]] || { say "scan_bench: no lbom binary at $lbom" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/lbom-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT INT TERM
data="$work/models"
mkdir -p "$data"

# ---- the data ---------------------------------------------------------------
# Python's standard library only: a valid safetensors header (one U8 tensor
# covering the data, header padded to 8 bytes) followed by random bytes.
python3 - "$data" "$total_mb" <<'PY'
import json, os, struct, sys
out, total = sys.argv[1], int(sys.argv[2]) << 20
def write(path, size):
    header = json.dumps({"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}).encode()
    header += b" " * ((-len(header)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        left = size
        while left:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n
large = total * 8 // 10 // 4
for i in range(4):
    write(os.path.join(out, f"large-{i}.safetensors"), large)
small, i = 1 << 20, 0
rest = total - 4 * large
while rest > 0:
    n = min(small, rest)
    write(os.path.join(out, f"small-{i:04d}.safetensors"), n)
    rest -= n
    i += 1
PY
mapfile -t files < <(find "$data" -type f | sort)
bytes=$(cat "${files[@]}" | wc -c)
say "data: ${#files[@]} files, $bytes bytes ($total_mb MiB) in $data; $(nproc) CPUs; median of $runs runs after a warm-up"

# ---- timing -----------------------------------------------------------------
now() { date +%s.%N; }
# calc EXPR: floating-point arithmetic and comparisons (1/0) with awk, no bc needed.
calc() { awk "BEGIN { print ($1) }"; }
# median_seconds CMD...: one discarded warm-up run, then the median of $runs.
median_seconds() {
    "$@" >/dev/null 2>&1 || return 1
    local times=() t0 t1
    for ((i = 0; i < runs; i++)); do
        t0=$(now)
        "$@" >/dev/null 2>&1 || return 1
        t1=$(now)
        times+=("$(calc "$t1 - $t0")")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'
}
mbps() { calc "$bytes / 1000000 / $1"; }

declare -A rate
run_peer() { # NAME CMD...
    local name="$1" s
    shift
    if s=$(median_seconds "$@"); then
        rate[$name]=$(mbps "$s")
        printf '%-22s %8.3f s  %8.1f MB/s\n' "$name" "$s" "${rate[$name]}"
    else
        say "$name: failed to run"
    fi
}

run_peer "openssl dgst -sha256" openssl dgst -sha256 "${files[@]}"
run_peer "sha256sum" sha256sum "${files[@]}"
if command -v b3sum >/dev/null 2>&1; then
    run_peer "b3sum" b3sum "${files[@]}"
else
    say "b3sum: not installed (skipped)"
fi
run_peer "lbom scan" "$lbom" scan --format json "$data"

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
    pass_fail "lbom/openssl" "$(calc "$r_ssl >= 0.95")" "$(printf %.2f "$r_ssl")x (target >= 0.95x)"
    pass_fail "lbom/sha256sum" "$(calc "$r_sum >= 3")" "$(printf %.2f "$r_sum")x (target >= 3x)"
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
    if s=$(median_seconds "$lbom" scan --no-hash --format json "$vocab"); then
        printf '%-22s %8.1f ms  (%s bytes, 250,000 tokens + merges, --no-hash)\n' \
            "header-only scan" "$(calc "$s * 1000")" "$(stat -c %s "$vocab")"
    else
        say "header-only scan: lbom failed"
    fi
else
    say "header-only scan: skipped (no venv at $venv; run tests/tools/setup-venv.sh)"
fi

# ---- peak memory --------------------------------------------------------------
if [[ -x /usr/bin/time ]]; then
    rss=""
    if /usr/bin/time -v -o "$work/time.txt" "$lbom" scan --format json "$data" >/dev/null 2>&1; then
        rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
    fi
    say "lbom peak RSS: ${rss:-?} KiB (folder scan of $total_mb MiB)"
else
    say "peak RSS: /usr/bin/time missing (apt-get install -y time)"
fi

if [[ "$failed" == 1 && "$strict" == 1 ]]; then
    exit 1
fi
exit 0
