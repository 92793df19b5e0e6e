#!/usr/bin/env bash
# Every lbom benchmark against its peers in one run, ending in one table.
#
#   tests/bench/run_all.sh               (make bench; make bench-smoke: 8 MiB, 1 run)
#
# 1. Release build (skipped when LBOM_BIN names a binary); machine facts.
# 2. One folder of LBOM_BENCH_MB MiB (default 2048: 4 files of 410 MiB and
#    410 of 1 MiB, tests/bench/make_models.py) under $TMPDIR (default /tmp),
#    shared by every script through LBOM_BENCH_DATA, removed on exit.
# 3. scan_bench.sh (scan vs openssl, sha256sum, b3sum; header-only scan;
#    with LBOM_BENCH_SCALING=1, the default here, scan at a quarter of the
#    size and with 16x the file count), pack_bench.sh (pack vs openssl,
#    tar + sha256sum, tar --zstd; sign), quarantine_bench.sh (verify and import
#    vs openssl, sha256sum -c, tar -x + sha256sum -c), diff_bench.sh (diff of
#    two store baselines of 5,000 files), peer_bench.sh (pack+sign
#    and verify vs model_signing), split_bench.sh (split, verify-parts,
#    repair and join vs openssl; import from a part set vs from the file),
#    registry_bench.sh (push and pull vs skopeo copy), delta_bench.sh (pack
#    --base and the import of a differential vs the full bundle's, a template
#    edit). Peers come from tests/bench/setup-peers.sh;
#    a missing one is skipped with a note.
# 4. The table: command, lbom s, peer, peer s, ratio (peer s / lbom s: lbom's
#    throughput over the peer's), target, PASS/FAIL, lbom's peak RSS. Each
#    time is the median of LBOM_BENCH_RUNS (default 3) after one warm-up run.
#    LBOM_BENCH_TABLE names a file to write the table to as well.
#
# Exit status: 1 when a command failed to run (an ERROR row or a script that
# stopped); with LBOM_BENCH_STRICT=1, also when a target is missed. Timings
# are never asserted otherwise (a smoke run's ratios mean nothing).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
total_mb="${LBOM_BENCH_MB:-2048}"
runs="${LBOM_BENCH_RUNS:-3}"
strict="${LBOM_BENCH_STRICT:-0}"
export LBOM_BENCH_MB="$total_mb" LBOM_BENCH_RUNS="$runs" LBOM_BENCH_SCALING="${LBOM_BENCH_SCALING:-1}"
# The sub-scripts only report; this script decides the exit status.
export LBOM_BENCH_STRICT=0
# shellcheck source=lib.sh
source "$repo/tests/bench/lib.sh"

lbom="$(bench_binary "$repo")"
[[ -x "$lbom" ]] || { say "run_all: no lbom binary at $lbom" >&2; exit 1; }
export LBOM_BIN="$lbom"

work="$(mktemp -d "${TMPDIR:-/tmp}/lbom-bench-all.XXXXXX")"
sampler=""
cleanup() {
    [[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The largest moment: the folder, a bundle, and the store or an extracted
# copy or a tar (quarantine_bench.sh, pack_bench.sh), each about the folder's
# size; plus 10 %.
need_mb=$((4 * total_mb * 11 / 10))
avail_mb=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
if ((avail_mb < need_mb)); then
    say "run_all: needs ${need_mb} MiB free in $work, has ${avail_mb}; lower LBOM_BENCH_MB" >&2
    exit 1
fi

cpu="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
sha_ni="no"
grep -qw sha_ni /proc/cpuinfo && sha_ni="yes"
mem_gib=$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)
dev="$(df -P "$work" | awk 'NR == 2 {print $1}')"
fstype="$(df -PT "$work" | awk 'NR == 2 {print $2}')"
say "== lbom benchmarks: $(date -u +%Y-%m-%dT%H:%M:%SZ), $("$lbom" --version 2>/dev/null), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
say "   $(nproc) CPUs: $cpu (SHA-NI: $sha_ni); ${mem_gib} GiB RAM; $work on $dev ($fstype, ${avail_mb} MiB free)"
say "   load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "   peers: openssl $(openssl version | cut -d' ' -f2), $(sha256sum --version | head -n 1), $(tar --version | head -n 1)$(command -v b3sum >/dev/null && printf ', %s' "$(b3sum --version)"), $(zstd --version 2>/dev/null | cut -d, -f1)"

# One-minute load average every 5 s, for the report.
(while sleep 5; do cut -d' ' -f1 /proc/loadavg; done) >"$work/load" &
sampler=$!

data="$work/models"
mkdir -p "$data"
python3 "$repo/tests/bench/make_models.py" "$data" "$total_mb"
sync
export LBOM_BENCH_DATA="$data"
export LBOM_BENCH_RESULTS="$work/results.tsv"
: >"$LBOM_BENCH_RESULTS"
say "   data: $(find "$data" -type f | wc -l) files, $(du -sm "$data" | cut -f1) MiB; median of $runs runs after one warm-up"

script_errors=0
t_start=$(now)
for script in scan_bench.sh pack_bench.sh quarantine_bench.sh diff_bench.sh peer_bench.sh split_bench.sh registry_bench.sh delta_bench.sh; do
    say ""
    if ! "$repo/tests/bench/$script"; then
        say "run_all: $script stopped with an error"
        script_errors=$((script_errors + 1))
    fi
done
elapsed=$(calc "$(now) - $t_start")
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=""

# ---- the table -------------------------------------------------------------------
fmt_s() { [[ "$1" =~ ^[0-9.]+$ ]] && printf '%.3f' "$1" || printf '%s' "$1"; }
fmt_ratio() { [[ "$1" =~ ^[0-9.]+$ ]] && printf '%.2fx' "$1" || printf '%s' "$1"; }
fmt_target() {
    case "$1" in
        -) printf -- '-' ;;
        "<"*) printf '< %s s' "${1#<}" ;;
        *) printf '>= %sx' "$1" ;;
    esac
}
fmt_rss() { [[ "$1" =~ ^[0-9]+$ ]] && printf '%.1f MiB' "$(calc "$1 / 1024")" || printf -- '-'; }
table() {
    printf '| %-36s | %8s | %-38s | %8s | %7s | %8s | %-6s | %10s |\n' \
        command "lbom s" peer "peer s" ratio target result "peak RSS"
    printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" "$(printf -- '-%.0s' {1..10})" \
        "$(printf -- '-%.0s' {1..40})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..9})" \
        "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..8})" "$(printf -- '-%.0s' {1..12})"
    while IFS=$'\t' read -r cmd ls peer ps ratio target status rss; do
        printf '| %-36s | %8s | %-38s | %8s | %7s | %8s | %-6s | %10s |\n' \
            "$cmd" "$(fmt_s "$ls")" "$peer" "$(fmt_s "$ps")" "$(fmt_ratio "$ratio")" \
            "$(fmt_target "$target")" "$status" "$(fmt_rss "$rss")"
    done <"$LBOM_BENCH_RESULTS"
}
load_summary="$(sort -g "$work/load" | awk '{a[NR] = $1; s += $1} END {if (NR) printf "mean %.2f, max %.2f over %d samples", s / NR, a[NR], NR; else print "no samples"}')"
say ""
say "== summary: $total_mb MiB, median of $runs runs after a warm-up; $(nproc) CPUs, $cpu"
say "   1-minute load average during the run: $load_summary; benchmarks took $(printf %.0f "$elapsed") s"
table
if [[ -n "${LBOM_BENCH_TABLE:-}" ]]; then
    {
        say "$total_mb MiB, median of $runs runs after a warm-up; $(nproc) CPUs, $cpu (SHA-NI: $sha_ni); ${mem_gib} GiB RAM; $dev ($fstype)"
        say "1-minute load average during the run: $load_summary; benchmarks took $(printf %.0f "$elapsed") s"
        say ""
        table
    } >"$LBOM_BENCH_TABLE"
fi

n_error=$(awk -F'\t' '$7 == "ERROR"' "$LBOM_BENCH_RESULTS" | wc -l)
n_fail=$(awk -F'\t' '$7 == "FAIL"' "$LBOM_BENCH_RESULTS" | wc -l)
n_pass=$(awk -F'\t' '$7 == "PASS"' "$LBOM_BENCH_RESULTS" | wc -l)
say ""
say "bench targets: $n_pass met, $n_fail missed; $n_error commands did not run; $script_errors scripts stopped"
if ((n_error > 0 || script_errors > 0)); then
    exit 1
fi
if ((n_fail > 0)) && [[ "$strict" == 1 ]]; then
    exit 1
fi
exit 0
