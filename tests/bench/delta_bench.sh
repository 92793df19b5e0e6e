#!/usr/bin/env bash
# Differential bundles (issue 18; docs/bundle-format.md §14): a template
# edit of the big model, packed full and as a differential against version
# 1, and imported onto version 1.
#
#   tests/bench/delta_bench.sh        (run by run_all.sh; LBOM_BIN names lbom)
#
# The model is tests/tools/delta_model.py's (a GGUF and a safetensors
# folder, written by the Python gguf and safetensors packages) of
# LBOM_BENCH_MB MiB; version 2 edits its chat template (in the GGUF and in
# tokenizer_config.json) and nothing else. Rows: `pack --base` against `pack` (the peer: the full
# bundle), with the bytes of each and their ratio printed; the import of
# the differential against the import of the full bundle. Each time is the
# median of LBOM_BENCH_RUNS after a warm-up (none with LBOM_BENCH_WARMUP=0).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${LBOM_BENCH_RUNS:-3}"
mb="${LBOM_BENCH_MB:-2048}"
# shellcheck source=lib.sh
source "$repo/tests/bench/lib.sh"
lbom="$(bench_binary "$repo")"
case "$lbom" in /*) ;; *) lbom="$PWD/$lbom" ;; esac
python="${LBOM_VENV:-$repo/.venv}/bin/python"
[[ -x "$python" ]] || python=python3
work="$(mktemp -d "${TMPDIR:-/tmp}/lbom-delta-bench.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
keys="$repo/keys"

say "== delta_bench: a chat template edit of a $mb MiB model (GGUF and safetensors folder)"
for v in 1 2; do
    "$python" "$repo/tests/tools/delta_model.py" "$work/model-v$v" --mb "$mb" --version "$v" --edit template
done
sync
common=(--quiet --name deltabench --channel ch --key "$keys/demo-maintainer.key" --role maintainer)
"$lbom" pack "$work/model-v1" -o "$work/v1.lbom" "${common[@]}" >/dev/null
"$lbom" policy init -o "$work/station.toml" --trust "m=$keys/demo-maintainer.pub:maintainer" >/dev/null
# Every drift class accepted (the edits are drift by design): the list
# `import --help` gives, wrapped over lines.
accept=()
for c in $("$lbom" import --help | tr -s ' \n' ' ' |
    sed -n 's/.*--accept-drift <CLASS>[^[]*\[possible values: \([^]]*\)\].*/\1/p' | tr -d ','); do
    accept+=(--accept-drift "$c")
done
((${#accept[@]} > 0)) || { say "delta_bench: no drift classes found in import --help"; exit 1; }

rm_out() { rm -f "$work/out.lbom"; }
failed=0
if median_seconds -p rm_out "$lbom" pack "$work/model-v2" -o "$work/out.lbom" "${common[@]}" --previous "$work/v1.lbom"; then
    full_s=$med full_rss=$max_rss
    cp "$work/out.lbom" "$work/v2-full.lbom"
else
    full_s=ERROR full_rss=-
fi
if median_seconds -p rm_out "$lbom" pack "$work/model-v2" -o "$work/out.lbom" "${common[@]}" --base "$work/v1.lbom"; then
    diff_s=$med diff_rss=$max_rss
    cp "$work/out.lbom" "$work/v2-diff.lbom"
else
    diff_s=ERROR diff_rss=-
fi
full_bytes=$(stat -c %s "$work/v2-full.lbom" 2>/dev/null || echo 0)
diff_bytes=$(stat -c %s "$work/v2-diff.lbom" 2>/dev/null || echo 0)
say "pack (full):         $full_s s, $full_bytes bytes"
say "pack --base:         $diff_s s, $diff_bytes bytes"
if [[ "$full_bytes" != 0 ]]; then
    say "bytes: the differential is $(calc "$diff_bytes * 100 / $full_bytes") % of the full bundle ($(calc "$full_bytes / ($diff_bytes + 1)")x smaller)"
fi
record "pack --base (template edit, $mb MiB)" "$diff_s" "pack (full bundle)" "$full_s" - "$diff_rss"

# Imports onto a store holding version 1.
fresh_store() {
    rm -rf "$work/store"
    "$lbom" import "$work/v1.lbom" --into "$work/store" --create --policy "$work/station.toml" --quiet >/dev/null 2>&1
}
imp=("$lbom" import --into "$work/store" --policy "$work/station.toml" --quiet "${accept[@]}")
if median_seconds -p fresh_store "${imp[@]}" "$work/v2-full.lbom"; then imp_full=$med; else imp_full=ERROR; fi
if median_seconds -p fresh_store "${imp[@]}" "$work/v2-diff.lbom"; then
    imp_diff=$med imp_rss=$max_rss
else
    imp_diff=ERROR imp_rss=-
fi
say "import (full):       $imp_full s"
say "import (differential): $imp_diff s"
record "import differential ($mb MiB)" "$imp_diff" "import full bundle" "$imp_full" - "$imp_rss"
exit 0
