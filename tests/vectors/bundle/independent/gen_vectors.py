#!/usr/bin/env python3
"""Byte-exact vectors for the lbom bundle format, written WITHOUT lbom:
Python's tarfile for ustar headers and `cryptography` for Ed25519, following
docs/bundle-format.md. lbom's tests compare its own output with these files.

Usage: /tmp/lbom-venv/bin/python gen_vectors.py   (writes beside this script)
"""
import base64, hashlib, io, json, os, tarfile
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization as ser

HERE = os.path.dirname(os.path.abspath(__file__))


def header(name, size):
    t = tarfile.TarInfo(name)
    t.size, t.mode, t.mtime, t.uid, t.gid, t.uname, t.gname = size, 0o644, 0, 0, 0, "", ""
    return t.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")


def out(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# 1. Headers: a short name, and one that needs the ustar prefix field.
out("header-short.bin", header("artifacts/model.gguf", 1234))
long_name = "artifacts/" + "d" * 60 + "/" + "e" * 60 + "/" + "f" * 90
out("header-long.bin", header(long_name, 5))
out("header-long.name", long_name.encode())

# 1b. A name whose ustar split is not unique (docs/bundle-format.md [B6]):
#     the format takes the LONGEST prefix (as GNU tar and Go's archive/tar
#     do); Python's tarfile._posix_split_name takes the SHORTEST. The
#     longest-prefix header is written from explicit fields with tarfile's
#     own field encoder; the shortest one is what tarfile writes by itself,
#     and a reader must refuse it.
split_name = "artifacts/" + "d" * 60 + "/" + "e" * 60 + "/config.json.zst"
prefix, short = split_name.rsplit("/", 1)
assert len(prefix) <= 155 and len(short) <= 100
fields = {"name": short, "prefix": prefix, "mode": 0o644, "uid": 0, "gid": 0, "size": 5,
          "mtime": 0, "type": tarfile.REGTYPE, "linkname": "", "uname": "", "gname": "",
          "magic": tarfile.POSIX_MAGIC}
longest = tarfile.TarInfo._create_header(fields, tarfile.USTAR_FORMAT, "utf-8", "strict")
shortest = header(split_name, 5)
assert longest != shortest and shortest[345:345 + 70] == split_name[:70].encode()
out("header-split.name", split_name.encode())
out("header-split-longest.bin", longest)
out("header-split-shortest.bin", shortest)

# 2. A chain link: seed 0x09 * 32, manifest digest = SHA-256("manifest"),
#    link 2 after a link whose entry digest is SHA-256("link1").
seed = bytes([9]) * 32
key = Ed25519PrivateKey.from_private_bytes(seed)
spki = key.public_key().public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
keyid = hashlib.sha256(spki).hexdigest()
statement = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "manifest.json", "digest": {"sha256": hashlib.sha256(b"manifest").hexdigest()}}],
    "predicateType": "urn:lbom:predicate:chain-link:v1",
    "predicate": {
        "index": 2,
        "role": "transfer",
        "keyid": keyid,
        "time": "2026-01-02T03:04:05Z",
        "note": "carried on USB stick 7",
        "previous": {"path": "chain/0001.dsse.json", "sha256": hashlib.sha256(b"link1").hexdigest()},
    },
}
payload = json.dumps(statement, separators=(",", ":"), ensure_ascii=False).encode()
ptype = "application/vnd.in-toto+json"
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype.encode(), len(payload), payload)
sig = key.sign(pae)
envelope = {
    "payload": base64.b64encode(payload).decode(),
    "payloadType": ptype,
    "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode()}],
}
out("link-0002.dsse.json", json.dumps(envelope, separators=(",", ":")).encode() + b"\n")
out("link-0002.pae", pae)
out("link-0002.keyid", keyid.encode() + b"\n")
print("wrote vectors; keyid", keyid)
