"""XXH64 (seed 0) in plain Python, for the zstd Content_Checksum of
docs/bundle-format.md [B56] rule 5 ("the low 32 bits of XXH64 (seed 0) of
the decoded content"), from the XXH64 algorithm description (xxHash
doc/xxhash_spec.md), checked against libzstd's checksums. About 15 MB a
second, enough for the artifacts the test suite verifies.
"""

MASK = (1 << 64) - 1
P1 = 0x9E3779B185EBCA87
P2 = 0xC2B2AE3D27D4EB4F
P3 = 0x165667B19E3779F9
P4 = 0x85EBCA77C2B2AE63
P5 = 0x27D4EB2F165667C5


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & MASK


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * P2) & MASK
    return (_rotl(acc, 31) * P1) & MASK


def _merge(acc: int, v: int) -> int:
    acc ^= _round(0, v)
    return (acc * P1 + P4) & MASK


class xxh64:
    def __init__(self, seed: int = 0):
        self.seed = seed
        self.v = [(seed + P1 + P2) & MASK, (seed + P2) & MASK, seed, (seed - P1) & MASK]
        self.buffer = b""
        self.total = 0

    def update(self, data: bytes) -> None:
        self.total += len(data)
        buf = self.buffer + data
        full = len(buf) - len(buf) % 32
        v1, v2, v3, v4 = self.v
        for i in range(0, full, 32):
            v1 = _round(v1, int.from_bytes(buf[i : i + 8], "little"))
            v2 = _round(v2, int.from_bytes(buf[i + 8 : i + 16], "little"))
            v3 = _round(v3, int.from_bytes(buf[i + 16 : i + 24], "little"))
            v4 = _round(v4, int.from_bytes(buf[i + 24 : i + 32], "little"))
        self.v = [v1, v2, v3, v4]
        self.buffer = buf[full:]

    def digest(self) -> int:
        if self.total >= 32:
            v1, v2, v3, v4 = self.v
            h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & MASK
            for v in self.v:
                h = _merge(h, v)
        else:
            h = (self.seed + P5) & MASK
        h = (h + self.total) & MASK
        rest = self.buffer
        i = 0
        while i + 8 <= len(rest):
            h ^= _round(0, int.from_bytes(rest[i : i + 8], "little"))
            h = (_rotl(h, 27) * P1 + P4) & MASK
            i += 8
        if i + 4 <= len(rest):
            h ^= (int.from_bytes(rest[i : i + 4], "little") * P1) & MASK
            h = (_rotl(h, 23) * P2 + P3) & MASK
            i += 4
        while i < len(rest):
            h ^= (rest[i] * P5) & MASK
            h = (_rotl(h, 11) * P1) & MASK
            i += 1
        h ^= h >> 33
        h = (h * P2) & MASK
        h ^= h >> 29
        h = (h * P3) & MASK
        h ^= h >> 32
        return h
