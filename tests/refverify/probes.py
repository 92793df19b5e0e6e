#!/usr/bin/env python3
"""Probe bundles: each takes a bundle packed by lbom, changes one thing a
writer could do differently, brings every other byte back into agreement
(the manifest's sizes and digests, the attestation, every link re-signed
with the public demo keys), so that only the rule in question can refuse
it. Most probe a decision of docs/bundle-format.md version 2 where the
committed corpus (tests/vectors/quarantine/format-*.lbom) has no vector;
`EXPECT` gives the outcome the spec gives each, as the reference reads it
(README.md names the readings, R1...).

    probes.py BASE.lbom OUTDIR MAINTAINER.key TRANSFER.key

BASE: a version 2 bundle of zstd artifacts `config.json`,
`generation_config.json` and `model.gguf` (8 KiB), signed by maintainer then
transfer. Writes OUTDIR/probe-*.lbom and prints their names, one a line.
Reads BASE with the reference's tar walker and writes the §2 profile itself;
it never runs lbom.
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
from xxh64 import xxh64

TIME = "2026-01-01T00:02:00Z"
V1 = "urn:lbom:bundle-manifest:v1"

# The outcome the spec gives each probe ("accept", or "CHECK exit N").
EXPECT = {}


# --- writers: tar (§2), zstd frames (§4), links (§7) ----------------------


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


def frame(content: bytes, fcs_len=None, window_log=None, fhd_extra=0, block=128 << 10, rle=False) -> bytes:
    """One RFC 8878 frame of raw (or RLE) blocks with a content checksum.
    `window_log` None: Single_Segment_flag 1 (window = content size)."""
    single = window_log is None
    if fcs_len is None:
        if single and len(content) < 256:
            fcs_len = 1
        else:
            fcs_len = 2 if 256 <= len(content) < 65536 + 256 else 4
    flag = {1: 0, 2: 1, 4: 2, 8: 3}[fcs_len]
    fhd = (flag << 6) | (single << 5) | (1 << 2) | fhd_extra
    out = bytearray(b"\x28\xb5\x2f\xfd") + bytes([fhd])
    if not single:
        out.append((window_log - 10) << 3)
    value = len(content) - 256 if fcs_len == 2 else len(content)
    out += value.to_bytes(fcs_len, "little")
    chunks = [content[i : i + block] for i in range(0, len(content), block)] or [b""]
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        kind = 1 if rle else 0
        out += ((len(chunk) << 3) | (kind << 1) | last).to_bytes(3, "little")
        out += chunk[:1] if rle else chunk
    check = xxh64()
    check.update(content)
    out += (check.digest() & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(out)


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
         signatures_edit=None, statement_edit=None, envelope_edit=None):
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
    if statement_edit:
        statement = statement_edit(statement)
    payload = payload_form(statement)
    ptype = "application/vnd.in-toto+json"
    sig = base64.b64encode(signer.key.sign(pae(ptype, payload))).decode()
    signatures = [{"keyid": signer.keyid, "sig": sig}]
    if signatures_edit:
        signatures = signatures_edit(signatures)
    envelope = {"payload": base64.b64encode(payload).decode(), "payloadType": ptype, "signatures": signatures}
    raw = jsonform.compact(envelope) + b"\n"
    return envelope_edit(raw) if envelope_edit else raw


def build(entries, manifest_value, signers, manifest_form=jsonform.pretty, last_link=None, link_edits=None):
    """The bundle: `entries` (name, bytes) before the manifest, the manifest
    in `manifest_form`, and one link per signer; `last_link` (or
    `link_edits[n]`) are keyword arguments of `link` for that link."""
    manifest_raw = manifest_form(manifest_value)
    digest = hashlib.sha256(manifest_raw).hexdigest()
    out = list(entries) + [("manifest.json", manifest_raw)]
    edits = dict(link_edits or {})
    if last_link:
        edits[len(signers)] = last_link
    previous = None
    for n, signer in enumerate(signers, start=1):
        raw = link(n, signer, digest, previous, **edits.get(n, {}))
        out.append((f"chain/{n:04d}.dsse.json", raw))
        previous = raw
    return write_tar(out)


# --- keeping a changed bundle consistent ----------------------------------


def attestation_of(m: dict, compress: str) -> dict:
    """§6: the attestation the manifest `m` gives."""
    subjects = [
        {"name": artifact_path(e), "digest": {"sha256": e["sha256"]}} for e in m["entries"] if e["role"] == "artifact"
    ]
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "urn:lbom:build-type:pack:v1",
                "externalParameters": {
                    "name": m["name"], "channel": m["channel"], "sequence": m["sequence"],
                    "previous": m["previous"], "expires": m["expires"], "compress": compress,
                },
                "resolvedDependencies": subjects,
            },
            "runDetails": {
                "builder": {"id": f"urn:lbom:builder:{m['tool']['name']}@{m['tool']['version']}"},
                "metadata": {"startedOn": m["created"], "finishedOn": m["created"]},
            },
        },
    }


def refresh(m: dict, ents: list) -> dict:
    """Every manifest entry's stored size and digest from the tar bytes and,
    for raw entries, its size and digest too."""
    stored = dict(ents)
    for e in m["entries"]:
        data = stored[e["path"]]
        e["stored_size"] = len(data)
        if "stored_sha256" in e or m["schema"] != V1:
            e["stored_sha256"] = hashlib.sha256(data).hexdigest()
        if e["encoding"] == "raw":
            e["size"] = len(data)
            e["sha256"] = hashlib.sha256(data).hexdigest()
    return m


def artifact_path(e: dict) -> str:
    path = e["path"][len("artifacts/") :]
    return path[: -len(".zst")] if e["encoding"] == "zstd" else path


def ordered(m: dict, ents: list) -> list:
    """[B2]: artifact and SBOM pairs in ascending byte order of artifact
    path, then the attestation; the tar entries in the manifest's order."""
    pairs = [m["entries"][i : i + 2] for i in range(0, len(m["entries"]) - 1, 2)]
    pairs.sort(key=lambda p: artifact_path(p[0]).encode("utf-8"))
    m["entries"] = [e for p in pairs for e in p] + m["entries"][-1:]
    stored = dict(ents)
    return [(e["path"], stored[e["path"]]) for e in m["entries"]]


def finish(m: dict, ents: list, compress="zstd:3", attestation=None):
    """The manifest and entries made consistent: layout order, entry sizes
    and digests, then the attestation the manifest gives (or
    `attestation(doc)` edits it, or `attestation` bytes replace it), then
    its manifest entry."""
    ents = ordered(m, ents)
    refresh(m, ents)
    doc = attestation_of(m, compress)
    if callable(attestation):
        raw = attestation(doc)
    elif isinstance(attestation, bytes):
        raw = attestation
    else:
        raw = jsonform.compact(doc) + b"\n"
    ents = [(n, raw if n == "attestation.intoto.json" else d) for n, d in ents]
    return refresh(m, ents), ents


def entry(path, role, encoding="raw"):
    return {"path": path, "role": role, "size": 0, "sha256": "", "encoding": encoding, "stored_size": 0,
            "stored_sha256": ""}


def to_v1(m: dict) -> dict:
    m["schema"] = V1
    for e in m["entries"]:
        e.pop("stored_sha256", None)
    return m


def read(path: str):
    with open(path, "rb") as f:
        data = f.read()
    return [(e.name, data[e.data_offset : e.data_offset + e.size]) for e in tarprofile.walk(data)]


def main() -> int:
    base, outdir, maintainer_key, transfer_key = sys.argv[1:5]
    signers = [Signer(maintainer_key, "maintainer"), Signer(transfer_key, "transfer")]
    all_entries = read(base)
    cut = [n for n, _ in all_entries].index("manifest.json")
    entries = all_entries[:cut]
    manifest = json.loads(dict(all_entries)["manifest.json"])
    attestation = json.loads(dict(entries)["attestation.intoto.json"])
    compress = attestation["predicate"]["buildDefinition"]["externalParameters"]["compress"]
    stored = dict(entries)
    plain = {
        e["path"]: zstandard.ZstdDecompressor().decompress(stored[e["path"]])
        for e in manifest["entries"]
        if e["encoding"] == "zstd"
    }
    config, model = "artifacts/config.json.zst", "artifacts/model.gguf.zst"
    probes = {}

    def put(name, data, expect):
        probes[name] = data
        EXPECT[name] = expect

    def fresh():
        return json.loads(json.dumps(manifest)), [tuple(e) for e in entries]

    def consistent(edit=None, attest=None, how=compress, link_edits=None, last_link=None, form=jsonform.pretty):
        """The base with `edit(m, ents) -> ents` applied, made consistent."""
        m, ents = fresh()
        if edit:
            ents = edit(m, ents) or ents
        m, ents = finish(m, ents, how, attest)
        return build(ents, m, signers, manifest_form=form, link_edits=link_edits, last_link=last_link)

    def replace(path, data):
        def edit(m, ents):
            return [(n, data if n == path else d) for n, d in ents]
        return edit

    def set_fields(**fields):
        def edit(m, ents):
            m.update(fields)
        return edit

    MF, CL3, CL5, AS3, AS4, ED = (
        "manifest.form exit 3", "chain.links exit 3", "chain.links exit 5",
        "attestation.subjects exit 3", "attestation.subjects exit 4", "entries.digests exit 4",
    )

    put("probe-resigned-control", consistent(), "accept")

    # Version 1 (§11): still read; every rule but [B57] applies.
    def v1(m, ents):
        to_v1(m)
    put("probe-v1-control", consistent(v1), "accept")

    def v1_recoded(**options):
        def edit(m, ents):
            to_v1(m)
            return replace(config, zstandard.ZstdCompressor(**options).compress(plain[config]))(m, ents)
        return edit
    put("probe-v1-zstd-level-19", consistent(v1_recoded(level=19, write_checksum=True)), "accept")
    put("probe-v1-zstd-no-checksum", consistent(v1_recoded(level=3, write_checksum=False)), ED)

    # Stored bytes and frame rules ([B56], [B57]) with the manifest made to match.
    def recoded(**options):
        return replace(config, zstandard.ZstdCompressor(**options).compress(plain[config]))
    put("probe-zstd-level-19", consistent(recoded(level=19, write_checksum=True)), "accept")
    put("probe-zstd-no-checksum", consistent(recoded(level=3, write_checksum=False)), ED)
    put("probe-zstd-no-content-size", consistent(recoded(level=3, write_content_size=False)), ED)
    put("probe-zstd-fcs-8-bytes", consistent(replace(config, frame(plain[config], fcs_len=8, window_log=10))), "accept")
    put("probe-zstd-unused-bit", consistent(replace(config, frame(plain[config], fhd_extra=0x10))), ED)
    put("probe-zstd-block-over-window", consistent(replace(model, frame(plain[model], window_log=10, block=8192))), ED)
    put("probe-zstd-block-at-window", consistent(replace(model, frame(plain[model], window_log=10, block=1024))),
        "accept")

    def window(exponent, mantissa):
        def edit(m, ents):
            f = bytearray(frame(plain[config], window_log=10))
            f[5] = (exponent << 3) | mantissa  # Window_Descriptor
            return replace(config, bytes(f))(m, ents)
        return edit
    # 2^22 + 7 * 2^19 = 7.5 MiB; 2^23 + 2^20 = 9 MiB ([B56] rule 4).
    put("probe-zstd-window-7-5-mib-mantissa", consistent(window(12, 7)), "accept")
    put("probe-zstd-window-9-mib-mantissa", consistent(window(13, 1)), ED)

    def empty_artifact(m, ents):
        sbom = stored["sboms/generation_config.json.cdx.json"]
        m["entries"][0:0] = [entry("artifacts/empty.json.zst", "artifact", "zstd"), entry("sboms/empty.json.cdx.json", "sbom")]
        m["entries"][0]["sha256"] = hashlib.sha256(b"").hexdigest()
        return [("artifacts/empty.json.zst", frame(b"")), ("sboms/empty.json.cdx.json", sbom)] + ents
    put("probe-zstd-empty-artifact", consistent(empty_artifact), "accept")

    def big_single_segment(m, ents):
        # An artifact of 9 MiB of zeros in a single-segment frame: the
        # window is the content size, above 8 MiB ([B56] rule 4).
        sbom = stored["sboms/model.gguf.cdx.json"]
        ents = ents[:-1] + [("artifacts/zeros.bin.zst", frame(bytes(9 << 20), fcs_len=4, rle=True)),
                            ("sboms/zeros.bin.cdx.json", sbom)] + ents[-1:]
        m["entries"][-1:-1] = [entry("artifacts/zeros.bin.zst", "artifact", "zstd"),
                               entry("sboms/zeros.bin.cdx.json", "sbom")]
        m["entries"][-3]["size"] = 9 << 20
        m["entries"][-3]["sha256"] = hashlib.sha256(bytes(9 << 20)).hexdigest()
        return ents
    put("probe-zstd-single-segment-9-mib", consistent(big_single_segment), ED)

    def sbom_zstd(m, ents):
        name = "sboms/config.json.cdx.json"
        e = next(e for e in m["entries"] if e["path"] == name)
        e["encoding"] = "zstd"
        return replace(name, zstandard.ZstdCompressor(write_checksum=True).compress(stored[name]))(m, ents)
    put("probe-sbom-stored-zstd", consistent(sbom_zstd), MF)

    # Artifact paths ([B14], [B60]): a zstd entry name is canonical while
    # the artifact path it gives is not (R2).
    def rename_config(new_entry, new_path):
        def edit(m, ents):
            e = next(e for e in m["entries"] if e["path"] == config)
            s = next(e for e in m["entries"] if e["path"] == "sboms/config.json.cdx.json")
            e["path"], s["path"] = new_entry, f"sboms/{new_path}.cdx.json"
            renamed = {config: new_entry, "sboms/config.json.cdx.json": s["path"]}
            return [(renamed.get(n, n), d) for n, d in ents]
        return edit
    put("probe-artifact-path-dot-dot", consistent(rename_config("artifacts/...zst", "..")), MF)
    put("probe-artifact-path-empty", consistent(rename_config("artifacts/.zst", "")), MF)
    put("probe-artifact-path-trailing-slash", consistent(rename_config("artifacts/a/.zst", "a/")), MF)

    long_path = "/".join(["d" * 50, "d" * 49, "d" * 45, "d" * 53])  # 200 bytes

    def raw_long(m, ents):
        # A raw artifact whose `artifacts/P` and `sboms/P.cdx.json` fit a
        # ustar header but whose `artifacts/P.zst` does not (R1).
        ents = [(f"artifacts/{long_path}", plain[config]), (f"sboms/{long_path}.cdx.json", stored["sboms/config.json.cdx.json"])] + ents
        m["entries"][0:0] = [entry(f"artifacts/{long_path}", "artifact"), entry(f"sboms/{long_path}.cdx.json", "sbom")]
        return ents
    put("probe-raw-artifact-zst-name-unrepresentable", consistent(raw_long, how="auto"), MF)

    # Artifact `a` (zstd: artifacts/a.zst) and `a.zst/b` (raw): the entry
    # names collide (one a folder prefix of the other), the artifact paths
    # do not ([B16] on entry names).
    def entry_names_collide(m, ents):
        ents = [("artifacts/a.zst", stored[config]), ("sboms/a.cdx.json", stored["sboms/config.json.cdx.json"]),
                ("artifacts/a.zst/b", plain[config]), ("sboms/a.zst/b.cdx.json", stored["sboms/config.json.cdx.json"]),
                ents[-1]]
        zstd_entry = next(e for e in m["entries"] if e["path"] == config)
        m["entries"] = [dict(zstd_entry, path="artifacts/a.zst"), entry("sboms/a.cdx.json", "sbom"),
                        entry("artifacts/a.zst/b", "artifact"), entry("sboms/a.zst/b.cdx.json", "sbom"),
                        m["entries"][-1]]
        return ents
    put("probe-collision-entry-names-only", consistent(entry_names_collide, how="auto"), "archive.structure exit 3")

    def zero_artifacts(m, ents):
        m["entries"] = m["entries"][-1:]
        return ents[-1:]
    put("probe-zero-artifacts", consistent(zero_artifacts, how="auto"), MF)

    # Manifest fields ([B24], [B51]-[B54]).
    put("probe-manifest-compact", consistent(form=lambda v: jsonform.compact(v) + b"\n"), MF)
    put("probe-manifest-keys-reordered", consistent(
        form=lambda v: jsonform.pretty({k: v[k] for k in ["name", "schema"] + [k for k in v if k not in ("name", "schema")]})
    ), MF)
    put("probe-manifest-duplicate-key", consistent(
        form=lambda v: jsonform.pretty(v).replace(b'  "name"', b'  "name": "shadow",\n  "name"', 1)
    ), MF)

    def tool_name(m, ents):
        m["tool"]["name"] = "another-writer"
    put("probe-manifest-tool-name", consistent(tool_name), "accept")
    put("probe-manifest-sequence-2-63", consistent(set_fields(sequence=2**63)), "accept")
    put("probe-manifest-created-feb-30", consistent(set_fields(created="2026-02-30T00:00:00Z")), MF)
    put("probe-manifest-created-leap-second", consistent(set_fields(created="2016-12-31T23:59:60Z")), MF)
    put("probe-manifest-expires-9998", consistent(set_fields(expires="9998-12-31T23:59:59Z")), "accept")
    put("probe-manifest-expires-9999", consistent(set_fields(expires="9999-01-01T00:00:00Z")), MF)
    put("probe-manifest-previous-uppercase-hex",
        consistent(set_fields(sequence=2, previous={"sequence": 1, "manifest_sha256": "AB" * 32})), MF)

    def schema_v9(m, ents):
        m["schema"] = "urn:lbom:bundle-manifest:v9"
    put("probe-manifest-schema-v9", consistent(schema_v9), MF)

    # The attestation ([B55]): step 2 (form) is exit 3, step 3 (content) 4.
    def att(edit):
        def f(doc):
            edit(doc)
            return jsonform.compact(doc) + b"\n"
        return f

    def params(**values):
        return att(lambda d: d["predicate"]["buildDefinition"]["externalParameters"].update(values))

    put("probe-attestation-pretty", consistent(attest=lambda d: jsonform.pretty(d)), AS3)
    put("probe-attestation-extra-digest", consistent(attest=att(lambda d: d["subject"][0]["digest"].update(sha512="00" * 64))), AS3)
    put("probe-attestation-subjects-reversed", consistent(attest=att(lambda d: d["subject"].reverse())), AS4)
    put("probe-attestation-subject-duplicated",
        consistent(attest=att(lambda d: d["subject"].append(dict(d["subject"][0])))), AS4)
    put("probe-attestation-compress-leading-zero", consistent(attest=params(compress="zstd:03")), AS3)
    put("probe-attestation-compress-bare-zstd", consistent(attest=params(compress="zstd")), AS3)
    put("probe-attestation-compress-auto", consistent(how="auto"), "accept")
    put("probe-attestation-compress-zstd-19", consistent(how="zstd:19"), "accept")
    put("probe-attestation-sequence-negative", consistent(attest=params(sequence=-1)), AS3)
    put("probe-attestation-sequence-2-64", consistent(attest=params(sequence=2**64)), AS3)
    put("probe-attestation-started-on-feb-30",
        consistent(attest=att(lambda d: d["predicate"]["runDetails"]["metadata"].update(startedOn="2026-02-30T00:00:00Z"))), AS3)
    put("probe-attestation-started-on-other-time",
        consistent(attest=att(lambda d: d["predicate"]["runDetails"]["metadata"].update(startedOn="2026-01-01T00:00:01Z"))), AS4)
    put("probe-attestation-previous-uppercase-hex", consistent(
        set_fields(sequence=2, previous={"sequence": 1, "manifest_sha256": "ab" * 32}),
        attest=params(previous={"sequence": 1, "manifest_sha256": "AB" * 32}),
    ), AS3)

    # Links ([B30]-[B38]): form is exit 3, chaining exit 5.
    def hint(value):
        def edit(sigs):
            sigs[0]["keyid"] = value
            return sigs
        return edit

    def with_note(value):
        def edit(p):
            p = dict(p)
            previous = p.pop("previous", None)
            p["note"] = value
            if previous is not None:
                p["previous"] = previous
            return p
        return edit

    def sig_extra_field(sigs):
        sigs[0]["cert"] = "x"
        return sigs
    put("probe-link-signature-extra-field", consistent(last_link={"signatures_edit": sig_extra_field}), CL3)
    put("probe-link-role-not-label",
        consistent(last_link={"predicate_edit": lambda p: dict(p, role="transfer desk")}), CL3)

    def two_subjects(s):
        s["subject"].append(dict(s["subject"][0]))
        return s
    put("probe-link-two-subjects", consistent(last_link={"statement_edit": two_subjects}), CL3)

    def previous_path(p):
        return dict(p, previous=dict(p["previous"], path="chain/0002.dsse.json"))
    put("probe-link2-previous-other-path", consistent(last_link={"predicate_edit": previous_path}), CL5)

    # A third link by a key the policy does not list, with a signature that
    # does not verify: with unknown_signers = "refuse" it fails chain.signers
    # ([P38]), not chain.signatures (no trusted key names it).
    stranger = Signer.__new__(Signer)
    stranger.key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    stranger.keyid = hashlib.sha256(
        stranger.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).hexdigest()
    stranger.role = "transfer"

    def flip_sig(sigs):
        raw = bytearray(base64.b64decode(sigs[0]["sig"]))
        raw[40] ^= 1
        sigs[0]["sig"] = base64.b64encode(bytes(raw)).decode()
        return sigs
    m, ents = fresh()
    m, ents = finish(m, ents, compress)
    put("probe-link3-unknown-signer-bad-signature",
        build(ents, m, signers + [stranger], last_link={"signatures_edit": flip_sig}), "chain.signers exit 5")

    put("probe-link-hint-changed", consistent(last_link={"signatures_edit": hint("0" * 64)}), CL3)
    put("probe-link-hint-empty", consistent(last_link={"signatures_edit": hint("")}), CL3)
    put("probe-link-hint-omitted", consistent(last_link={"signatures_edit": lambda s: [{"sig": s[0]["sig"]}]}), CL3)
    put("probe-link-two-signatures", consistent(last_link={"signatures_edit": lambda s: s + s}), CL3)

    def sig_bytes(extra):
        def edit(sigs):
            raw = base64.b64decode(sigs[0]["sig"])
            sigs[0]["sig"] = base64.b64encode(raw + extra if extra else raw[:-1]).decode()
            return sigs
        return edit
    put("probe-link-signature-65-bytes", consistent(last_link={"signatures_edit": sig_bytes(b"\0")}), CL3)
    put("probe-link-signature-63-bytes", consistent(last_link={"signatures_edit": sig_bytes(b"")}), CL3)

    def sig_unused_bits(sigs):
        # 64 bytes: the last base64 digit before "==" carries 4 unused bits.
        text = sigs[0]["sig"]
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        i = alphabet.index(text[-3])
        sigs[0]["sig"] = text[:-3] + alphabet[i | 1] + "=="
        return sigs
    put("probe-link-signature-base64-unused-bits", consistent(last_link={"signatures_edit": sig_unused_bits}), CL3)

    put("probe-link-note-empty", consistent(last_link={"predicate_edit": with_note("")}), CL3)
    put("probe-link-note-null", consistent(last_link={"predicate_edit": with_note(None)}), CL3)
    put("probe-link-note-c1-control", consistent(last_link={"predicate_edit": with_note("a\u0085b")}), CL3)
    put("probe-link-note-c1-last", consistent(last_link={"predicate_edit": with_note("a\u009fb")}), CL3)
    put("probe-link-note-allowed-format-characters",
        consistent(last_link={"predicate_edit": with_note("a\u00a0b\ufeffc\u200cd\u00ade")}), "accept")
    put("probe-link-payload-pretty", consistent(
        last_link={"payload_form": lambda v: json.dumps(v, indent=1).encode()}), CL3)
    put("probe-link-time-year-9999",
        consistent(last_link={"predicate_edit": lambda p: dict(p, time="9999-01-01T00:00:00Z")}), CL3)

    def previous_upper(p):
        p = dict(p)
        p["previous"] = dict(p["previous"], sha256=p["previous"]["sha256"].upper())
        return p
    put("probe-link-previous-sha256-upper-case", consistent(last_link={"predicate_edit": previous_upper}), CL3)

    def subject_upper(s):
        s["subject"][0]["digest"]["sha256"] = s["subject"][0]["digest"]["sha256"].upper()
        return s
    put("probe-link-subject-digest-upper-case", consistent(last_link={"statement_edit": subject_upper}), CL3)
    put("probe-link1-previous-null",
        consistent(link_edits={1: {"predicate_edit": lambda p: dict(p, previous=None)}}), CL3)
    put("probe-link1-with-previous", consistent(link_edits={1: {"predicate_edit": lambda p: dict(
        p, previous={"path": "chain/0000.dsse.json", "sha256": "00" * 32})}}), CL3)
    put("probe-link2-without-previous",
        consistent(last_link={"predicate_edit": lambda p: {k: v for k, v in p.items() if k != "previous"}}), CL3)

    def other_manifest(s):
        s["subject"][0]["digest"]["sha256"] = "00" * 32
        return s
    put("probe-link1-other-manifest", consistent(link_edits={1: {"statement_edit": other_manifest}}), CL5)
    # A chaining error in link 1 and a malformed link 2: every link's form
    # is judged before any chaining (docs/policy.md [P39]).
    put("probe-chain-form-before-chaining", consistent(link_edits={
        1: {"statement_edit": other_manifest},
        2: {"payload_form": lambda v: json.dumps(v, indent=1).encode()},
    }), CL3)

    # Reader limits (§12, [B61], [B62]): each decides which check refuses
    # the bundle (or that it is refused at all).
    sbom_name = "sboms/config.json.cdx.json"

    def big_sbom(size):
        # The base's SBOM, still JSON, padded with white space to `size`.
        body = stored[sbom_name].rstrip(b"\n")
        return replace(sbom_name, body + b" " * (size - len(body) - 1) + b"\n")
    put("probe-limit-sbom-over", consistent(big_sbom((4 << 20) + 1)), MF)
    put("probe-limit-attestation-over", consistent(
        attest=lambda d: jsonform.compact(d) + b" " * (8 << 20) + b"\n"), MF)
    roles = signers * 129  # maintainer, transfer, ...: 258 links
    m, ents = fresh()
    m, ents = finish(m, ents, compress)
    put("probe-limit-links-256", build(ents, m, roles[:256]), "accept")
    put("probe-limit-links-257", build(ents, m, roles[:257]), CL3)

    def many_artifacts(count):
        # `count` empty raw artifacts besides the base's, so the manifest
        # lists more than the artifact limit (or the archive holds more
        # entries than the entry limit).
        def edit(m, ents):
            extra = [f"x/{i:05d}" for i in range(count)]
            for p in extra:
                m["entries"][0:0] = [entry(f"artifacts/{p}", "artifact"), entry(f"sboms/{p}.cdx.json", "sbom")]
            return [(f"artifacts/{p}", b"") for p in extra] + [
                (f"sboms/{p}.cdx.json", stored[sbom_name]) for p in extra
            ] + ents
        return edit
    put("probe-limit-artifacts-over", consistent(many_artifacts(10_001 - 3), how="auto"), MF)
    put("probe-limit-entries-over", consistent(many_artifacts(10_127), how="auto"), "archive.structure exit 3")

    os.makedirs(outdir, exist_ok=True)
    for name, data in probes.items():
        with open(os.path.join(outdir, name + ".lbom"), "wb") as f:
            f.write(data)
        print(name + ".lbom")
    with open(os.path.join(outdir, "expect.json"), "w", encoding="utf-8") as f:
        json.dump({k + ".lbom": v for k, v in EXPECT.items()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
