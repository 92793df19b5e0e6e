#!/usr/bin/env python3
"""Write tests/vectors/parts/independent/ without lbom (docs/bundle-format.md,
section 13, "Test vectors"): the golden bundle cut into data parts with plain
file slicing, and the part index statement (the DSSE payload) lbom must sign
for that cut, computed with hashlib, tarfile and json.

Usage: part_vector.py BUNDLE OUT_DIR PART_SIZE KEYID ROLE
"""
import hashlib
import json
import os
import sys
import tarfile

MAX_STRIPE = 1 << 20
MAX_STRIPE_SPAN = 4 << 20


def main():
    bundle, out, part_size, keyid, role = sys.argv[1:6]
    part_size = int(part_size)
    part_size -= part_size % 2
    data = open(bundle, "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    with tarfile.open(bundle, "r:") as tar:
        member = tar.getmember("manifest.json")
        manifest = tar.extractfile(member).read()
    stem = os.path.basename(bundle)
    if stem.endswith(".lbom"):
        stem = stem[: -len(".lbom")]
    name = "%s-%s" % (stem, digest[:12])
    os.makedirs(out, exist_ok=True)
    parts = []
    for number, offset in enumerate(range(0, len(data), part_size), start=1):
        chunk = data[offset : offset + part_size]
        with open(os.path.join(out, "%s.part%04d" % (name, number)), "wb") as f:
            f.write(chunk)
        entry = {"number": number}
        if offset:
            entry["offset"] = offset
        entry["size"] = len(chunk)
        entry["sha256"] = hashlib.sha256(chunk).hexdigest()
        parts.append(entry)
    span = parts[0]["size"] + parts[0]["size"] % 2
    stripe = min(MAX_STRIPE_SPAN // len(parts), MAX_STRIPE, max(span, 2))
    stripe = max(stripe - stripe % 2, 2)
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": digest}}],
        "predicateType": "urn:lbom:predicate:part-index:v1",
        "predicate": {
            "role": role,
            "keyid": keyid,
            "bundle": {
                "size": len(data),
                "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
            },
            "part_size": part_size,
            "stripe_size": stripe,
            "parts": parts,
            "parity": [],
        },
    }
    with open(os.path.join(out, "statement.json"), "wb") as f:
        f.write(json.dumps(statement, separators=(",", ":")).encode())
    print(name)


if __name__ == "__main__":
    main()
