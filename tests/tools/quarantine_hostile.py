#!/usr/bin/env python3
"""Hostile archives for `lbom verify` / `lbom import`: one real signed bundle
with one hostile tar member spliced in (or one header edited), one file per
class, and index.json listing each case with the exit code lbom must give.

Usage: quarantine_hostile.py BASE.lbom OUTDIR

The hostile members are written by Python's `tarfile` (an independent tar
writer: PAX, GNU and ustar headers as extractors meet them) or as raw
ustar headers where tarfile refuses to write the lie. Every case is a
structural refusal (exit 3, check `archive.structure`, but for the empty
archive, whose missing manifest is `manifest.form`'s): an extractor that
honoured any of them would write outside its folder, create a device or a
link, or keep a copy the verifier never checked. Standard library only.
"""
import io
import json
import os
import sys
import tarfile
import unicodedata

BLOCK = 512


def split_members(raw):
    """The base bundle as [(header, padded data)], and the offset of its end marker."""
    out, off = [], 0
    while True:
        header = raw[off:off + BLOCK]
        if header == b"\0" * BLOCK:
            return out
        size = int(header[124:135].decode(), 8)
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        out.append((header, raw[off + BLOCK:off + BLOCK + padded]))
        off += BLOCK + padded


def name_of(header):
    return header[0:100].rstrip(b"\0").decode()


def checksum(header):
    h = bytearray(header)
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def info(name, size=0, type_=tarfile.REGTYPE, **kw):
    t = tarfile.TarInfo(name)
    t.size, t.type, t.mode, t.mtime = size, type_, 0o644, 0
    t.uid, t.gid, t.uname, t.gname = 0, 0, "", ""
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def member(t, data=b"", fmt=tarfile.USTAR_FORMAT):
    """Header block(s) tarfile writes for `t`, then the padded data."""
    head = t.tobuf(fmt, "utf-8", "surrogateescape")
    return head + data + b"\0" * (-len(data) % BLOCK)


def raw_header(name_bytes, size, typeflag=b"0", mode=b"0000644\0", size_field=None, magic=b"ustar\0", version=b"00"):
    """A ustar header written byte by byte (for lies tarfile will not write)."""
    h = bytearray(BLOCK)
    h[0:len(name_bytes)] = name_bytes
    h[100:108] = mode
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = size_field if size_field is not None else b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[156:157] = typeflag
    h[257:263] = magic
    h[263:265] = version
    return checksum(bytes(h))


def main():
    base_path, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    raw = open(base_path, "rb").read()
    members = split_members(raw)
    names = [name_of(h) for h, _ in members]
    blobs = [h + d for h, d in members]
    end = b"\0" * 1024
    att = names.index("attestation.intoto.json")
    index = []

    def case(name, data, what, code=3, checks=("archive.structure",)):
        with open(os.path.join(out, name + ".lbom"), "wb") as f:
            f.write(data)
        index.append({"name": name, "code": code, "checks": list(checks), "what": what})

    def spliced(extra, at=0):
        """The base with `extra` (raw bytes of whole members) inserted before member `at`."""
        return b"".join(blobs[:at]) + extra + b"".join(blobs[at:]) + end

    # Paths that leave the extraction folder.
    case("traversal", spliced(member(info("../evil", 4), b"evil")), "'..' segment")
    case("traversal-deep", spliced(member(info("artifacts/../../../evil", 4), b"evil"), att), "'..' inside a path")
    case("absolute", spliced(member(info("/tmp/lbom-evil", 4), b"evil")), "absolute path")
    case("backslash", spliced(member(info("artifacts\\..\\..\\evil", 4), b"evil"), att), "backslash separator")
    case("dot-segment", spliced(member(info("artifacts/./evil", 4), b"evil"), att), "'.' segment")
    case("empty-segment", spliced(member(info("artifacts//evil", 4), b"evil"), att), "empty segment")
    case("control-character", spliced(member(info("artifacts/evil\x1b[2J", 4), b"evil"), att), "control character in a name")
    case("not-utf8", spliced(raw_header(b"artifacts/evil\xff\xfe", 4) + b"evil" + b"\0" * 508, att), "name not UTF-8")
    # Extension headers that override the name extractors use.
    case("pax-path", spliced(member(info("artifacts/x", 4, pax_headers={"path": "../../evil"}), b"evil", tarfile.PAX_FORMAT), att), "PAX path override")
    case("pax-size", spliced(member(info("artifacts/x", 4, pax_headers={"size": "999999999"}), b"evil", tarfile.PAX_FORMAT), att), "PAX size override")
    case("pax-global", spliced(member(info("pax_global_header", 0, tarfile.XGLTYPE, pax_headers={"path": "../evil"}), b"", tarfile.PAX_FORMAT)), "PAX global header")
    case("gnu-longname", spliced(member(info("artifacts/" + "x" * 150, 4), b"evil", tarfile.GNU_FORMAT), att), "GNU long name")
    case("gnu-longlink", spliced(member(info("artifacts/l", 0, tarfile.SYMTYPE, linkname="/" + "y" * 150), b"", tarfile.GNU_FORMAT), att), "GNU long link name")
    # Links out of the folder, and writes through them.
    case("symlink-escape", spliced(member(info("artifacts/passwd", 0, tarfile.SYMTYPE, linkname="/etc/passwd")), att), "symlink to an absolute path")
    case("symlink-then-write-through", spliced(
        member(info("artifacts/d", 0, tarfile.SYMTYPE, linkname="../../..")) + member(info("artifacts/d/evil", 4), b"evil"), att),
        "symlink to a parent, then a file below it")
    case("hardlink-escape", spliced(member(info("artifacts/shadow", 0, tarfile.LNKTYPE, linkname="/etc/shadow")), att), "hard link to an absolute path")
    case("hardlink-inside", spliced(member(info("artifacts/again", 0, tarfile.LNKTYPE, linkname=names[0])), att), "hard link to another entry")
    # Special files.
    case("char-device", spliced(member(info("artifacts/null", 0, tarfile.CHRTYPE, devmajor=1, devminor=3)), att), "character device")
    case("block-device", spliced(member(info("artifacts/sda", 0, tarfile.BLKTYPE, devmajor=8, devminor=0)), att), "block device")
    case("fifo", spliced(member(info("artifacts/pipe", 0, tarfile.FIFOTYPE)), att), "FIFO")
    case("directory", spliced(member(info("artifacts/dir", 0, tarfile.DIRTYPE, mode=0o755)), att), "directory entry")
    case("contiguous", spliced(raw_header(b"artifacts/c", 4, typeflag=b"7") + b"evil" + b"\0" * 508, att), "contiguous file")
    case("nul-typeflag", spliced(raw_header(b"artifacts/n", 4, typeflag=b"\0") + b"evil" + b"\0" * 508, att), "typeflag NUL")
    # Modes: the real first artifact's header with setuid / world-writable bits.
    for label, mode in (("setuid", b"0004755\0"), ("setgid", b"0002755\0"), ("world-writable", b"0000666\0")):
        h, d = members[0]
        h = checksum(h[:100] + mode + h[108:])
        case("mode-" + label, h + d + b"".join(blobs[1:]) + end, label + " mode")
    # Duplicates and collisions (extractors keep the last copy).
    first_h, first_d = members[0]
    other = bytearray(first_d)
    other[0] ^= 1
    case("duplicate-member", b"".join(blobs[:1]) + first_h + bytes(other) + b"".join(blobs[1:]) + end, "same name twice, second differs")
    case("duplicate-manifest", spliced(member(info("manifest.json", 3), b"{}\n"), len(blobs)), "a second manifest after the chain")
    upper = names[2].replace("model", "MODEL")
    case("case-collision", spliced(member(info(upper, 4), b"evil"), att), "same name but for case")
    nfc = unicodedata.normalize("NFC", "artifacts/caf\u00e9.json")
    nfd = unicodedata.normalize("NFD", nfc)
    case("unicode-nfc-nfd-collision", spliced(member(info(nfc, 2), b"{}") + member(info(nfd, 2), b"{}"), att), "NFC and NFD spellings of one name")
    case("unicode-nfd-alone", spliced(member(info(nfd, 2), b"{}"), att), "name not in NFC")
    case("unicode-compat-collision", spliced(member(info("artifacts/\ufb01le", 2), b"{}") + member(info("artifacts/file", 2), b"{}"), att), "ligature fi and fi")
    case("file-and-folder-collision", spliced(member(info(names[0] + "/x", 2), b"{}"), att), "a file and a folder of the same name")
    # Sizes that lie and truncation.
    h, d = members[0]
    case("size-past-end", checksum(h[:124] + b"%011o\0" % (len(raw) * 4) + h[136:]) + d + b"".join(blobs[1:]) + end, "size runs past the end of the file")
    case("size-huge", checksum(h[:124] + b"77777777777\0" + h[136:]) + d + b"".join(blobs[1:]) + end, "size 8 GiB - 1")
    big = b"\x80" + b"\0" * 3 + (1 << 62).to_bytes(8, "big")
    case("size-base256-huge", checksum(h[:124] + big + h[136:]) + d + b"".join(blobs[1:]) + end, "base-256 size of 2^62")
    small256 = b"\x80" + b"\0" * 3 + (len(first_d)).to_bytes(8, "big")
    case("size-base256-small", checksum(h[:124] + small256 + h[136:]) + d + b"".join(blobs[1:]) + end, "base-256 for a size octal holds")
    case("size-not-octal", checksum(h[:124] + b"0000000009x\0" + h[136:]) + d + b"".join(blobs[1:]) + end, "size field not octal")
    whole = b"".join(blobs) + end
    case("truncated-mid-header", whole[:BLOCK * 3 + 200], "cut inside a header")
    case("truncated-mid-data", whole[:len(blobs[0]) + BLOCK + 1000], "cut inside data")
    case("truncated-end-marker", whole[:-700], "cut inside the end marker")
    case("trailing-garbage", whole + b"PK\x03\x04 trailing", "bytes after the end marker")
    case("trailing-zeros", whole + b"\0" * 10240, "record padding after the end marker")
    case("second-archive", whole + whole, "a second archive after the first")
    case("bad-checksum", checksum(h)[:148] + b"000000\0 " + h[156:] + d + b"".join(blobs[1:]) + end, "header checksum wrong")
    case("not-ustar", raw_header(b"artifacts/old", 4, magic=b"\0" * 6, version=b"\0\0") + b"evil" + b"\0" * 508 + whole, "pre-POSIX header")
    case("gnu-magic", raw_header(b"artifacts/gnu", 4, magic=b"ustar ", version=b" \0") + b"evil" + b"\0" * 508 + whole, "old GNU magic")
    case("empty-file", b"", "empty file")
    # A well-formed empty archive: the walk passes, the manifest is missing.
    case("zeros-only", b"\0" * 1024, "only an end marker", checks=("manifest.form",))

    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
