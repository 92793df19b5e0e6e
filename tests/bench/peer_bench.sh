#!/usr/bin/env bash
# lbom pack+sign and verify against model_signing (OpenSSF model-signing, the
# closest peer: a signed manifest of per-file SHA-256 over a model folder), on
# the same folder, in one run.
#
#   tests/bench/peer_bench.sh            (run_all.sh runs it last)
#
# Needs tests/bench/setup-peers.sh (a separate venv with model-signing and a
# P-256 key in $LBOM_PEERS_DIR, default target/bench-peers); without them it
# says so and exits 0.
#
# 1. The folder of scan_bench.sh (LBOM_BENCH_MB MiB, default 2048, or
#    LBOM_BENCH_DATA).
# 2. `lbom pack --compress none --key K` (pack and sign in one command,
#    Ed25519) against `model_signing sign key --private_key P256.pem` (its CLI
#    defaults are its fastest SHA-256 settings: one manifest entry per file,
#    1 MiB reads, a thread pool over files; the shard mode only splits work
#    further, which 2 cores cannot use).
# 3. `lbom verify` of that bundle (the bytes of the folder, in one file)
#    against `model_signing verify key` of the folder.
# 4. Reported only: model_signing with BLAKE3 through its Python API (its
#    fastest hash; no CLI option), signed and verified.
# Each: one warm-up run, then the median of LBOM_BENCH_RUNS (default 3).
# Targets (issue 6): lbom faster than model_signing at both (ratio >= 1).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
total_mb="${LBOM_BENCH_MB:-2048}"
runs="${LBOM_BENCH_RUNS:-3}"
strict="${LBOM_BENCH_STRICT:-0}"
peers="${LBOM_PEERS_DIR:-${CARGO_TARGET_DIR:-$repo/target}/bench-peers}"
failed=0
# shellcheck source=lib.sh
source "$repo/tests/bench/lib.sh"

ms="$peers/venv/bin/model_signing"
if [[ ! -x "$ms" || ! -s "$peers/ms-key.pem" ]]; then
    say "model_signing: not installed in $peers (run tests/bench/setup-peers.sh); skipped"
    record "pack+sign / verify" - "model_signing (not installed)" - -
    exit 0
fi

lbom="$(bench_binary "$repo")"
[[ -x "$lbom" ]] || { say "peer_bench: no lbom binary at $lbom" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/lbom-peer-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT INT TERM
need_mb=$((2 * total_mb * 11 / 10))
avail_mb=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
if ((avail_mb < need_mb)); then
    say "peer_bench: needs ${need_mb} MiB free in $work, has ${avail_mb}; lower LBOM_BENCH_MB" >&2
    exit 1
fi
if [[ -n "${LBOM_BENCH_DATA:-}" ]]; then
    data="$LBOM_BENCH_DATA"
else
    data="$work/models"
    mkdir -p "$data"
    python3 "$repo/tests/bench/make_models.py" "$data" "$total_mb" 0
fi
sync
say "== model_signing $("$peers/venv/bin/pip" show model-signing 2>/dev/null | awk '/^Version/ {print $2}'): $(find "$data" -type f | wc -l) files, $(du -sm "$data" | cut -f1) MiB; median of $runs runs after a warm-up"

"$lbom" keygen --quiet "$work/bench" >/dev/null
"$lbom" policy init -o "$work/policy.toml" --trust "bench=$work/bench.pub:maintainer" >/dev/null
bundle="$work/b.lbom"
sig="$work/model.sig"
fresh_bundle() { rm -f "$bundle"; sync; }
fresh_sig() { rm -f "$sig"; }
line() { printf '%-34s %8.3f s\n' "$1" "$2"; }
measure() { # VAR PREP LABEL CMD...: sets VAR to the median or ERROR, and VAR_rss
    local var="$1" prep="$2" label="$3"
    shift 3
    if median_seconds -p "$prep" "$@"; then
        printf -v "$var" '%s' "$med"
        printf -v "${var}_rss" '%s' "$max_rss"
        line "$label" "$med"
    else
        printf -v "$var" '%s' ERROR
        printf -v "${var}_rss" '%s' -
        say "$label: failed to run"
    fi
}

measure l_sign fresh_bundle "lbom pack --compress none --key" \
    "$lbom" pack --quiet --compress none --name bench --channel bench -o "$bundle" "$data" \
    --key "$work/bench.key" --role maintainer
measure m_sign fresh_sig "model_signing sign key (SHA-256)" \
    "$ms" sign key --private_key "$peers/ms-key.pem" --signature "$sig" "$data"
record "pack+sign (Ed25519)" "$l_sign" "model_signing sign (SHA-256, P-256)" "$m_sign" 1 "$l_sign_rss"

measure l_verify : "lbom verify" "$lbom" verify --quiet "$bundle" --policy "$work/policy.toml"
measure m_verify : "model_signing verify key (SHA-256)" \
    "$ms" verify key --signature "$sig" --public_key "$peers/ms-pub.pem" "$data"
record "verify" "$l_verify" "model_signing verify (SHA-256, P-256)" "$m_verify" 1 "$l_verify_rss"

# Its fastest hash, which its CLI does not offer: BLAKE3 through the API.
cat >"$work/ms_blake3.py" <<'PY'
import sys
import model_signing

mode, model, sig, key = sys.argv[1:5]
hashing = model_signing.hashing.Config().use_file_serialization(hashing_algorithm="blake3")
if mode == "sign":
    config = model_signing.signing.Config().use_elliptic_key_signer(private_key=key)
    config.set_hashing_config(hashing).sign(model, sig)
else:
    config = model_signing.verifying.Config().use_elliptic_key_verifier(public_key=key)
    config.set_hashing_config(hashing).verify(model, sig)
PY
measure m_sign3 fresh_sig "model_signing sign (BLAKE3, API)" \
    "$peers/venv/bin/python" "$work/ms_blake3.py" sign "$data" "$sig" "$peers/ms-key.pem"
record "pack+sign (Ed25519)" "$l_sign" "model_signing sign (BLAKE3, API)" "$m_sign3" - "$l_sign_rss"
if [[ -s "$sig" ]]; then
    measure m_verify3 : "model_signing verify (BLAKE3, API)" \
        "$peers/venv/bin/python" "$work/ms_blake3.py" verify "$data" "$sig" "$peers/ms-pub.pem"
    record "verify" "$l_verify" "model_signing verify (BLAKE3, API)" "$m_verify3" - "$l_verify_rss"
fi

for pair in "pack+sign:$l_sign:$m_sign" "verify:$l_verify:$m_verify"; do
    IFS=: read -r name l m <<<"$pair"
    if [[ "$l" != ERROR && "$m" != ERROR ]]; then
        r=$(calc "$m / $l")
        timing_target "$name/model_signing" "$(calc "$r >= 1")" "$(printf %.2f "$r")x (target: faster, >= 1x)"
    else
        pass_fail "$name/model_signing" 0 "a command failed to run"
    fi
done

if [[ "$failed" == 1 && "$strict" == 1 ]]; then
    exit 1
fi
exit 0
