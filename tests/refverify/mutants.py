#!/usr/bin/env python3
"""Mutant bundles: the class "a signed JSON field holds a value of another
type, range or spelling". Each mutant takes the probe base, replaces one
field of the manifest, the attestation or the last link's predicate (or
leaves it out) with a value from a fixed pool, brings every other byte back
into agreement and re-signs, so that lbom and the reference must refuse it
the same way (or both accept it). Where probes.py asks one question each,
these sample the whole class; the sample is fixed by the seed.

    mutants.py BASE.lbom OUTDIR MAINTAINER.key TRANSFER.key COUNT SEED

Writes OUTDIR/mutant-NNN.lbom, OUTDIR/mutants.json (name -> the change) and
prints the names, one a line.
"""

import json
import os
import random
import sys

import jsonform
import probes

POOL = [
    "", 0, 1, -1, 2**64 - 1, 2**64, None, "x", [], {}, True, 1.5,
    "2026-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "ab" * 32, "AB" * 32, "a b", "é", "\u2028",
    "zstd", "zstd:3", "raw", "artifact", "sbom", "lbom", "manifest.json",
]


def paths(value, prefix=()):
    """Every path to a value inside `value`, containers included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, prefix + (i,))
    if prefix:
        yield prefix


def mutate(doc, rng):
    """Change one field of `doc` in place; returns what was done."""
    path = rng.choice(sorted(paths(doc), key=repr))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.1:
        del parent[path[-1]]
        return f"{'/'.join(map(str, path))} left out"
    value = rng.choice(POOL)
    parent[path[-1]] = value
    return f"{'/'.join(map(str, path))} = {value!r}"


def main() -> int:
    base, outdir, maintainer_key, transfer_key, count, seed = sys.argv[1:7]
    rng = random.Random(int(seed))
    signers = [probes.Signer(maintainer_key, "maintainer"), probes.Signer(transfer_key, "transfer")]
    all_entries = probes.read(base)
    cut = [n for n, _ in all_entries].index("manifest.json")
    entries = all_entries[:cut]
    manifest = json.loads(dict(all_entries)["manifest.json"])
    attestation = json.loads(dict(entries)["attestation.intoto.json"])
    compress = attestation["predicate"]["buildDefinition"]["externalParameters"]["compress"]
    os.makedirs(outdir, exist_ok=True)
    about = {}
    for n in range(int(count)):
        m, ents = probes.finish(json.loads(json.dumps(manifest)), [tuple(e) for e in entries], compress)
        target = rng.choice(["manifest", "attestation", "predicate"])
        if target == "manifest":
            what = mutate(m, rng)
            data = probes.build(ents, m, signers)
        elif target == "attestation":
            doc = json.loads(dict(ents)["attestation.intoto.json"])
            what = mutate(doc, rng)
            raw = jsonform.compact(doc) + b"\n"
            ents = [(name, raw if name == "attestation.intoto.json" else d) for name, d in ents]
            probes.refresh(m, ents)
            data = probes.build(ents, m, signers)
        else:
            changes = []

            def edit(predicate):
                predicate = json.loads(json.dumps(predicate))
                changes.append(mutate(predicate, rng))
                return predicate

            data = probes.build(ents, m, signers, last_link={"predicate_edit": edit})
            what = changes[0]
        name = f"mutant-{n:03d}.lbom"
        about[name] = f"{target}: {what}"
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        print(name)
    with open(os.path.join(outdir, "mutants.json"), "w", encoding="utf-8") as f:
        json.dump(about, f, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
