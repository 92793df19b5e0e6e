# Shared by the tests/bench/*_bench.sh scripts (sourced, not run).
# Expects: $runs (median of how many), $failed (0/1, updated by pass_fail).

say() { printf '%s\n' "$*"; }
pass_fail() { # NAME OK(1/0) DETAIL
    if [[ "$2" == 1 ]]; then say "PASS  $1: $3"; else say "FAIL  $1: $3"; failed=1; fi
}
# timing_target NAME OK(1/0) DETAIL: a speed target. Judged only when the run
# can measure speed: LBOM_BENCH_TIMING=0 (make bench-smoke: a debug build on
# 8 MiB, one run, where process start-up outweighs the bytes) reports the
# figure without a verdict, so a passing smoke run prints no FAIL row. What
# a smoke run can judge (a command that does not run, peak RSS) still fails.
timing_target() {
    if [[ "${LBOM_BENCH_TIMING:-1}" == 0 ]]; then say "ran   $1: $3 (speed not judged in a smoke run)"; else pass_fail "$@"; fi
}
now() { date +%s.%N; }
# calc EXPR: floating-point arithmetic and comparisons (1/0) with awk, no bc needed.
calc() { awk "BEGIN { print ($1) }"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# The lbom binary: $LBOM_BIN, else a release build of this checkout.
bench_binary() { # REPO
    if [[ -n "${LBOM_BIN:-}" ]]; then
        printf '%s\n' "$LBOM_BIN"
    else
        (cd "$1" && cargo build --release --quiet)
        printf '%s\n' "${CARGO_TARGET_DIR:-$1/target}/release/lbom"
    fi
}

# require_binary NAME LBOM: exit 1 (naming the script NAME) unless LBOM runs.
require_binary() {
    [[ -x "$2" ]] || { say "$1: no lbom binary at $2" >&2; exit 1; }
}

# need_free_mb NAME DIR MB: exit 1 (naming the script NAME) unless DIR's file
# system has MB MiB free.
need_free_mb() {
    local avail_mb
    avail_mb=$(df -Pm "$2" | awk 'NR == 2 {print $4}')
    if ((avail_mb < $3)); then
        say "$1: needs $3 MiB free in $2, has ${avail_mb}; lower LBOM_BENCH_MB" >&2
        exit 1
    fi
}

# bench_models REPO WORK MB: sets $data to the models folder, LBOM_BENCH_DATA
# (run_all.sh's shared one, $own_data=0) or MB MiB of make_models.py's under
# WORK/models ($own_data=1: the caller removes it when it is done with it).
bench_models() {
    if [[ -n "${LBOM_BENCH_DATA:-}" ]]; then
        data="$LBOM_BENCH_DATA"
        own_data=0
    else
        data="$2/models"
        own_data=1
        mkdir -p "$data"
        python3 "$1/tests/bench/make_models.py" "$data" "$3" 0
    fi
}

# signed_bundle LBOM WORK DATA NAME ROLE: a key WORK/NAME, the bundle
# WORK/b.lbom of DATA (uncompressed) signed with it as ROLE (sets $bundle),
# and WORK/policy.toml trusting it as ROLE.
signed_bundle() {
    "$1" keygen --quiet "$2/$4" >/dev/null
    bundle="$2/b.lbom"
    "$1" pack --quiet --compress none --name bench --channel bench -o "$bundle" "$3" \
        --key "$2/$4.key" --role "$5" >/dev/null
    "$1" policy init -o "$2/policy.toml" --trust "$4=$2/$4.pub:$5" >/dev/null
}

# Peak RSS (KiB) of the last `timed` command, when /usr/bin/time exists.
last_rss=""
max_rss=0
# timed CMD...: run once; sets $last_secs, $last_rss (KiB) and $max_rss.
timed() {
    local t0 t1 tf
    tf="$(mktemp)"
    t0=$(now)
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -f '%M' -o "$tf" "$@" >/dev/null 2>&1 || { rm -f "$tf"; return 1; }
    else
        "$@" >/dev/null 2>&1 || { rm -f "$tf"; return 1; }
    fi
    t1=$(now)
    last_secs=$(calc "$t1 - $t0")
    last_rss=$(tail -n 1 "$tf" 2>/dev/null || true)
    rm -f "$tf"
    if [[ "$last_rss" =~ ^[0-9]+$ ]] && ((last_rss > max_rss)); then max_rss=$last_rss; fi
}

# median_seconds [-p PREP] CMD...: PREP (a function name, untimed) before each
# run; one discarded warm-up run (none with LBOM_BENCH_WARMUP=0, for smoke
# runs), then the median of $runs. Sets $med
# (seconds) and $max_rss (largest peak RSS seen, KiB). Not for $(...): it sets
# globals.
median_seconds() {
    local prep=":"
    if [[ "$1" == -p ]]; then prep="$2"; shift 2; fi
    max_rss=0
    if [[ "${LBOM_BENCH_WARMUP:-1}" != 0 ]]; then
        $prep
        timed "$@" || return 1
    fi
    local times=() i
    for ((i = 0; i < runs; i++)); do
        $prep
        timed "$@" || return 1
        times+=("$last_secs")
    done
    med=$(printf '%s\n' "${times[@]}" | median)
}

# ---- the summary table (tests/bench/run_all.sh) -------------------------------
rss_cap_kib=$((64 * 1024))
# record COMMAND LBOM_S PEER PEER_S TARGET [RSS_KIB]: one row of the summary
# table, appended to $LBOM_BENCH_RESULTS when run_all.sh set it. RATIO is
# PEER_S / LBOM_S: lbom's throughput over the peer's on the same bytes (> 1:
# lbom is faster). TARGET is a minimum ratio (0.95), "<S" for an absolute
# time limit in seconds, or "-" for none. The row FAILs on a missed target
# or a peak RSS >= 64 MiB; "info" when neither applies. LBOM_S or PEER_S
# "ERROR" records a command that did not run.
record() {
    local cmd="$1" ls="$2" peer="$3" ps="$4" target="$5" rss="${6:--}" ratio="-" status=PASS checked=0
    if [[ "$ls" == ERROR || "$ps" == ERROR ]]; then
        status=ERROR
    else
        if [[ "$ps" != - ]]; then ratio=$(calc "$ps / $ls"); fi
        if [[ "${LBOM_BENCH_TIMING:-1}" == 0 ]]; then
            : # a smoke run: speed targets are not judged (timing_target)
        elif [[ "$target" == "<"* ]]; then
            checked=1
            [[ "$(calc "$ls < ${target#<}")" == 1 ]] || status=FAIL
        elif [[ "$target" != - && "$ratio" != - ]]; then
            checked=1
            [[ "$(calc "$ratio >= $target")" == 1 ]] || status=FAIL
        fi
        if [[ "$rss" != - ]]; then
            checked=1
            [[ "$(calc "$rss < $rss_cap_kib")" == 1 ]] || status=FAIL
        fi
        ((checked)) || status=info
    fi
    if [[ -n "${LBOM_BENCH_RESULTS:-}" ]]; then
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cmd" "$ls" "$peer" "$ps" "$ratio" "$target" "$status" "$rss" \
            >>"$LBOM_BENCH_RESULTS"
    fi
}

# Rows of the scripts that time commands over one bundle of $bytes bytes
# (split_bench.sh, quarantine_bench.sh).
mbps() { calc "$bytes / 1000000 / $1"; }
row() { # LABEL SECONDS [PEER_MBPS]
    local rate
    rate=$(mbps "$2")
    if [[ -n "${3:-}" ]]; then
        printf '%-34s %8.3f s  %8.1f MB/s  %.2fx openssl\n' "$1" "$2" "$rate" "$(calc "$rate / $3")"
    else
        printf '%-34s %8.3f s  %8.1f MB/s\n' "$1" "$2" "$rate"
    fi
}
# openssl_baseline NAME: openssl's SHA-256 of $bundle, the peer the rows
# compare with: sets $ssl (MB/s) and $ssl_s. Without openssl, NAME's row is
# recorded as an error and the script exits 1.
openssl_baseline() {
    if median_seconds openssl dgst -sha256 "$bundle"; then
        ssl=$(mbps "$med")
        ssl_s=$med
        row "openssl dgst -sha256 (bundle)" "$med"
    else
        say "openssl: failed to run" >&2
        record "$1" - "openssl dgst -sha256" ERROR 0.85
        exit 1
    fi
}
