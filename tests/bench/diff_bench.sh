#!/usr/bin/env bash
# `lbom diff` of two store baselines of thousands of files (issue 5).
#
#   tests/bench/diff_bench.sh        (run by run_all.sh; LBOM_BIN names lbom)
#
# Makes LBOM_BENCH_DIFF_FILES (default 5000) small files, packs and imports
# them as version 1 of a channel; changes 10 % of them, renames 5 %, removes
# 5 % and adds 5 %, packs and imports that as version 2 (accepting the file
# drift); then times `lbom diff STORE/ch/1 STORE/ch/2 --format json` (exit 1:
# drift). Both sides are read from the store's recorded baselines
# (facts.json), as an operator's review would. Target: well under a second.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${LBOM_BENCH_RUNS:-3}"
files="${LBOM_BENCH_DIFF_FILES:-5000}"
# shellcheck source=lib.sh
source "$repo/tests/bench/lib.sh"
lbom="$(bench_binary "$repo")"
work="$(mktemp -d "${TMPDIR:-/tmp}/lbom-diff-bench.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

python3 - "$work/v1" "$work/v2" "$files" <<'PY'
import os, sys
v1, v2, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tenth, twentieth = n // 10, n // 20
for root in (v1, v2):
    os.makedirs(root)
for i in range(n):
    with open(os.path.join(v1, f"f{i:06}.json"), "wb") as f:
        f.write(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * (i % 97)))
for i in range(n):
    src = os.path.join(v1, f"f{i:06}.json")
    data = open(src, "rb").read()
    if i < tenth:                                   # changed
        data += b" "
        name = f"f{i:06}.json"
    elif i < tenth + twentieth:                     # renamed
        name = f"renamed-{i:06}.json"
    elif i < tenth + 2 * twentieth:                 # removed
        continue
    else:
        name = f"f{i:06}.json"
    with open(os.path.join(v2, name), "wb") as f:
        f.write(data)
for i in range(twentieth):                          # added
    with open(os.path.join(v2, f"new-{i:06}.json"), "wb") as f:
        f.write(b'{"added": %d}\n' % i)
PY

"$lbom" keygen --quiet "$work/k" >/dev/null 2>&1
"$lbom" policy init -o "$work/policy.toml" --trust "bench=$work/k.pub:maintainer" >/dev/null 2>&1
# Two entries per file (artifact and SBOM): above the default cap of 10,000,
# within the reader limit of 20,001 (docs/bundle-format.md, "Reader limits").
sed -i 's/^max_entries = .*/max_entries = 20001/' "$work/policy.toml"
for v in 1 2; do
    prev=()
    [[ $v == 2 ]] && prev=(--previous "$work/v1.lbom")
    "$lbom" pack --quiet --compress none --name diffbench --channel ch "${prev[@]}" \
        -o "$work/v$v.lbom" "$work/v$v" --key "$work/k.key" --role maintainer >/dev/null
    accept=()
    # Named in case the policy gates file classes.
    [[ $v == 2 ]] && accept=(--accept-drift file_added --accept-drift file_removed \
        --accept-drift file_renamed --accept-drift file_changed)
    "$lbom" import --quiet "$work/v$v.lbom" --into "$work/store" --create --policy "$work/policy.toml" \
        "${accept[@]}" | grep -v "^pass" || true
    [[ -d "$work/store/ch/$v" ]] || { say "diff_bench: import of version $v failed"; exit 1; }
done

say "== diff: two store baselines of $files files ($((files / 10)) changed, $((files / 20)) renamed, removed and added); median of $runs runs"
# Exit 1 means drift, which is expected; /usr/bin/time needs a program, so sh.
diff_cmd=(sh -c '"$0" diff "$1" "$2" --format json >/dev/null; [ $? -le 1 ]' "$lbom" "$work/store/ch/1" "$work/store/ch/2")
if median_seconds "${diff_cmd[@]}"; then
    ms=$(calc "$med * 1000")
    say "$(printf '%-30s %8.1f ms' "lbom diff" "$ms")"
    timing_target "diff of two ${files}-file baselines" "$(calc "$med < 1")" "$(printf %.0f "$ms") ms (target: well under 1 s)"
    record "diff (2 baselines x $files files)" "$med" - - "<1" "$max_rss"
else
    pass_fail "diff" 0 "lbom diff failed"
    record "diff (2 baselines x $files files)" ERROR - - "<1"
fi
