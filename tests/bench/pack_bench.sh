#!/usr/bin/env bash
# Pack and sign costs of lbom against `openssl dgst -sha256`, in one run.
#
#   tests/bench/pack_bench.sh            (make bench runs it after scan_bench.sh)
#
# 1. Release build (skipped when LBOM_BIN names a binary).
# 2. The same folder as scan_bench.sh (LBOM_BENCH_MB MiB, default 2048, by
#    tests/bench/make_models.py, or LBOM_BENCH_DATA), plus one extra file when
#    LBOM_BENCH_SIGN_MB (default LBOM_BENCH_MB) asks for a larger sign bundle.
# 3. `openssl dgst -sha256` over the folder, `lbom pack --compress none` and
#    `--compress auto` of it: one warm-up run, then the median of
#    LBOM_BENCH_RUNS (default 3); MB/s and ratios. Pack includes its fsync.
#    The by-hand peers: `tar -cf` + `sha256sum` of the files (what a person
#    would ship) and `tar --zstd -cf`, each followed by `sync FILE` (an
#    fsync of the archive, as pack does).
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
total_mb="${LBOM_BENCH_MB:-2048}"
sign_mb="${LBOM_BENCH_SIGN_MB:-$total_mb}"
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
need_mb=$(((3 * total_mb + extra_mb + sign_mb) * 11 / 10))
[[ -n "${LBOM_BENCH_DATA:-}" ]] && need_mb=$(((2 * total_mb + extra_mb + sign_mb) * 11 / 10))
avail_mb=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
if ((avail_mb < need_mb)); then
    say "pack_bench: needs ${need_mb} MiB free in $work, has ${avail_mb}; lower LBOM_BENCH_MB" >&2
    exit 1
fi
if [[ -n "${LBOM_BENCH_DATA:-}" ]]; then
    data="$LBOM_BENCH_DATA"
    own_data=0
    if ((extra_mb > 0)); then
        mkdir -p "$work/unused"
        python3 "$repo/tests/bench/make_models.py" "$work/unused" 0 "$extra_mb"
        rm -rf "$work/unused"
    fi
else
    data="$work/models"
    own_data=1
    mkdir -p "$data"
    python3 "$repo/tests/bench/make_models.py" "$data" "$total_mb" "$extra_mb"
fi
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
    ssl_s=$med
    printf '%-26s %8.3f s  %8.1f MB/s\n' "openssl dgst -sha256" "$med" "$ssl"
else
    say "openssl: failed to run" >&2
    record "pack --compress none" - "openssl dgst -sha256" ERROR 0.85
    exit 1
fi
declare -A pack_s pack_rss

for mode in none auto; do
    if median_seconds -p fresh "$lbom" pack --quiet --compress "$mode" -o "$bundle" "$data"; then
        rate=$(mbps "$med")
        r=$(calc "$rate / $ssl")
        printf '%-26s %8.3f s  %8.1f MB/s  %.2fx openssl  (%s bytes)\n' \
            "lbom pack --compress $mode" "$med" "$rate" "$r" "$(stat -c %s "$bundle")"
        if [[ "$mode" == none ]]; then
            timing_target "pack none/openssl" "$(calc "$r >= 0.85")" "$(printf %.2f "$r")x (target >= 0.85x)"
        fi
        rss_line "pack --compress $mode" "$max_rss"
        pack_s[$mode]=$med
        pack_rss[$mode]=$max_rss
    else
        pass_fail "pack --compress $mode" 0 "lbom failed"
        pack_s[$mode]=ERROR
        pack_rss[$mode]=-
    fi
done

# By hand: a tar of the folder and a SHA256SUMS of its files, then an fsync of
# the archive (`sync FILE`, coreutils >= 8.24), as lbom pack fsyncs its bundle.
tarball="$work/b.tar"
fresh_tar() { rm -f "$tarball" "$tarball.zst" "$work/SHA256SUMS"; sync; }
peer_row() { # LABEL CMD...
    local label="$1"
    shift
    if median_seconds -p fresh_tar "$@"; then
        printf '%-26s %8.3f s  %8.1f MB/s\n' "$label" "$med" "$(mbps "$med")"
        peer_s=$med
    else
        say "$label: failed to run"
        peer_s=ERROR
    fi
}
parent="$(dirname "$data")"
base="$(basename "$data")"
peer_row "tar -cf + sha256sum" bash -c \
    "tar -cf '$tarball' -C '$parent' '$base' && (cd '$parent' && find '$base' -type f -print0 | sort -z | xargs -0 sha256sum) >'$work/SHA256SUMS' && sync '$tarball'"
record "pack --compress none" "${pack_s[none]}" "openssl dgst -sha256" "$ssl_s" 0.85 "${pack_rss[none]}"
record "pack --compress none" "${pack_s[none]}" "tar -cf + sha256sum" "$peer_s" - "${pack_rss[none]}"
if tar --zstd --version >/dev/null 2>&1 && command -v zstd >/dev/null 2>&1; then
    peer_row "tar --zstd -cf" bash -c "tar --zstd -cf '$tarball.zst' -C '$parent' '$base' && sync '$tarball.zst'"
    record "pack --compress auto" "${pack_s[auto]}" "tar --zstd -cf" "$peer_s" - "${pack_rss[auto]}"
else
    say "tar --zstd: zstd not installed (skipped)"
    record "pack --compress auto" "${pack_s[auto]}" - - - "${pack_rss[auto]}"
fi
fresh_tar

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
((own_data)) && rm -rf "$data"
rm -f "$work/extra.safetensors"
sign_bytes=$(stat -c %s "$work/sign.lbom")
if median_seconds "$lbom" sign --quiet --key "$work/bench.key" --role maintainer "$work/sign.lbom"; then
    ms=$(calc "$med * 1000")
    printf '%-26s %8.1f ms  (bundle of %s bytes)\n' "lbom sign" "$ms" "$sign_bytes"
    timing_target "sign" "$(calc "$ms < 1000")" "$(printf %.0f "$ms") ms on $(calc "int($sign_bytes / 1048576)") MiB (target: milliseconds, < 1000)"
    rss_line "sign" "$max_rss"
    record "sign ($(calc "int($sign_bytes / 1048576)") MiB bundle)" "$med" - - "<1" "$max_rss"
else
    pass_fail "sign" 0 "lbom sign failed"
    record "sign" ERROR - - "<1"
fi

if [[ "$failed" == 1 && "$strict" == 1 ]]; then
    exit 1
fi
exit 0
