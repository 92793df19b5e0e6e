#!/usr/bin/env bash
# Install the benchmark's peers, so that tests/bench/run_all.sh can compare
# lbom with them. Idempotent; every step is optional and says why it skipped.
#
#   tests/bench/setup-peers.sh           (make bench-peers)
#
# 1. b3sum (BLAKE3) from Debian's package, when apt-get is usable (root);
#    docker-registry and skopeo likewise (registry_bench.sh).
# 2. model_signing (the OpenSSF model-signing CLI, the closest peer to lbom
#    pack+sign / verify) in a separate venv, never the project's .venv:
#    $LBOM_PEERS_DIR/venv (default target/bench-peers/venv), with pinned
#    versions.
# 3. An ECDSA P-256 key pair for model_signing (`openssl ecparam`), in
#    $LBOM_PEERS_DIR/ms-key.pem and ms-pub.pem.
#
# Exit 0 even when a peer cannot be installed: run_all.sh skips what is
# missing and says so. The last lines printed state what is there.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
peers="${LBOM_PEERS_DIR:-${CARGO_TARGET_DIR:-$repo/target}/bench-peers}"
# Pinned: the newest releases on PyPI when this harness was written.
model_signing_pin="model-signing==1.1.1"
pyopenssl_pin="pyopenssl==26.4.0"
mkdir -p "$peers"

say() { printf 'setup-peers: %s\n' "$*"; }

# ---- b3sum -------------------------------------------------------------------
if command -v b3sum >/dev/null 2>&1; then
    say "b3sum present: $(b3sum --version 2>/dev/null)"
elif [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    if apt-get install -y -qq b3sum >"$peers/apt.log" 2>&1 ||
        { apt-get update -qq >>"$peers/apt.log" 2>&1 && apt-get install -y -qq b3sum >>"$peers/apt.log" 2>&1; }; then
        say "b3sum installed: $(b3sum --version 2>/dev/null)"
    else
        say "b3sum: apt-get install failed (see $peers/apt.log); its row will be skipped"
    fi
else
    say "b3sum: not installed and apt-get is not usable as root; its row will be skipped"
fi

# ---- docker-registry and skopeo (registry_bench.sh) ------------------------------
# The same Debian packages tests/tools/setup-venv.sh installs for the tests.
for pair in docker-registry:docker-registry skopeo:skopeo; do
    cmd="${pair%%:*}" pkg="${pair##*:}"
    if command -v "$cmd" >/dev/null 2>&1; then
        say "$cmd present"
    elif [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        if apt-get install -y -qq "$pkg" >>"$peers/apt.log" 2>&1 ||
            { apt-get update -qq >>"$peers/apt.log" 2>&1 && apt-get install -y -qq "$pkg" >>"$peers/apt.log" 2>&1; }; then
            say "$cmd installed"
        else
            say "$cmd: apt-get install failed (see $peers/apt.log); the registry rows will be skipped"
        fi
    else
        say "$cmd: not installed and apt-get is not usable as root; the registry rows will be skipped"
    fi
done

# ---- model_signing -------------------------------------------------------------
venv="$peers/venv"
if [[ -x "$venv/bin/model_signing" ]]; then
    say "model_signing present: $("$venv/bin/pip" show model-signing 2>/dev/null | awk '/^Version/ {print $2}')"
else
    rm -rf "$venv"
    if python3 -m venv "$venv" >"$peers/pip.log" 2>&1 &&
        "$venv/bin/pip" install -q "$model_signing_pin" "$pyopenssl_pin" >>"$peers/pip.log" 2>&1; then
        say "model_signing installed: $model_signing_pin $pyopenssl_pin in $venv"
    else
        say "model_signing: install failed, its rows will be skipped; last lines of $peers/pip.log:"
        tail -n 5 "$peers/pip.log" | sed 's/^/    /'
        rm -rf "$venv"
    fi
fi

# ---- P-256 key for model_signing ------------------------------------------------
if [[ ! -s "$peers/ms-key.pem" ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$peers/ms-key.pem" 2>/dev/null &&
        openssl ec -in "$peers/ms-key.pem" -pubout -out "$peers/ms-pub.pem" 2>/dev/null ||
        say "openssl could not make a P-256 key"
fi
[[ -s "$peers/ms-pub.pem" ]] && say "P-256 key: $peers/ms-key.pem"
exit 0
