"""A zstd artifact as docs/bundle-format.md §4 describes it ([B19], [B20]):
one RFC 8878 frame with the content size and the content checksum, decoded
with the output capped at the manifest's size.

The spec states these frame rules for writers only ([B19]); a reader is held
to them through [B1] ("accept exactly these bytes and reject everything
else"): one frame and nothing after it, no skippable frame, the content size
present and equal to the manifest's `size`, the checksum present, no
dictionary id field (ambiguity A16 in README.md).
"""

import hashlib
import io

import zstandard

MAGIC = 0xFD2FB528
BLOCK_MAX = 128 << 10  # RFC 8878 §3.1.1.2.3: Block_Maximum_Size <= 128 KiB
CHUNK = 1 << 16


def frame_problem(data: bytes, size: int) -> str | None:
    """Walk the frame header and block headers (RFC 8878 §3.1.1); None when
    `data` is exactly one frame of the allowed form whose content size is
    `size`."""
    if len(data) < 6:
        return "shorter than a zstd frame header"
    magic = int.from_bytes(data[0:4], "little")
    if 0x184D2A50 <= magic <= 0x184D2A5F:
        return "a skippable frame"
    if magic != MAGIC:
        return "not a zstd frame (magic number)"
    fhd = data[4]
    fcs_flag, single_segment, reserved = fhd >> 6, (fhd >> 5) & 1, (fhd >> 3) & 1
    checksum_flag, did_flag = (fhd >> 2) & 1, fhd & 3
    if reserved:
        return "reserved frame header bit set"
    if not checksum_flag:
        return "no content checksum ([B19])"
    if did_flag:
        return "a dictionary id field ([B19] has no dictionary)"
    pos = 5
    if not single_segment:
        pos += 1  # window descriptor
    fcs_len = {0: 1 if single_segment else 0, 1: 2, 2: 4, 3: 8}[fcs_flag]
    if fcs_len == 0:
        return "no content size ([B19])"
    if pos + fcs_len > len(data):
        return "truncated frame header"
    content = int.from_bytes(data[pos : pos + fcs_len], "little") + (256 if fcs_len == 2 else 0)
    pos += fcs_len
    if content != size:
        return f"the frame declares {content} content bytes, the manifest {size} ([B20])"
    while True:
        if pos + 3 > len(data):
            return "truncated block header"
        header = int.from_bytes(data[pos : pos + 3], "little")
        pos += 3
        last, kind, length = header & 1, (header >> 1) & 3, header >> 3
        if kind == 3:
            return "reserved block type"
        if length > BLOCK_MAX:
            return "block larger than 128 KiB"
        pos += 1 if kind == 1 else length
        if pos > len(data):
            return "truncated block"
        if last:
            break
    pos += 4  # content checksum
    if pos > len(data):
        return "truncated content checksum"
    if pos != len(data):
        return f"{len(data) - pos} byte(s) after the frame (one frame only)"
    return None


def decode_digest(data: bytes, size: int):
    """(sha256 hex, decoded length) of the one frame in `data`, never
    decoding more than `size` + 1 bytes ([B20]: stop at the manifest's size);
    or a string saying why it cannot be decoded."""
    problem = frame_problem(data, size)
    if problem:
        return problem
    digest = hashlib.sha256()
    count = 0
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=False)
        while count <= size:
            chunk = reader.read(min(CHUNK, size + 1 - count))
            if not chunk:
                break
            digest.update(chunk)
            count += len(chunk)
    except zstandard.ZstdError as e:
        return f"zstd: {e}"
    if count > size:
        return f"decodes to more than the manifest's {size} bytes"
    return digest.hexdigest(), count
