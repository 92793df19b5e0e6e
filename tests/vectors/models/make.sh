#!/usr/bin/env bash
# Regenerate the committed hostile model corpus (tests/vectors/models/) from
# tests/tools/hostile.py, keeping only the files of at most 64 KiB so the
# repository stays small. The few large cases (a 100 MB header length, a
# 1 GiB zip bomb, a zip of 100,001 entries, a nested array of 100,000 levels)
# are generated at test time by tests/validators.rs instead; index.json lists
# them under "skipped".
#
#   tests/vectors/models/make.sh      (needs the venv: tests/tools/setup-venv.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
python="${LBOM_VENV:-$repo/.venv}/bin/python"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" "$repo/tests/tools/hostile.py" "$work" >/dev/null
find "$here" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
"$python" - "$work" "$here" <<'PY'
import json, os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
limit = 64 << 10
index = json.load(open(os.path.join(src, "index.json")))
kept, skipped = [], []
for case in index["cases"]:
    path = os.path.join(src, case["file"])
    size = (sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
            if os.path.isdir(path) else os.path.getsize(path))
    if size > limit:
        skipped.append({"file": case["file"], "bytes": size})
        continue
    target = os.path.join(dst, case["file"])
    os.makedirs(os.path.dirname(target), exist_ok=True)
    (shutil.copytree if os.path.isdir(path) else shutil.copy)(path, target)
    kept.append(case)
out = {
    "about": "hostile model files by class, from tests/tools/hostile.py; regenerate with tests/vectors/models/make.sh",
    "cases": kept,
    "skipped": skipped,
}
with open(os.path.join(dst, "index.json"), "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"{len(kept)} cases kept, {len(skipped)} skipped (over {limit} bytes)")
PY
