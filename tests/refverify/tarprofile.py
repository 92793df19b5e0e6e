"""The strict ustar profile of docs/bundle-format.md §2 ([B5]-[B13]), the
canonical entry names of §3 ([B14], [B15]) and the end of the archive (§1
[B4], §8 [B45]). Walks headers, seeks over data, and returns the entries;
every refusal is `archive.structure` (exit 3, docs/policy.md §9 [P39]).
"""

from dataclasses import dataclass

from limits import WalkLimits
from paths import canonical_problem, ustar_split
from refusal import Refusal

BLOCK = 512
OCTAL_LIMIT = 8**11  # §2 "Sizes": below 8 GiB (8^11) the octal form

# §2 table ([B5], [B9]): (field, offset, length, exact bytes) for every
# fixed field. The typeflag `0` is the only type: PAX (`x`, `g`), GNU (`L`,
# `K`, `S`), links, devices, FIFOs, folders are all refused ([B8]).
FIXED = [
    ("mode", 100, 8, b"0000644\0"),
    ("uid", 108, 8, b"0000000\0"),
    ("gid", 116, 8, b"0000000\0"),
    ("mtime", 136, 12, b"00000000000\0"),
    ("typeflag", 156, 1, b"0"),
    ("linkname", 157, 100, b"\0" * 100),
    ("magic", 257, 6, b"ustar\0"),
    ("version", 263, 2, b"00"),
    ("uname", 265, 32, b"\0" * 32),
    ("gname", 297, 32, b"\0" * 32),
    ("devmajor", 329, 8, b"\0" * 8),
    ("devminor", 337, 8, b"\0" * 8),
    ("pad", 500, 12, b"\0" * 12),
]


@dataclass
class Entry:
    name: str
    header_offset: int
    data_offset: int
    size: int


def refuse(detail: str) -> Refusal:
    return Refusal("archive.structure", detail)


def text_field(raw: bytes, what: str, offset: int) -> bytes:
    """[B11]: the bytes before the first NUL; non-NUL bytes after it are
    refused."""
    end = raw.find(b"\0")
    if end == -1:
        return raw
    if raw[end:].strip(b"\0"):
        raise refuse(f"header at offset {offset}: bytes after the first NUL of {what}")
    return raw[:end]


def size_field(raw: bytes, offset: int) -> int:
    """§2 "Sizes" [B7]: 11 octal digits + NUL below 8 GiB, base-256 from
    8 GiB on, nothing else."""
    if raw[0] == 0x80:
        if raw[1:4] != b"\0\0\0":
            raise refuse(f"header at offset {offset}: base-256 size with non-zero bytes 1-3")
        value = int.from_bytes(raw[4:12], "big")
        if value < OCTAL_LIMIT:
            raise refuse(f"header at offset {offset}: base-256 size {value} below 8 GiB")
        return value
    digits, nul = raw[:11], raw[11:12]
    if nul != b"\0" or any(c not in b"01234567" for c in digits):
        raise refuse(f"header at offset {offset}: size field is not 11 octal digits and a NUL")
    return int(digits, 8)


def check_checksum(header: bytes, offset: int) -> None:
    """[B10]: 6 octal digits, NUL, space; the unsigned byte sum of the
    header with the field as 8 spaces."""
    field = header[148:156]
    if field[6:8] != b"\0 " or any(c not in b"01234567" for c in field[:6]):
        raise refuse(f"header at offset {offset}: checksum field not in its canonical form")
    want = sum(header[:148]) + 8 * 0x20 + sum(header[156:])
    if int(field[:6], 8) != want:
        raise refuse(f"header at offset {offset}: wrong header checksum")


def entry_name(header: bytes, offset: int) -> str:
    """§2 "Names" [B6]: rejoin prefix and name and refuse a split other than
    the rule's; then §3 [B14], [B15]: the name must be canonical."""
    name = text_field(header[0:100], "name", offset)
    prefix = text_field(header[345:500], "prefix", offset)
    full = prefix + b"/" + name if prefix else name
    if not name:
        raise refuse(f"header at offset {offset}: empty name")
    if ustar_split(full) != (prefix, name):
        raise refuse(f"header at offset {offset}: name split into prefix and name differs from §2's rule")
    try:
        text = full.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse(f"header at offset {offset}: name is not UTF-8") from None
    problem = canonical_problem(text)
    if problem:
        raise refuse(f"entry {text!r}: not a canonical name ({problem})")
    return text


def walk(data: bytes) -> list:
    """Every entry of the archive, or a Refusal. `data` is the whole file."""
    entries = []
    offset = 0
    total = len(data)
    limits = WalkLimits()  # §12 [B61]
    while True:
        if offset + BLOCK > total:
            raise refuse(f"bundle ends with an incomplete entry at offset {offset} (an interrupted sign?)")
        header = data[offset : offset + BLOCK]
        if header == bytes(BLOCK):
            # [B4], [B13]: the 1024-byte end marker, and the file ends there.
            second = data[offset + BLOCK : offset + 2 * BLOCK]
            if len(second) < BLOCK:
                raise refuse(f"bundle ends with an incomplete entry at offset {offset} (an interrupted sign?)")
            if second != bytes(BLOCK):
                raise refuse(f"zero block at offset {offset} not followed by a second zero block")
            if offset + 2 * BLOCK != total:
                raise refuse(f"{total - offset - 2 * BLOCK} byte(s) after the end-of-archive marker")
            return entries
        limits.header(offset)
        for field, start, length, want in FIXED:
            if header[start : start + length] != want:
                if field == "typeflag":
                    raise refuse(f"header at offset {offset}: typeflag {header[156:157]!r}, only regular files ('0')")
                raise refuse(f"header at offset {offset}: field {field} differs from the profile")
        check_checksum(header, offset)
        size = size_field(header[124:136], offset)
        name = entry_name(header, offset)
        limits.name(name)
        data_offset = offset + BLOCK
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        if data_offset + padded > total:
            raise refuse(f"bundle ends with an incomplete entry at offset {offset} (an interrupted sign?)")
        if any(data[data_offset + size : data_offset + padded]):  # [B12]
            raise refuse(f"entry {name!r}: non-zero byte in the padding after its data")
        entries.append(Entry(name, offset, data_offset, size))
        offset = data_offset + padded
