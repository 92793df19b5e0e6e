#!/usr/bin/env bash
# Pack and sign costs of lbom against `openssl dgst -sha256`, in one run.
#
#   tests/bench/pack_bench.sh            (make bench runs it after scan_bench.sh)
#
# 1. Release build (skipped when LBOM_BIN names a binary).
# 2. The same folder as scan_bench.sh (LBOM_BENCH_MB MiB, default 1024, by
#    tests/bench/make_models.py) plus one extra file so that the sign bundle is
#    LBOM_BENCH_SIGN_MB MiB (default 2 x LBOM_BENCH_MB).
# 3. `openssl dgst -sha256` over the folder, `lbom pack --compress none` and
#    `--compress auto` of it: one warm-up run, then the median of
#    LBOM_BENCH_RUNS (default 3); MB/s and ratios. Pack includes its fsync.
# 4. One more `--compress none` pack under strace: the final fsync and the
#    background fdatasync calls, reported separately.
# 5. `lbom sign` on a bundle of the folder and the extra file (--compress
#    none): median of LBOM_BENCH_RUNS appends, in milliseconds.
# 6. Peak RSS of each lbom command (/usr/bin/time), the largest over its runs.
#
# Targets: pack --compress none >= 0.85 x openssl; sign under 1 s
# ("milliseconds"); RSS under 64 MiB. PASS/FAIL lines are informational: exit
# 0 unless LBOM_BENCH_STRICT=1. LBOM_BENCH_MB=8 is a smoke run of seconds.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
total_mb="${LBOM_BENCH_MB:-1024}"
sign_mb="${LBOM_BENCH_SIGN_MB:-$((2 * total_mb))}"
runs="${LBOM_BENCH_RUNS:-3}"
strict="${LBOM_BENCH_STRICT:-0}"
rss_cap_kib=$((64 * 1024))
failed=0
# shellcheck source=lib.sh
source "$repo/tests/bench/lib.sh"

lbom="$(bench_binary "$repo")"
[[ -x "$lbom" ]] || { say "pack_bench: no lbom binary at $lbom" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/lbom-pack-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT INT TERM
extra_mb=$((sign_mb > total_mb ? sign_mb - total_mb : 0))
# Data, extra file, one bundle of the folder, the sign bundle; 10 % slack.
need_mb=$(((2 * total_mb + extra_mb + sign_mb) * 11 / 10))
avail_mb=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
if ((avail_mb < need_mb)); then
    say "pack_bench: needs ${need_mb} MiB free in $work, has ${avail_mb}; lower LBOM_BENCH_MB" >&2
    exit 1
fi
data="$work/models"
mkdir -p "$data"
python3 "$repo/tests/bench/make_models.py" "$data" "$total_mb" "$extra_mb"
# The freshly written data must not be flushing to disk under the first runs.
sync
mapfile -t files < <(find "$data" -type f | sort)
bytes=$(cat "${files[@]}" | wc -c)
say "== pack: ${#files[@]} files, $bytes bytes ($total_mb MiB); $(nproc) CPUs; median of $runs runs after a warm-up"

mbps() { calc "$bytes / 1000000 / $1"; }
rss_line() { # NAME KIB
    pass_fail "$1 peak RSS" "$(calc "$2 > 0 && $2 < $rss_cap_kib")" "$2 KiB (target < $rss_cap_kib KiB)"
}
bundle="$work/b.lbom"
# Each run starts with no earlier writeback pending (untimed).
fresh() { rm -f "$bundle"; sync; }

if median_seconds openssl dgst -sha256 "${files[@]}"; then
    ssl=$(mbps "$med")
    printf '%-26s %8.3f s  %8.1f MB/s\n' "openssl dgst -sha256" "$med" "$ssl"
else
    say "openssl: failed to run" >&2
    exit 1
fi

for mode in none auto; do
    if median_seconds -p fresh "$lbom" pack --quiet --compress "$mode" -o "$bundle" "$data"; then
        rate=$(mbps "$med")
        r=$(calc "$rate / $ssl")
        printf '%-26s %8.3f s  %8.1f MB/s  %.2fx openssl  (%s bytes)\n' \
            "lbom pack --compress $mode" "$med" "$rate" "$r" "$(stat -c %s "$bundle")"
        if [[ "$mode" == none ]]; then
            pass_fail "pack none/openssl" "$(calc "$r >= 0.85")" "$(printf %.2f "$r")x (target >= 0.85x)"
        fi
        rss_line "pack --compress $mode" "$max_rss"
    else
        pass_fail "pack --compress $mode" 0 "lbom failed"
    fi
done

# A fast pack that skipped bytes proves nothing: GNU tar must read the bundle
# and its manifest must name the SHA-256 of every large file.
if [[ -f "$bundle" ]] && tar -xOf "$bundle" manifest.json >"$work/manifest.json" 2>/dev/null; then
    for f in "$data"/large-*.safetensors; do
        h=$(sha256sum "$f" | cut -d' ' -f1)
        grep -q "$h" "$work/manifest.json" ||
            pass_fail "pack manifest" 0 "no SHA-256 of $(basename "$f"): pack figures are void"
    done
else
    pass_fail "pack bundle" 0 "GNU tar cannot read the manifest of $bundle"
fi

# The fsync, measured on its own (strace -T adds a little to the run).
if command -v strace >/dev/null 2>&1; then
    fresh
    t0=$(now)
    if strace --seccomp-bpf -f -qq -e trace=fsync,fdatasync -T -o "$work/strace.txt" \
        "$lbom" pack --quiet --compress none -o "$bundle" "$data" >/dev/null 2>&1; then
        t1=$(now)
        awk -v total="$(calc "$t1 - $t0")" '
            /fsync\(/     { f += substr($NF, 2) + 0; nf++ }
            /fdatasync\(/ { d += substr($NF, 2) + 0; nd++ }
            END { printf "%-26s %8.1f ms in %d fsync (end of pack); %d background fdatasync, %.1f ms overlapped; run %.3f s under strace\n",
                  "pack fsync", f * 1000, nf, nd, d * 1000, total }' "$work/strace.txt"
    else
        say "pack fsync: strace run failed"
    fi
else
    say "pack fsync: strace not installed (skipped)"
fi
fresh

# ---- sign on a multi-GB bundle -------------------------------------------------
sign_inputs=("$data")
[[ -f "$work/extra.safetensors" ]] && sign_inputs+=("$work/extra.safetensors")
"$lbom" keygen --quiet "$work/bench" >/dev/null 2>&1
"$lbom" pack --quiet --compress none -o "$work/sign.lbom" "${sign_inputs[@]}" >/dev/null 2>&1
rm -rf "$data" "$work/extra.safetensors"
sign_bytes=$(stat -c %s "$work/sign.lbom")
if median_seconds "$lbom" sign --quiet --key "$work/bench.key" --role maintainer "$work/sign.lbom"; then
    ms=$(calc "$med * 1000")
    printf '%-26s %8.1f ms  (bundle of %s bytes)\n' "lbom sign" "$ms" "$sign_bytes"
    pass_fail "sign" "$(calc "$ms < 1000")" "$(printf %.0f "$ms") ms on $(calc "int($sign_bytes / 1048576)") MiB (target: milliseconds, < 1000)"
    rss_line "sign" "$max_rss"
else
    pass_fail "sign" 0 "lbom sign failed"
fi

if [[ "$failed" == 1 && "$strict" == 1 ]]; then
    exit 1
fi
exit 0
