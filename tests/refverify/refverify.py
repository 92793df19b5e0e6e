#!/usr/bin/env python3
"""Reference verifier for lbom transfer bundles, written from
docs/bundle-format.md and docs/policy.md alone (see README.md here).

    refverify.py --policy POLICY.toml BUNDLE.lbom     one report (JSON) on stdout
    refverify.py --batch JOBS.json                    [{"bundle":…, "policy":…}, …] -> list of reports

Exit status (single mode): the report's `exit_code` (0 accept, 3-7 refuse,
2/10 policy errors), or 9 when no check failed but some were not checked.
"""

import argparse
import glob
import hashlib
import json
import os
import sys
from datetime import datetime, timezone

import checks
import policy as policy_mod
from refusal import EXIT_IO, PolicyError

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXIT_INCOMPLETE = 9


def demo_key_ids() -> set:
    """docs/bundle-format.md §7: `keys/demo-*` are public demo keys (their
    ids are listed in code, `lbom::envelope::DEMO_KEY_IDS`, which this
    reader does not read: they are computed from the key files instead, as
    [B39] asks of every key id)."""
    ids = set()
    for path in glob.glob(os.path.join(REPO, "keys", "demo-*.pub")):
        with open(path, encoding="utf-8") as f:
            ids.add(hashlib.sha256(policy_mod.parse_pem(f.read(), path)).hexdigest())
    return ids


def one(bundle: str, policy_path: str, demo_ids: set) -> dict:
    try:
        policy = policy_mod.load(policy_path)
    except PolicyError as e:
        return {"bundle": bundle, "verdict": "policy-error", "exit_code": e.code, "failing_check": None,
                "not_checked": [], "undecided": [], "alternative": None, "detail": e.detail, "checks": []}
    try:
        with open(bundle, "rb") as f:
            data = f.read()
    except OSError as e:
        # docs/policy.md §9: "A file that cannot be read ... fails the check
        # that was reading it with exit 10": the first reads the archive.
        return {"bundle": bundle, "verdict": "refuse", "exit_code": EXIT_IO, "failing_check": "archive.structure",
                "not_checked": [], "undecided": [], "alternative": None, "detail": f"{bundle}: {e.strerror}",
                "checks": [{"name": "archive.structure", "status": "fail", "detail": f"{bundle}: {e.strerror}"}]}
    now = datetime.now(timezone.utc)
    return checks.verify(data, bundle, policy, now, demo_ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy")
    parser.add_argument("--batch")
    parser.add_argument("bundle", nargs="?")
    args = parser.parse_args()
    demo_ids = demo_key_ids()
    if args.batch:
        with open(args.batch, encoding="utf-8") as f:
            jobs = json.load(f)
        json.dump([one(j["bundle"], j["policy"], demo_ids) for j in jobs], sys.stdout, indent=1)
        print()
        return 0
    if not args.policy or not args.bundle:
        parser.error("--policy and a bundle, or --batch")
    report = one(args.bundle, args.policy, demo_ids)
    json.dump(report, sys.stdout, indent=2)
    print()
    return EXIT_INCOMPLETE if report["exit_code"] is None else report["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
