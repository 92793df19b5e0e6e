"""Write the benchmark's model folder: valid safetensors files of random weights.

    make_models.py DIR TOTAL_MIB [EXTRA_MIB [SMALL_KIB]]

Four large files hold 80 % of TOTAL_MIB and SMALL_KIB files (default 1024,
1 MiB) the rest, so a scan parses what it hashes and the file count matters:
2048 MiB gives 4 files of 410 MiB and 410 of 1 MiB. With EXTRA_MIB, one more
file of that size goes to DIR/../extra.safetensors (the sign benchmark's
multi-GB bundle packs DIR and it). Python's standard library only.
"""
import json
import os
import struct
import sys


def write(path, size):
    header = json.dumps({"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}).encode()
    header += b" " * ((-len(header)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        left = size
        while left:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n


def main():
    out, total = sys.argv[1], int(sys.argv[2]) << 20
    large = total * 8 // 10 // 4
    for i in range(4):
        write(os.path.join(out, f"large-{i}.safetensors"), large)
    small_kib = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
    small, i = small_kib << 10, 0
    rest = total - 4 * large
    while rest > 0:
        n = min(small, rest)
        write(os.path.join(out, f"small-{i:05d}.safetensors"), n)
        rest -= n
        i += 1
    if len(sys.argv) > 3 and int(sys.argv[3]) > 0:
        extra = os.path.join(os.path.dirname(os.path.abspath(out)), "extra.safetensors")
        write(extra, int(sys.argv[3]) << 20)


main()
