#!/usr/bin/env bash
# Create ./.venv with the independent Python tools the tests validate lbom
# against (tests/tools/requirements.txt), and make sure the Debian tools the
# tests and the benchmark call are present.
#
# Idempotent: a stamp file holding the SHA-256 of requirements.txt (and of the
# Python version) makes a second run return at once.
#
# Environment: LBOM_VENV (default: <repo>/.venv), PYTHON (default: python3.11,
# else python3).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${LBOM_VENV:-$repo/.venv}"
req="$repo/tests/tools/requirements.txt"
stamp="$venv/.lbom-requirements.sha256"

say() { printf 'setup-venv: %s\n' "$*" >&2; }

# --- Debian packages ---------------------------------------------------------
# command -> package providing it
declare -A debs=(
    [zstd]=zstd
    [tar]=tar
    [openssl]=openssl
    [sha256sum]=coreutils
    [/usr/bin/time]=time
    # The OCI registry tests (tests/registry_*.rs, docs/registry.md): CNCF
    # distribution 2.8 as Debian packages it, skopeo as the independent OCI
    # client, htpasswd (bcrypt) for the registry's basic-auth file.
    [docker-registry]=docker-registry
    [skopeo]=skopeo
    [htpasswd]=apache2-utils
)
missing=()
for cmd in "${!debs[@]}"; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        missing+=("${debs[$cmd]}")
    fi
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        say "missing tools; install them with: sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
fi

# --- Python venv -------------------------------------------------------------
if [[ -n "${PYTHON:-}" ]]; then
    py="$PYTHON"
elif command -v python3.11 >/dev/null 2>&1; then
    py=python3.11
else
    py=python3
fi
if ! command -v "$py" >/dev/null 2>&1; then
    say "no Python interpreter ($py); install python3 (3.11 or newer) with venv and pip"
    exit 1
fi

want="$( { "$py" -c 'import sys; print(sys.version)'; cat "$req"; } | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    exit 0
fi

say "creating $venv with $("$py" --version 2>&1)"
if ! "$py" -m venv --clear "$venv"; then
    # Debian's system Python ships venv/ensurepip separately (python3.X-venv).
    pkg="python$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing $pkg"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
        "$py" -m venv --clear "$venv"
    else
        say "$py cannot create a venv; install it with: sudo apt-get install -y $pkg"
        exit 1
    fi
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
# Fail here, not in the middle of a test run, when an import is broken.
"$venv/bin/python" -c 'import gguf, safetensors, numpy, cyclonedx, spdx_tools, securesystemslib, in_toto_attestation, cryptography, nacl, huggingface_hub, yaml, zstandard'
test -x "$venv/bin/pyspdxtools"
printf '%s\n' "$want" >"$stamp"
say "ready: $venv"
