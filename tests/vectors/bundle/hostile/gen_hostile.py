#!/usr/bin/env python3
"""Write hostile tar files the lbom bundle reader must reject, with Python's
tarfile (an independent tar writer), each with an `.expect` file.

Usage: python3 gen_hostile.py  (writes into this script's folder)
Deterministic: fixed mtime/owner fields, so re-running gives the same bytes.
"""
import io, os, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))


def info(name, size=0, type_=tarfile.REGTYPE, **kw):
    t = tarfile.TarInfo(name)
    t.size, t.type, t.mode, t.mtime, t.uid, t.gid, t.uname, t.gname = size, type_, 0o644, 0, 0, 0, "", ""
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def write(case, members, expect, fmt=tarfile.USTAR_FORMAT, mutate=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for t, data in members:
            tf.addfile(t, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    # tarfile pads to a 10240-byte record; keep exactly one end marker.
    end = raw.rstrip(b"\0")
    end = end + b"\0" * (-len(end) % 512) + b"\0" * 1024
    if mutate:
        end = mutate(end)
    with open(os.path.join(HERE, case + ".tar"), "wb") as f:
        f.write(end)
    with open(os.path.join(HERE, case + ".expect"), "w") as f:
        f.write("expect: rejected: " + expect + "\n")


a = (info("manifest.json", 2), b"{}")
write("traversal", [(info("../evil", 1), b"x")], '".." segment')
write("absolute", [(info("/etc/evil", 1), b"x")], "is absolute")
write("symlink", [(info("link", 0, tarfile.SYMTYPE, linkname="/etc/passwd"), None)], "symbolic link entries")
write("hardlink", [(info("link", 0, tarfile.LNKTYPE, linkname="x"), None)], "hard link entries")
write("device", [(info("dev", 0, tarfile.CHRTYPE, devmajor=1, devminor=3), None)], "character device entries")
write("fifo", [(info("pipe", 0, tarfile.FIFOTYPE), None)], "FIFO entries")
write("duplicate", [(info("a", 1), b"x"), (info("a", 1), b"y")], "collides")
write("case-duplicate", [(info("a", 1), b"x"), (info("A", 1), b"y")], "collides")
write("pax-path", [(info("a", 1, pax_headers={"path": "../../evil"}), b"x")], "PAX extended header", fmt=tarfile.PAX_FORMAT)
write("gnu-longname", [(info("d/" + "x" * 150, 1), b"x")], "GNU long name", fmt=tarfile.GNU_FORMAT)
write("truncated", [(info("a", 5000), b"y" * 5000)], "truncated", mutate=lambda b: b[:2048])
write("trailing", [a], "after the end-of-archive marker", mutate=lambda b: b + b"\x01" + b"\0" * 511)
write("no-end-marker", [a], "truncated", mutate=lambda b: b[:-1024])
write("setuid-mode", [(info("a", 1, mode=0o4755), b"x")], "field mode")
