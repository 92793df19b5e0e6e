#!/usr/bin/env python3
"""Write lbom's threat corpus.

Usage:
  generate.py OUTDIR            every case (committed and large) under OUTDIR, with OUTDIR/index.json
  generate.py --update REPO     rewrite the committed corpus in the repository: the small cases and
                                index under tests/vectors/threats/, the hostile templates and their
                                index under tests/vectors/templates/hostile/ (run after changing a
                                generator; the real templates are collected by collect_real_templates.py)
  generate.py --check OUTDIR    also disassemble every pickle with pickletools (static: nothing is
                                unpickled) and read every other case back with an independent reader
                                (gguf-py, safetensors, numpy's NPY header reader, zipfile, json;
                                headers only), failing on one that does not parse as intended

One module per class: pickles.py, containers.py, hidden.py, structure.py,
templates.py (hostile templates, and the `template` class that wraps every
real and hostile template in a GGUF) and carriers.py (every place a template
hides). Output is deterministic: the same inputs give the same bytes, so
the sha256 in the index holds for the large cases generated at test time too.

Needs gguf, safetensors and numpy (tests/tools/requirements.txt). Never
unpickles, renders or loads a payload.
"""
import io
import os
import pickletools
import sys

# gguf-py's add_chat_template collects template names in a set, so the order
# of tokenizer.chat_templates follows string hashing: fix the seed, so the
# same inputs always give the same bytes.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import allowlist  # noqa: E402
import carriers  # noqa: E402
import common  # noqa: E402
import containers  # noqa: E402
import hidden  # noqa: E402
import pickles  # noqa: E402
import structure  # noqa: E402
import templates  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def build(repo):
    corpus = common.Corpus()
    hostile = templates.hostile_templates(repo)
    pickles.build(corpus)
    containers.build(corpus)
    hidden.build(corpus)
    structure.build(corpus)
    templates.build(corpus, repo, hostile)
    carriers.build(corpus, repo, hostile)
    return corpus, hostile


def check_pickles(corpus):
    """Disassemble each raw pickle case (pickletools.dis reads opcodes only)."""
    bad = []
    for entry in corpus.cases:
        if entry["class"] != "pickle":
            continue
        data = corpus.payloads[entry["path"]][""]
        pos = 0
        try:
            # A stream may hold several pickles; the garbage-tail case ends in non-pickle bytes.
            while pos < len(data):
                buf = io.BytesIO(data[pos:])
                pickletools.dis(buf, out=io.StringIO())
                pos += buf.tell()
                if "garbage-tail" in entry["path"]:
                    break
        except Exception as e:  # noqa: BLE001 - report every failure
            # These two are broken on purpose after the payload (memo key error,
            # type confusion): the disassembler stops where CPython would.
            if "payload-then-" in entry["path"]:
                continue
            bad.append(f"{entry['path']}: {e}")
    return bad


def check_formats(corpus):
    """Read every non-pickle case back with an independent reader, headers and
    directories only (never a payload): gguf-py's GGUFReader for GGUF (the
    unknown-type cases must be refused), the safetensors package for the
    benign safetensors, numpy's NPY header reader, Python's zipfile directory.
    Catches a writer in this package that produces something other than the
    layout its case claims."""
    import zipfile  # noqa: PLC0415

    import gguf  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    from safetensors.numpy import load as st_load  # noqa: PLC0415
    bad = []
    for entry in corpus.cases:
        path = entry["path"]
        for rel, data in corpus.payloads[path].items():
            name = rel or path
            try:
                if name.endswith(".gguf"):
                    import tempfile  # noqa: PLC0415
                    with tempfile.NamedTemporaryFile(suffix=".gguf") as f:
                        f.write(data)
                        f.flush()
                        unknown = "unknown-type" in path
                        try:
                            gguf.GGUFReader(f.name)
                            if unknown:
                                bad.append(f"{name}: gguf-py accepted an unknown ggml type")
                        except ValueError:
                            if not unknown:
                                raise
                elif name.endswith(".safetensors") and entry["verdict"] == "benign":
                    st_load(data)
                elif name.endswith(".npy"):
                    buf = io.BytesIO(data)
                    np.lib.format.read_magic(buf)
                    np.lib.format.read_array_header_1_0(buf)
                elif data[:4] == b"PK\x03\x04":
                    zipfile.ZipFile(io.BytesIO(data)).namelist()
                elif name.endswith(".json"):
                    import json  # noqa: PLC0415
                    json.loads(data)
            except Exception as e:  # noqa: BLE001 - report every failure
                bad.append(f"{path}{'/' + rel if rel else ''}: {type(e).__name__}: {e}")
    return bad


def main(argv):
    if len(argv) == 3 and argv[1] == "--update":
        repo = os.path.abspath(argv[2])
        corpus, hostile = build(repo)
        threats = os.path.join(repo, "tests", "vectors", "threats")
        for root, _dirs, files in os.walk(threats, topdown=False):
            for name in files:
                if name not in ("README.md",):
                    os.remove(os.path.join(root, name))
            if root != threats and not os.listdir(root):
                os.rmdir(root)
        corpus.write(threats, only_committed=True)
        common.dump_json(os.path.join(threats, "index.json"), corpus.index())
        common.dump_json(os.path.join(threats, "allowlist.json"), allowlist.document())
        templates.write_hostile(repo, hostile)
        print(f"updated {threats}: {sum(c['committed'] for c in corpus.cases)} committed of "
              f"{len(corpus.cases)} cases; {len(hostile)} hostile templates")
        return 0
    check = len(argv) == 3 and argv[1] == "--check"
    if len(argv) != 2 and not check:
        print(__doc__, file=sys.stderr)
        return 2
    out = os.path.abspath(argv[-1])
    corpus, hostile = build(REPO)
    corpus.write(out)
    common.dump_json(os.path.join(out, "index.json"), corpus.index())
    templates.write_hostile_into(out, hostile)
    if check:
        bad = check_pickles(corpus)
        if bad:
            print("pickles that do not disassemble:\n  " + "\n  ".join(bad), file=sys.stderr)
            return 1
        bad = check_formats(corpus)
        if bad:
            print("cases an independent reader does not read as intended:\n  " + "\n  ".join(bad),
                  file=sys.stderr)
            return 1
    counts = {}
    for c in corpus.cases:
        key = (c["class"], c["verdict"])
        counts[key] = counts.get(key, 0) + 1
    for (cls, verdict), n in sorted(counts.items()):
        print(f"{cls:18} {verdict:10} {n}")
    print(f"{len(corpus.cases)} cases in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
