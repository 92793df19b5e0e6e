#!/usr/bin/env python3
"""Probe bundles for the questions the spec leaves open (README.md,
"Ambiguities"): each takes a bundle packed by lbom, changes one thing a
writer could do differently, and re-signs every link with the public demo
keys, so that only the questioned rule can refuse it.

    probes.py BASE.lbom OUTDIR MAINTAINER.key TRANSFER.key

BASE must hold at least two zstd artifacts and two links (maintainer, then
transfer). Writes OUTDIR/probe-*.lbom and prints their names, one a line.
Uses the reference's own tar walker to read BASE and writes the §2 profile
itself; it never runs lbom.
"""

import base64
import hashlib
import json
import os
import sys

import zstandard
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import jsonform
import tarprofile
from paths import ustar_split

TIME = "2026-01-01T00:02:00Z"


def header(name: str, size: int) -> bytes:
    prefix, short = ustar_split(name.encode("utf-8"))
    h = bytearray(512)
    h[0 : len(short)] = short
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[345 : 345 + len(prefix)] = prefix
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def write_tar(entries) -> bytes:
    out = bytearray()
    for name, data in entries:
        out += header(name, len(data)) + data + bytes(-len(data) % 512)
    return bytes(out + bytes(1024))


class Signer:
    def __init__(self, key_file: str, role: str):
        with open(key_file, encoding="ascii") as f:
            self.key = Ed25519PrivateKey.from_private_bytes(seed(f.read()))
        der = self.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        self.keyid = hashlib.sha256(der).hexdigest()
        self.role = role


# docs/bundle-format.md [B40]: PKCS#8 (RFC 5958) OneAsymmetricKey, v1 or v2
# with the public key. Neither cryptography 50 nor OpenSSL 3.0 loads the v2
# form ("extra data"), so the seed is taken from the DER here.
PKCS8_V1 = bytes.fromhex("302e020100300506032b657004220420")
PKCS8_V2 = bytes.fromhex("3051020101300506032b657004220420")


def seed(pem: str) -> bytes:
    body = "".join(line for line in pem.split("\n") if line and not line.startswith("-----"))
    der = base64.b64decode(body, validate=True)
    if der[:16] not in (PKCS8_V1, PKCS8_V2):
        raise ValueError("not an unencrypted Ed25519 PKCS#8 key")
    return der[16:48]


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def link(index, signer, manifest_digest, previous_raw, predicate_edit=None, payload_form=jsonform.compact,
         signatures_edit=None):
    predicate = {"index": index, "role": signer.role, "keyid": signer.keyid, "time": TIME}
    if previous_raw is not None:
        predicate["previous"] = {
            "path": f"chain/{index - 1:04d}.dsse.json",
            "sha256": hashlib.sha256(previous_raw).hexdigest(),
        }
    if predicate_edit:
        predicate = predicate_edit(predicate)
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "manifest.json", "digest": {"sha256": manifest_digest}}],
        "predicateType": "urn:lbom:predicate:chain-link:v1",
        "predicate": predicate,
    }
    payload = payload_form(statement)
    ptype = "application/vnd.in-toto+json"
    sig = base64.b64encode(signer.key.sign(pae(ptype, payload))).decode()
    signatures = [{"keyid": signer.keyid, "sig": sig}]
    if signatures_edit:
        signatures = signatures_edit(signatures)
    envelope = {"payload": base64.b64encode(payload).decode(), "payloadType": ptype, "signatures": signatures}
    return jsonform.compact(envelope) + b"\n"


def read(path: str):
    with open(path, "rb") as f:
        data = f.read()
    return [(e.name, data[e.data_offset : e.data_offset + e.size]) for e in tarprofile.walk(data)]


def build(entries, manifest_value, signers, manifest_form=jsonform.pretty, last_link=None):
    """entries: (name, bytes) before the manifest; the manifest is rebuilt
    from `manifest_value` with sizes and digests of those entries unless the
    caller already set them."""
    manifest_raw = manifest_form(manifest_value)
    digest = hashlib.sha256(manifest_raw).hexdigest()
    out = list(entries) + [("manifest.json", manifest_raw)]
    previous = None
    for n, signer in enumerate(signers, start=1):
        kwargs = last_link if (last_link and n == len(signers)) else {}
        raw = link(n, signer, digest, previous, **kwargs)
        out.append((f"chain/{n:04d}.dsse.json", raw))
        previous = raw
    return write_tar(out)


def refresh(manifest_value, entries):
    """Set each manifest entry's stored_size from the tar bytes and, for raw
    entries, size and sha256 too."""
    stored = dict(entries)
    for e in manifest_value["entries"]:
        data = stored[e["path"]]
        e["stored_size"] = len(data)
        if e["encoding"] == "raw":
            e["size"] = len(data)
            e["sha256"] = hashlib.sha256(data).hexdigest()
    return manifest_value


def main() -> int:
    base, outdir, maintainer_key, transfer_key = sys.argv[1:5]
    signers = [Signer(maintainer_key, "maintainer"), Signer(transfer_key, "transfer")]
    all_entries = read(base)
    cut = [n for n, _ in all_entries].index("manifest.json")
    entries = all_entries[:cut]
    manifest = json.loads(dict(all_entries)["manifest.json"])
    attestation = json.loads(dict(entries)["attestation.intoto.json"])
    probes = {}

    def put(name, data):
        probes[name] = data

    def fresh():
        return json.loads(json.dumps(manifest)), [list(e) for e in entries]

    def with_attestation(att_bytes):
        m, ents = fresh()
        ents = [(n, att_bytes if n == "attestation.intoto.json" else d) for n, d in ents]
        return build(ents, refresh(m, ents), signers)

    put("probe-resigned-control", build(entries, manifest, signers))
    put("probe-manifest-compact", build(entries, manifest, signers, manifest_form=lambda v: jsonform.compact(v) + b"\n"))
    m, _ = fresh()
    reordered = {k: m[k] for k in ["name", "schema"] + [k for k in m if k not in ("name", "schema")]}
    put("probe-manifest-keys-reordered", build(entries, reordered, signers))
    m, _ = fresh()
    m["tool"]["name"] = "another-writer"
    put("probe-manifest-tool-name", build(entries, m, signers))
    m, _ = fresh()
    m["sequence"] = 2**63
    put("probe-manifest-sequence-2-63", build(entries, m, signers))
    m, _ = fresh()
    m["created"] = "2026-02-30T00:00:00Z"
    put("probe-manifest-created-feb-30", build(entries, m, signers))

    put("probe-attestation-pretty", with_attestation(jsonform.pretty(attestation)))
    a = json.loads(json.dumps(attestation))
    a["subject"][0]["digest"]["sha512"] = "00" * 64
    put("probe-attestation-extra-digest", with_attestation(jsonform.compact(a) + b"\n"))
    a = json.loads(json.dumps(attestation))
    a["subject"].reverse()
    put("probe-attestation-subjects-reversed", with_attestation(jsonform.compact(a) + b"\n"))
    a = json.loads(json.dumps(attestation))
    a["subject"].append(a["subject"][0])
    put("probe-attestation-subject-duplicated", with_attestation(jsonform.compact(a) + b"\n"))

    def hint(sigs):
        sigs[0]["keyid"] = "0" * 64
        return sigs

    put("probe-link-hint-changed", build(entries, manifest, signers, last_link={"signatures_edit": hint}))
    put("probe-link-two-signatures", build(entries, manifest, signers, last_link={"signatures_edit": lambda s: s + s}))

    def note(value):
        def edit(p):
            p = dict(p)
            previous = p.pop("previous", None)
            p["note"] = value
            if previous is not None:
                p["previous"] = previous
            return p
        return edit

    put("probe-link-note-empty", build(entries, manifest, signers, last_link={"predicate_edit": note("")}))
    put("probe-link-note-null", build(entries, manifest, signers, last_link={"predicate_edit": note(None)}))
    put("probe-link-note-c1-control", build(entries, manifest, signers, last_link={"predicate_edit": note("a\u0085b")}))
    put("probe-link-payload-pretty", build(
        entries, manifest, signers,
        last_link={"payload_form": lambda v: json.dumps(v, indent=1).encode()},
    ))

    def recoded(**options):
        m, ents = fresh()
        first = next(i for i, e in enumerate(m["entries"]) if e["encoding"] == "zstd")
        path = m["entries"][first]["path"]
        old = dict(ents)[path]
        plain = zstandard.ZstdDecompressor().decompress(old)
        new = zstandard.ZstdCompressor(**options).compress(plain)
        ents = [(n, new if n == path else d) for n, d in ents]
        return build(ents, refresh(m, ents), signers)

    put("probe-zstd-level-19", recoded(level=19, write_checksum=True, write_content_size=True))
    put("probe-zstd-no-checksum", recoded(level=3, write_checksum=False, write_content_size=True))
    put("probe-zstd-no-content-size", recoded(level=3, write_checksum=True, write_content_size=False))

    m, ents = fresh()
    ents = [(n, d) for n, d in ents if n == "attestation.intoto.json"]
    a = json.loads(json.dumps(attestation))
    a["subject"] = []
    a["predicate"]["buildDefinition"]["resolvedDependencies"] = []
    ents = [("attestation.intoto.json", jsonform.compact(a) + b"\n")]
    m["entries"] = [e for e in m["entries"] if e["role"] == "attestation"]
    put("probe-zero-artifacts", build(ents, refresh(m, ents), signers))

    m, _ = fresh()
    m["sequence"] = 2
    m["previous"] = {"sequence": 1, "manifest_sha256": "AB" * 32}
    a = json.loads(json.dumps(attestation))
    a["predicate"]["buildDefinition"]["externalParameters"]["sequence"] = 2
    a["predicate"]["buildDefinition"]["externalParameters"]["previous"] = m["previous"]
    ents = [(n, jsonform.compact(a) + b"\n" if n == "attestation.intoto.json" else d) for n, d in entries]
    put("probe-manifest-previous-uppercase-hex", build(ents, refresh(m, ents), signers))
    m, _ = fresh()
    m["created"] = "2016-12-31T23:59:60Z"
    put("probe-manifest-created-leap-second", build(entries, m, signers))
    m, _ = fresh()
    m["schema"] = "urn:lbom:bundle-manifest:v9"
    m["format_v9_field"] = True
    put("probe-manifest-schema-v9", build(entries, m, signers))
    put("probe-manifest-duplicate-key", build(
        entries, manifest, signers,
        manifest_form=lambda v: jsonform.pretty(v).replace(b'  "name"', b'  "name": "shadow",\n  "name"', 1),
    ))

    def no_hint(sigs):
        return [{"sig": sigs[0]["sig"]}]

    put("probe-link-hint-omitted", build(entries, manifest, signers, last_link={"signatures_edit": no_hint}))

    # Artifact `a` (zstd: artifacts/a.zst) and `a.zst/b` (raw): the entry
    # names collide (one is a folder prefix of the other), the artifact
    # paths do not (ambiguity A3).
    m, ents = fresh()
    zstd_entry = next(e for e in m["entries"] if e["encoding"] == "zstd")
    stored = dict(ents)
    sbom = stored[zstd_entry["path"].replace("artifacts/", "sboms/").replace(".zst", ".cdx.json")]
    plain = zstandard.ZstdDecompressor().decompress(stored[zstd_entry["path"]])
    sha = hashlib.sha256(plain).hexdigest()
    a = json.loads(json.dumps(attestation))
    a["subject"] = [{"name": "a", "digest": {"sha256": sha}}, {"name": "a.zst/b", "digest": {"sha256": sha}}]
    a["predicate"]["buildDefinition"]["resolvedDependencies"] = a["subject"]
    ents = [
        ("artifacts/a.zst", stored[zstd_entry["path"]]),
        ("sboms/a.cdx.json", sbom),
        ("artifacts/a.zst/b", plain),
        ("sboms/a.zst/b.cdx.json", sbom),
        ("attestation.intoto.json", jsonform.compact(a) + b"\n"),
    ]
    att = [e for e in m["entries"] if e["role"] == "attestation"][0]
    m["entries"] = [
        dict(zstd_entry, path="artifacts/a.zst"),
        {"path": "sboms/a.cdx.json", "role": "sbom", "size": 0, "sha256": "", "encoding": "raw", "stored_size": 0},
        {"path": "artifacts/a.zst/b", "role": "artifact", "size": 0, "sha256": "", "encoding": "raw", "stored_size": 0},
        {"path": "sboms/a.zst/b.cdx.json", "role": "sbom", "size": 0, "sha256": "", "encoding": "raw", "stored_size": 0},
        att,
    ]
    put("probe-collision-entry-names-only", build(ents, refresh(m, ents), signers))

    os.makedirs(outdir, exist_ok=True)
    for name, data in probes.items():
        with open(os.path.join(outdir, name + ".lbom"), "wb") as f:
            f.write(data)
        print(name + ".lbom")
    return 0


if __name__ == "__main__":
    sys.exit(main())
