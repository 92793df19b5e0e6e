#!/usr/bin/env python3
"""Delta payload vectors (docs/bundle-format.md §14), written from the
spec with Python's struct and hashlib, not by lbom.

Writes tests/vectors/delta/: base.bin (a base file, 4096 bytes),
target.bin (what the valid recipes rebuild), one NAME.payload per case and
index.json: for each case the manifest size to check it against and the
expected outcome, "ok" or the [B78]/[B79] rule that refuses it.

usage: delta_vectors.py OUT_DIR
"""

import hashlib
import json
import os
import struct
import sys

MAGIC = b"LBOMDLT1"


def sha(b):
    return hashlib.sha256(b).digest()


def head(base_path, count):
    p = base_path.encode()
    return MAGIC + struct.pack(">H", len(p)) + p + struct.pack(">I", count)


def record(kind, target_offset, length, base_offset, digest):
    return kind + struct.pack(">QQQ", target_offset, length, base_offset) + digest


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    base = bytes((i * 7 + 3) % 251 for i in range(4096))
    inserted = b"a new chat template line\n"
    target = base[:1000] + inserted + base[1000:]
    ops = [
        (b"B", 0, 1000, 0, base[:1000]),
        (b"S", 1000, len(inserted), 0, inserted),
        (b"B", 1000 + len(inserted), 3096, 1000, base[1000:]),
    ]

    def payload(ops, base_path="model.gguf", count=None):
        b = head(base_path, len(ops) if count is None else count)
        for kind, t, n, bo, data in ops:
            b += record(kind, t, n, bo, sha(data))
            if kind == b"S":
                b += data
        return b

    size = len(target)
    cases = {}

    def case(name, data, expect, size=size):
        with open(os.path.join(out, name + ".payload"), "wb") as f:
            f.write(data)
        cases[name] = {"size": size, "expect": expect}

    good = payload(ops)
    case("valid-insert", good, "ok")
    case("valid-unchanged", payload([(b"B", 0, 4096, 0, base)]), "ok", 4096)
    case("valid-empty", head("", 0), "ok", 0)
    case("valid-all-shipped", payload([(b"S", 0, len(target), 0, target)], base_path=""), "ok")
    case("magic", b"LBOMDLT2" + good[8:], "magic")
    case("kind", payload([(b"X",) + ops[0][1:]] + ops[1:]), "kind")
    case("gap", payload([ops[0], (b"S", 1001, len(inserted), 0, inserted), ops[2]]), "offset")
    case("overlap", payload([ops[0], (b"S", 999, len(inserted), 0, inserted), ops[2]]), "offset")
    case("size-larger-than-manifest", good, "size", size - 1)
    case("size-smaller-than-manifest", good, "size", size + 1)
    case("zero-length", payload([(b"B", 0, 0, 0, b"")] + ops), "length")
    bad = bytearray(good)
    bad[len(head("model.gguf", 3)) + 57 + 57] ^= 1  # the first shipped byte
    case("shipped-digest", bytes(bad), "chunk-digest")
    case("trailing", good + b"\0", "trailing")
    case("truncated", good[:-1], "truncated")
    case("too-many-ops", head("model.gguf", (1 << 20) + 1), "too-many-ops")
    case("base-op-without-base-path", payload(ops, base_path=""), "no-base-file")
    case("shipped-with-base-offset", payload([ops[0], (b"S", 1000, len(inserted), 5, inserted), ops[2]]), "shipped-base-offset")
    case("base-path-not-canonical", payload(ops, base_path="a/../model.gguf"), "base-path")
    # Rules only the rebuild can judge ([B79]): a range past the base file,
    # base bytes that are not the recipe's.
    case("base-range-past-file", payload([(b"B", 0, 4096, 1, base)]), "past-base", 4096)
    case("base-digest", payload([(b"B", 0, 1000, 0, base[1:1001])] + ops[1:]), "base-digest")
    with open(os.path.join(out, "base.bin"), "wb") as f:
        f.write(base)
    with open(os.path.join(out, "target.bin"), "wb") as f:
        f.write(target)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"base_path": "model.gguf", "cases": cases}, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
