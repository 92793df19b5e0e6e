"""A zstd entry, docs/bundle-format.md §4: exactly one RFC 8878 frame under
the frame rules of [B56], decoded with the output capped at the manifest's
`size` ([B20]). Refusals are `entries.digests` (exit 4, docs/policy.md §9).

The frame header and every block header are walked here (RFC 8878 §3.1.1)
before anything is decoded; `zstandard` (libzstd) then decodes the frame
and checks its content checksum, and the checksum is also recomputed here
(XXH64, seed 0, low 32 bits) so that the rule does not rest on the decoder.
"""

import hashlib
import io

import zstandard

from xxh64 import xxh64

MAGIC = b"\x28\xb5\x2f\xfd"
SKIPPABLE = range(0x184D2A50, 0x184D2A60)
MAX_WINDOW = 8 << 20  # [B56] rule 4: 8 MiB
BLOCK_MAX = 128 << 10  # RFC 8878 §3.1.1.2.3: Block_Maximum_Size <= 128 KiB
CHUNK = 1 << 16


def frame_problem(data: bytes, size: int) -> str | None:
    """[B56] rules 1-4 and the shape of rule 5 (block types, block sizes,
    the checksum's 4 bytes, nothing after the frame), or None."""
    if len(data) < 4 or data[:4] != MAGIC:
        if len(data) >= 4 and int.from_bytes(data[:4], "little") in SKIPPABLE:
            return "a skippable frame first ([B56] rule 1)"
        return "not a zstd frame: Magic_Number ([B56] rule 1)"
    if len(data) < 5:
        return "truncated frame header"
    fhd = data[4]
    fcs_flag, single_segment = fhd >> 6, (fhd >> 5) & 1
    unused, reserved, checksum_flag, did_flag = (fhd >> 4) & 1, (fhd >> 3) & 1, (fhd >> 2) & 1, fhd & 3
    if unused or reserved:
        return "Unused_bit or Reserved_bit set ([B56] rule 2)"
    if not checksum_flag:
        return "no Content_Checksum ([B56] rule 2)"
    if did_flag:
        return "a Dictionary_ID field ([B56] rule 2)"
    pos = 5
    window = None
    if not single_segment:
        if pos >= len(data):
            return "truncated frame header"
        wd = data[pos]
        pos += 1
        base = 1 << (10 + (wd >> 3))
        window = base + (base // 8) * (wd & 7)
    fcs_len = {0: 1 if single_segment else 0, 1: 2, 2: 4, 3: 8}[fcs_flag]
    if fcs_len == 0:
        return "no Frame_Content_Size ([B56] rule 3)"
    if pos + fcs_len > len(data):
        return "truncated frame header"
    content = int.from_bytes(data[pos : pos + fcs_len], "little") + (256 if fcs_len == 2 else 0)
    pos += fcs_len
    if content != size:
        return f"Frame_Content_Size {content}, the manifest's size {size} ([B56] rule 3)"
    if single_segment:
        window = content
    if window > MAX_WINDOW:
        return f"a window of {window} bytes, more than 8 MiB ([B56] rule 4)"
    block_max = min(window, BLOCK_MAX)
    while True:
        if pos + 3 > len(data):
            return "truncated block header"
        header = int.from_bytes(data[pos : pos + 3], "little")
        pos += 3
        last, kind, length = header & 1, (header >> 1) & 3, header >> 3
        if kind == 3:
            return "reserved block type ([B56] rule 5)"
        if length > block_max:
            return f"a block of {length} bytes, more than Block_Maximum_Size {block_max} ([B56] rule 5)"
        pos += 1 if kind == 1 else length
        if pos > len(data):
            return "truncated block"
        if last:
            break
    pos += 4  # Content_Checksum
    if pos > len(data):
        return "truncated Content_Checksum"
    if pos != len(data):
        return f"{len(data) - pos} byte(s) after the frame ([B56] rule 5)"
    return None


def decode_digest(data: bytes, size: int):
    """(sha256 hex, decoded length) of the one frame in `data`, never
    decoding more than `size` + 1 bytes ([B20]); or a string saying why the
    entry is refused."""
    problem = frame_problem(data, size)
    if problem:
        return problem
    digest = hashlib.sha256()
    check = xxh64()
    count = 0
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=False)
        while count <= size:
            chunk = reader.read(min(CHUNK, size + 1 - count))
            if not chunk:
                break
            digest.update(chunk)
            check.update(chunk)
            count += len(chunk)
    except zstandard.ZstdError as e:
        return f"zstd: {e} ([B56] rule 5)"
    if count > size:
        return f"decodes to more than the manifest's {size} bytes ([B20])"
    if (check.digest() & 0xFFFFFFFF).to_bytes(4, "little") != data[-4:]:
        return "Content_Checksum is not XXH64 of the content ([B56] rule 5)"
    return digest.hexdigest(), count
