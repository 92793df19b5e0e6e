#!/usr/bin/env python3
"""Format decision vectors for lbom bundles (docs/bundle-format.md version 2,
docs/policy.md section 9), written WITHOUT lbom's code: Python's `json` for
every document, a ustar header writer that follows the spec's split rule,
raw-block zstd frames built from RFC 8878, and `cryptography` for Ed25519.

Usage: format_vectors.py BASE.lbom KEYS_DIR CONTENT OUTDIR

BASE.lbom is a small signed bundle packed by lbom (two artifacts:
`config.json` stored zstd and `generation_config.json` stored raw); CONTENT
is the zstd artifact's decoded bytes (the fixture it was packed from),
which the zstd cases re-encode as raw blocks. Only its
artifact bytes, SBOMs and manifest values are taken from it; every case
below rebuilds the manifest, the attestation and the chain from the spec
and re-signs with the demo keys in KEYS_DIR (keys/demo-*.key), so each case
differs from a valid bundle by exactly the decision it tests. OUTDIR gets
NAME.lbom per case and index.json: name, expected exit code, the one check
that must fail first (docs/policy.md section 9), what it tests, and the
decision (issue 13 item 2 a-g, issue 12 item 7 "strict", issue 13 item 1
"stored") it belongs to.
"""
import base64
import copy
import hashlib
import json
import os
import struct
import sys
import tarfile

from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

BLOCK = 512
LINK_TIME = "2026-01-01T00:01:00Z"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


# --- tar --------------------------------------------------------------------

def read_members(raw):
    """[(name, data)] of a ustar archive (prefix joined), up to the end marker."""
    out, off = [], 0
    while True:
        h = raw[off:off + BLOCK]
        if h == b"\0" * BLOCK:
            return out
        name = h[0:100].rstrip(b"\0").decode()
        prefix = h[345:500].rstrip(b"\0").decode()
        if prefix:
            name = prefix + "/" + name
        size = int(h[124:135].decode(), 8)
        out.append((name, raw[off + BLOCK:off + BLOCK + size]))
        off += BLOCK + (size + BLOCK - 1) // BLOCK * BLOCK


def split_longest(name):
    """docs/bundle-format.md [B6]: the last '/' among the first 156 bytes."""
    b = name.encode()
    if len(b) <= 100:
        return b"", b
    cut = b[:156].rindex(b"/")
    prefix, rest = b[:cut], b[cut + 1:]
    assert prefix and 0 < len(rest) <= 100, name
    return prefix, rest


def header(name, size, split=split_longest):
    """A profile header (docs/bundle-format.md section 2) written field by field."""
    prefix, short = split(name)
    h = bytearray(BLOCK)
    h[0:len(short)] = short
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[345:345 + len(prefix)] = prefix
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def split_tarfile(name):
    """What Python's tarfile writes by itself (the shortest prefix)."""
    t = tarfile.TarInfo(name)
    t.size, t.mode, t.mtime, t.uid, t.gid, t.uname, t.gname = 0, 0o644, 0, 0, 0, "", ""
    h = t.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")
    return h[345:500].rstrip(b"\0"), h[0:100].rstrip(b"\0")


def archive(entries, split_for=None):
    out = bytearray()
    for name, data in entries:
        split = split_tarfile if split_for and name in split_for else split_longest
        out += header(name, len(data), split) + data + b"\0" * (-len(data) % BLOCK)
    return bytes(out + b"\0" * 1024)


# --- JSON forms (docs/bundle-format.md section 5, "JSON forms") -----------

def pretty(value, **kw):
    return json.dumps(value, indent=2, ensure_ascii=False, **kw).encode() + b"\n"


def compact(value, **kw):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, **kw).encode()


def sha(b):
    return hashlib.sha256(b).hexdigest()


# --- keys and links ---------------------------------------------------------

class Key:
    def __init__(self, path):
        # keys/demo-*.key are PKCS#8 v2 (OneAsymmetricKey, RFC 5958, with the
        # public key), which this `cryptography` refuses as "extra data":
        # the 32-byte seed is taken from its CurvePrivateKey (RFC 8410
        # section 7: OCTET STRING in OCTET STRING) instead.
        with open(path) as f:
            body = "".join(l for l in f.read().splitlines() if not l.startswith("-----"))
        der = base64.b64decode(body)
        at = der.index(bytes.fromhex("04220420")) + 4
        self.private = Ed25519PrivateKey.from_private_bytes(der[at:at + 32])
        spki = self.private.public_key().public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
        self.keyid = sha(spki)

    def sign(self, payload):
        pae = b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)
        return self.private.sign(pae)


def statement(manifest_digest, index, role, key, previous=None, note=None, time=LINK_TIME):
    predicate = {"index": index, "role": role, "keyid": key.keyid, "time": time}
    if note is not None:
        predicate["note"] = note
    if previous is not None:
        predicate["previous"] = previous
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "manifest.json", "digest": {"sha256": manifest_digest}}],
        "predicateType": "urn:lbom:predicate:chain-link:v1",
        "predicate": predicate,
    }


def envelope(payload, signatures):
    return compact({
        "payload": base64.b64encode(payload).decode(),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [{"keyid": k, "sig": base64.b64encode(s).decode()} for k, s in signatures],
    }) + b"\n"


# --- the base, taken apart --------------------------------------------------

class Base:
    def __init__(self, raw, keys_dir):
        members = read_members(raw)
        self.data = dict(members)
        self.manifest = json.loads(self.data["manifest.json"])
        self.attestation = json.loads(self.data["attestation.intoto.json"])
        self.maintainer = Key(os.path.join(keys_dir, "demo-maintainer.key"))
        self.transfer = Key(os.path.join(keys_dir, "demo-transfer.key"))
        assert self.manifest["schema"] == "urn:lbom:bundle-manifest:v2", self.manifest["schema"]

    def parts(self):
        """Deep copies: (manifest, attestation, {entry name: bytes})."""
        return copy.deepcopy(self.manifest), copy.deepcopy(self.attestation), dict(self.data)


def restamp(manifest, data, keep_stored=()):
    """Sizes and digests of raw entries (and stored ones of zstd entries)
    recomputed from the bytes; zstd decoded values are kept."""
    for e in manifest["entries"]:
        if e["path"] not in data:
            continue
        b = data[e["path"]]
        if e["path"] in keep_stored:
            continue
        e["stored_size"] = len(b)
        if "stored_sha256" in e:
            e["stored_sha256"] = sha(b)
        if e["encoding"] == "raw":
            e["size"], e["sha256"] = len(b), sha(b)


def derived_attestation(manifest, compress):
    """The attestation docs/bundle-format.md section 6 derives from a manifest."""
    subjects = []
    for e in manifest["entries"]:
        if e["role"] == "artifact":
            p = e["path"][len("artifacts/"):]
            if e["encoding"] == "zstd":
                p = p[:-len(".zst")]
            subjects.append({"name": p, "digest": {"sha256": e["sha256"]}})
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "urn:lbom:build-type:pack:v1",
                "externalParameters": {
                    "name": manifest["name"], "channel": manifest["channel"],
                    "sequence": manifest["sequence"], "previous": manifest.get("previous"),
                    "expires": manifest.get("expires"), "compress": compress,
                },
                "resolvedDependencies": copy.deepcopy(subjects),
            },
            "runDetails": {
                "builder": {"id": "urn:lbom:builder:%s@%s" % (manifest["tool"]["name"], manifest["tool"]["version"])},
                "metadata": {"startedOn": manifest["created"], "finishedOn": manifest["created"]},
            },
        },
    }


class Bundle:
    """A bundle being built: entries in order, then a manifest and a chain."""

    def __init__(self, base):
        self.base = base
        self.manifest, self.attestation, self.data = base.parts()
        self.attestation_bytes = None   # None: compact(attestation) + LF
        self.manifest_bytes = None      # None: pretty(manifest)
        self.statement_edit = {}        # link index -> f(statement dict) -> payload bytes
        self.envelope_edit = {}         # link index -> f(envelope dict, payload) -> entry bytes
        self.notes = {}                 # link index -> note
        self.split_for = None           # entry names written with tarfile's split
        self.chain_names = None         # names of the link entries (default chain/0001, ...)
        self.restamp = True

    def order(self):
        return [e["path"] for e in self.manifest["entries"]]

    def build(self):
        data = dict(self.data)
        att = self.attestation_bytes
        if att is None:
            att = compact(self.attestation) + b"\n"
        data["attestation.intoto.json"] = att
        if self.restamp:
            restamp(self.manifest, data)
        man = self.manifest_bytes if self.manifest_bytes is not None else pretty(self.manifest)
        entries = [(n, data[n]) for n in self.order()] + [("manifest.json", man)]
        digest = sha(man)
        links, previous = [], None
        signers = [(self.base.maintainer, "maintainer"), (self.base.transfer, "transfer")]
        for index, (key, role) in enumerate(signers, 1):
            st = statement(digest, index, role, key, previous, self.notes.get(index))
            payload = self.statement_edit.get(index, compact)(st)
            env = {
                "payload": base64.b64encode(payload).decode(),
                "payloadType": PAYLOAD_TYPE,
                "signatures": [{"keyid": key.keyid, "sig": base64.b64encode(key.sign(payload)).decode()}],
            }
            edit = self.envelope_edit.get(index)
            entry = edit(env, payload) if edit else compact(env) + b"\n"
            links.append(entry)
            previous = {"path": "chain/%04d.dsse.json" % index, "sha256": sha(entry)}
        names = self.chain_names or ["chain/%04d.dsse.json" % (i + 1) for i in range(len(links))]
        entries += list(zip(names, links))
        return archive(entries, self.split_for)


# --- zstd frames by hand (RFC 8878) ----------------------------------------

M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    return (_rotl((acc + lane * P2) & M64, 31) * P1) & M64


def _merge(acc, val):
    return ((acc ^ _round(0, val)) * P1 + P4) & M64


def xxh64(data, seed=0):
    """XXH64 (the Content_Checksum of RFC 8878 section 3.1.1 is its low 32 bits)."""
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while i + 32 <= n:
            for j in range(4):
                v[j] = _round(v[j], int.from_bytes(data[i + 8 * j:i + 8 * j + 8], "little"))
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for x in v:
            h = _merge(h, x)
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round(0, int.from_bytes(data[i:i + 8], "little"))
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i:i + 4], "little") * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


def checksum(content):
    return struct.pack("<I", xxh64(content) & 0xFFFFFFFF)


def raw_frame(content, single=True, fcs_flag=3, window=None, blocks=1, dict_id=None,
              with_checksum=True, reserved=False):
    """One zstd frame of Raw_Blocks (RFC 8878 section 3.1.1.2.2): valid for
    any content, and a re-encoding of whatever frame lbom wrote for it."""
    d = (fcs_flag << 6) | (0x20 if single else 0) | (0x04 if with_checksum else 0) | (0x08 if reserved else 0)
    if dict_id is not None:
        d |= 0x01
    out = bytearray(struct.pack("<I", 0xFD2FB528)) + bytes([d])
    if not single:
        out.append(window)
    if dict_id is not None:
        out.append(dict_id)
    n = len(content)
    if fcs_flag == 0:
        out += bytes([n]) if single else b""
    elif fcs_flag == 1:
        out += struct.pack("<H", n - 256)
    else:
        out += struct.pack("<I" if fcs_flag == 2 else "<Q", n)
    cuts = [n * i // blocks for i in range(blocks + 1)]
    for i in range(blocks):
        part = content[cuts[i]:cuts[i + 1]]
        last = 1 if i == blocks - 1 else 0
        out += (last | (len(part) << 3)).to_bytes(3, "little") + part
    if with_checksum:
        out += checksum(content)
    return bytes(out)


def skippable(n):
    """A skippable frame (RFC 8878 section 3.1.2) of n zero bytes."""
    return struct.pack("<II", 0x184D2A50, n) + b"\0" * n


# --- the cases --------------------------------------------------------------

def main():
    base_path, keys_dir, content_path, out = sys.argv[1:5]
    os.makedirs(out, exist_ok=True)
    base = Base(open(base_path, "rb").read(), keys_dir)
    index = []

    def case(name, b, code, check, what, decision):
        data = b.build() if isinstance(b, Bundle) else b
        with open(os.path.join(out, name + ".lbom"), "wb") as f:
            f.write(data)
        index.append({"name": name, "code": code, "checks": [check] if check else [],
                      "what": what, "decision": decision})

    def bundle(edit=None):
        b = Bundle(base)
        if edit:
            edit(b)
        return b

    compress = base.attestation["predicate"]["buildDefinition"]["externalParameters"]["compress"]
    zst = [e for e in base.manifest["entries"] if e["encoding"] == "zstd"][0]
    raw_artifact = [e["path"] for e in base.manifest["entries"]
                    if e["role"] == "artifact" and e["encoding"] == "raw"][0]
    content = open(content_path, "rb").read()
    assert sha(content) == zst["sha256"], "the content file is not the zstd entry's content"
    assert checksum(content) == base.data[zst["path"]][-4:], "xxh64 disagrees with the zstd library"

    # The control: the base rebuilt by this writer verifies, so every
    # refusal below is the edit's, and lbom accepts what Python's json and
    # this header writer produce.
    case("control", bundle(), 0, None, "the base rebuilt by an independent writer", "control")

    # (a) one signature per link; the keyid hint is the signed key id.
    def envelope_edit(f):
        def edit(b):
            def apply(env, payload):
                f(env, payload)
                return compact(env) + b"\n"
            b.envelope_edit[2] = apply
        return bundle(edit)

    def second_signature(env, payload):
        env["signatures"].append({"keyid": base.maintainer.keyid,
                                  "sig": base64.b64encode(base.maintainer.sign(payload)).decode()})
    case("a-link-two-signatures", envelope_edit(second_signature), 3, "chain.links",
         "link 2 carries a second valid signature (by another trusted key)", "a")
    case("a-keyid-hint-of-another-key", envelope_edit(lambda e, p: e["signatures"][0].update(keyid=base.maintainer.keyid)),
         3, "chain.links", "the keyid hint names another trusted key", "a")
    case("a-keyid-hint-upper-case", envelope_edit(lambda e, p: e["signatures"][0].update(keyid=base.transfer.keyid.upper())),
         3, "chain.links", "the keyid hint is the signed key id in upper case", "a")
    case("a-keyid-hint-missing", envelope_edit(lambda e, p: e["signatures"][0].pop("keyid")),
         3, "chain.links", "the signature has no keyid field (optional in DSSE)", "a")
    case("a-link-no-signature", envelope_edit(lambda e, p: e["signatures"].clear()),
         3, "chain.links", "link 2 carries no signature", "a")

    # (b) the ustar split of a name with two possible splits.
    long_dir = "d" * 60 + "/" + "e" * 60 + "/"

    def renamed(b, old, new):
        """Artifact path `old` becomes `new` everywhere (entries, SBOM, manifest, attestation)."""
        for e in b.manifest["entries"]:
            for suffix in ("", ".zst"):
                if e["path"] == "artifacts/" + old + suffix:
                    b.data["artifacts/" + new + suffix] = b.data.pop(e["path"])
                    e["path"] = "artifacts/" + new + suffix
            if e["path"] == "sboms/" + old + ".cdx.json":
                sbom = json.loads(b.data.pop(e["path"]))
                # CycloneDX 1.6 (lbom's default): the artifact is the
                # document's subject; 1.5: the one component.
                if sbom.get("specVersion") == "1.6":
                    c = sbom["metadata"]["component"]
                else:
                    c = sbom["components"][0]
                old_ref = c.get("bom-ref")
                c["name"] = new.rsplit("/", 1)[-1]
                # CycloneDX bom-ref as lbom's SBOMs write it: the name's
                # characters of [A-Za-z0-9._-], at most 48.
                safe = "".join(ch for ch in c["name"] if ch.isascii() and (ch.isalnum() or ch in "._-"))
                c["bom-ref"] = "model-1-" + safe[:48]
                # 1.6 dependencies name the subject by its bom-ref.
                for d in sbom.get("dependencies", []):
                    if d.get("ref") == old_ref:
                        d["ref"] = c["bom-ref"]
                e["path"] = "sboms/" + new + ".cdx.json"
                b.data[e["path"]] = pretty(sbom)[:-1]
        b.attestation = derived_attestation(b.manifest, compress)

    zst_path = zst["path"][len("artifacts/"):-len(".zst")]

    def long_path(b):
        renamed(b, zst_path, long_dir + zst_path)
    case("b-ustar-split-longest-prefix", bundle(long_path), 0, None,
         "entry names with two possible ustar splits, split at the longest prefix", "b")
    b = bundle(long_path)
    b.split_for = {"artifacts/" + long_dir + zst_path + ".zst"}
    case("b-ustar-split-shortest-prefix", b, 3, "archive.structure",
         "the same artifact entry split as Python's tarfile splits it (shortest prefix)", "b")

    # (c) JSON byte forms, one document at a time.
    def manifest_bytes(f):
        def edit(b):
            b.manifest_bytes = f(b.manifest)
        return bundle(edit)
    case("c-manifest-compact", manifest_bytes(lambda m: compact(m) + b"\n"), 3, "manifest.form",
         "the manifest as compact JSON", "c")
    case("c-manifest-four-space-indent", manifest_bytes(lambda m: json.dumps(m, indent=4, ensure_ascii=False).encode() + b"\n"),
         3, "manifest.form", "the manifest indented by four spaces", "c")
    case("c-manifest-keys-reordered",
         manifest_bytes(lambda m: pretty(dict([("name", m["name"])] + [(k, v) for k, v in m.items() if k != "name"]))),
         3, "manifest.form", "the manifest's name before its schema", "c")
    case("c-manifest-no-final-newline", manifest_bytes(lambda m: pretty(m)[:-1]), 3, "manifest.form",
         "the manifest without its final LF", "c")
    case("c-manifest-number-with-exponent", manifest_bytes(lambda m: pretty(m).replace(b'"sequence": 1,', b'"sequence": 1e0,')),
         3, "manifest.form", "sequence written 1e0", "c")
    case("c-manifest-duplicate-key", manifest_bytes(lambda m: pretty(m).replace(b'  "name":', b'  "name": "x",\n  "name":', 1)),
         3, "manifest.form", "the name field twice", "c")

    def non_ascii(b):
        renamed(b, raw_artifact[len("artifacts/"):], "génération.json")
    case("c-non-ascii-path", bundle(non_ascii), 0, None, "a non-ASCII artifact path written as UTF-8", "c")
    b = bundle(non_ascii)
    b.manifest_bytes = None
    b.build()  # restamps the manifest
    b.manifest_bytes = json.dumps(b.manifest, indent=2, ensure_ascii=True).encode() + b"\n"
    case("c-manifest-non-ascii-escaped", b, 3, "manifest.form", "the same path escaped as \\u00e9", "c")

    def attestation_bytes(f):
        def edit(b):
            b.attestation_bytes = f(b.attestation)
        return bundle(edit)
    case("c-attestation-pretty", attestation_bytes(pretty), 3, "attestation.subjects", "the attestation pretty-printed", "c")
    case("c-attestation-no-final-newline", attestation_bytes(compact), 3, "attestation.subjects",
         "the attestation without its final LF", "c")

    def link2(f, note=None):
        def edit(b):
            b.notes[2] = note
            b.statement_edit[2] = f
        return bundle(edit)
    case("c-link-note-non-ascii", link2(compact, "désk 7"), 0, None, "a link note with a non-ASCII character", "c")
    case("c-link-payload-pretty", link2(lambda s: json.dumps(s, indent=2, ensure_ascii=False).encode()),
         3, "chain.links", "link 2's statement pretty-printed (and signed)", "c")
    case("c-link-payload-non-ascii-escaped", link2(lambda s: json.dumps(s, separators=(",", ":")).encode(), "désk 7"),
         3, "chain.links", "link 2's note escaped as \\u00e9 (and signed)", "c")
    case("c-link-payload-final-newline", link2(lambda s: compact(s) + b"\n"),
         3, "chain.links", "link 2's statement with a final LF (and signed)", "c")
    case("c-link-payload-keys-reordered",
         link2(lambda s: compact(dict([("predicateType", s["predicateType"])] + [(k, v) for k, v in s.items() if k != "predicateType"]))),
         3, "chain.links", "link 2's statement with predicateType first (and signed)", "c")
    case("c-link-envelope-pretty", envelope_edit_bytes(bundle, lambda env: json.dumps(env, indent=2).encode() + b"\n"),
         3, "chain.links", "link 2's envelope pretty-printed", "c")

    # (d) the attestation against the manifest.
    def attestation_edit(f):
        def edit(b):
            f(b.attestation)
        return bundle(edit)
    case("d-subjects-reordered", attestation_edit(lambda a: a["subject"].reverse()), 4, "attestation.subjects",
         "the subjects in reverse bundle order", "d")
    case("d-subject-twice", attestation_edit(lambda a: a["subject"].append(copy.deepcopy(a["subject"][0]))), 4,
         "attestation.subjects", "the first subject named twice", "d")
    case("d-subject-missing", attestation_edit(lambda a: a["subject"].pop()), 4, "attestation.subjects",
         "the last artifact not named", "d")
    case("d-subject-stored-digest", attestation_edit(lambda a: a["subject"][0]["digest"].update(sha256=zst["stored_sha256"])),
         4, "attestation.subjects", "a zstd artifact's subject giving the stored digest, not the decoded one", "d")
    case("d-dependencies-differ", attestation_edit(lambda a: a["predicate"]["buildDefinition"]["resolvedDependencies"].reverse()),
         4, "attestation.subjects", "resolvedDependencies in another order than subject", "d")
    case("d-second-digest-algorithm", attestation_edit(lambda a: a["subject"][0]["digest"].update(sha512="00" * 64)), 3,
         "attestation.subjects", "a subject with a sha512 digest next to sha256", "d")
    case("d-predicate-type", attestation_edit(lambda a: a.update(predicateType="https://slsa.dev/provenance/v0.2")), 3,
         "attestation.subjects", "another predicate type", "d")
    case("d-compress-none-but-zstd", attestation_edit(lambda a: a["predicate"]["buildDefinition"]["externalParameters"].update(compress="none")),
         4, "attestation.subjects", "compress none while an artifact is stored zstd", "d")
    case("d-compress-unknown", attestation_edit(lambda a: a["predicate"]["buildDefinition"]["externalParameters"].update(compress="zstd:22")),
         3, "attestation.subjects", "compress zstd:22, not a value pack writes", "d")
    case("d-builder-other-tool", attestation_edit(lambda a: a["predicate"]["runDetails"]["builder"].update(id="urn:lbom:builder:other@1")),
         4, "attestation.subjects", "a builder id that is not the manifest's tool", "d")

    # (e) the link note.
    def note(value):
        def edit(b):
            b.notes[2] = value
        return bundle(edit)
    case("e-note-omitted", note(None), 0, None, "no note: the field is left out", "e")
    case("e-note-null", link2(lambda s: compact(dict(s, predicate=dict(s["predicate"], note=None)))), 3, "chain.links",
         "note: null", "e")
    case("e-note-empty", note(""), 3, "chain.links", "note: empty string", "e")
    case("e-note-1024-bytes", note("é" * 512), 0, None, "a note of exactly 1024 UTF-8 bytes", "e")
    case("e-note-1025-bytes", note("é" * 512 + "x"), 3, "chain.links", "a note of 1025 bytes", "e")
    for label, cp in (("nul", 0x00), ("tab", 0x09), ("escape", 0x1b), ("del", 0x7f), ("c1-nel", 0x85),
                      ("line-separator", 0x2028), ("paragraph-separator", 0x2029), ("arabic-letter-mark", 0x061c),
                      ("left-to-right-mark", 0x200e), ("right-to-left-override", 0x202e), ("first-strong-isolate", 0x2068)):
        case("e-note-" + label, note("ok" + chr(cp) + "ok"), 3, "chain.links", "a note holding U+%04X" % cp, "e")
    case("e-note-zero-width-joiner", note("ok\u200dok"), 0, None, "U+200D is not on the refused list", "e")

    # (f) ranges and forms of manifest fields.
    def field(f):
        def edit(b):
            f(b.manifest)
            b.attestation = derived_attestation(b.manifest, compress)
        return bundle(edit)
    case("f-sequence-zero", field(lambda m: m.update(sequence=0)), 3, "manifest.form", "sequence 0", "f")
    case("f-sequence-above-u64", field(lambda m: m.update(sequence=2 ** 64)), 3, "manifest.form", "sequence 2^64", "f")
    case("f-sequence-max", field(lambda m: m.update(sequence=2 ** 64 - 1)), 0, None, "sequence 2^64 - 1", "f")
    case("f-sequence-negative", field(lambda m: m.update(sequence=-1)), 3, "manifest.form", "sequence -1", "f")
    case("f-previous-sequence-zero", field(lambda m: m.update(sequence=2, previous={"sequence": 0, "manifest_sha256": "ab" * 32})),
         3, "manifest.form", "previous.sequence 0", "f")
    case("f-previous-sequence-equal", field(lambda m: m.update(sequence=2, previous={"sequence": 2, "manifest_sha256": "ab" * 32})),
         3, "manifest.form", "previous.sequence equal to sequence", "f")
    case("f-previous", field(lambda m: m.update(sequence=2, previous={"sequence": 1, "manifest_sha256": "ab" * 32})),
         0, None, "a previous bundle named", "f")
    case("f-created-february-30", field(lambda m: m.update(created="2026-02-30T00:00:00Z")), 3, "manifest.form",
         "created 2026-02-30", "f")
    case("f-created-leap-second", field(lambda m: m.update(created="2016-12-31T23:59:60Z")), 3, "manifest.form",
         "created at a leap second", "f")
    case("f-created-1969", field(lambda m: m.update(created="1969-12-31T23:59:59Z")), 3, "manifest.form",
         "created before 1970", "f")
    case("f-created-leap-day", field(lambda m: m.update(created="2024-02-29T12:00:00Z")), 0, None,
         "created on 2024-02-29", "f")
    case("f-created-lower-case", field(lambda m: m.update(created="2026-01-01t00:00:00z")), 3, "manifest.form",
         "created with lower-case t and z", "f")
    case("f-created-fraction", field(lambda m: m.update(created="2026-01-01T00:00:00.0Z")), 3, "manifest.form",
         "created with a fraction of a second", "f")
    case("f-expires-before-created", field(lambda m: m.update(expires="2025-12-31T23:59:59Z")), 3, "manifest.form",
         "expires before created", "f")
    case("f-sha256-upper-case", field(lambda m: m["entries"][0].update(sha256=m["entries"][0]["sha256"].upper())), 3,
         "manifest.form", "an entry's sha256 in upper case", "f")
    case("f-tool-name-with-space", field(lambda m: m["tool"].update(name="lb om")), 3, "manifest.form",
         "tool.name outside the label syntax", "f")
    case("f-tool-version-line-separator", field(lambda m: m["tool"].update(version="0.1.0\u2028ok")), 3,
         "manifest.form", "tool.version holding U+2028", "f")
    case("f-tool-version-semver", field(lambda m: m["tool"].update(version="1.2.3-rc.1+b5")), 0, None,
         "tool.version with pre-release and build parts", "f")
    case("f-link-time-february-30", link2(lambda s: compact(dict(s, predicate=dict(s["predicate"], time="2026-02-30T00:00:00Z")))),
         3, "chain.links", "link 2 signed on 2026-02-30", "f")

    def no_artifacts(b):
        b.manifest["entries"] = [e for e in b.manifest["entries"] if e["role"] == "attestation"]
        b.attestation = derived_attestation(b.manifest, compress)
    case("f-zero-artifacts", bundle(no_artifacts), 3, "manifest.form", "a bundle of no artifact", "f")

    def colliding(b):
        # `config.json` stored zstd is artifacts/config.json.zst; an artifact
        # `config.json/x.json` stored raw is artifacts/config.json/x.json:
        # no entry names collide (nor do their SBOMs'), but `import` would
        # need config.json as a file and as a folder.
        renamed(b, raw_artifact[len("artifacts/"):], zst_path + "/x.json")
    case("f-artifact-paths-collide", bundle(colliding), 3, "manifest.form",
         "artifact paths %s (zstd) and %s/x.json (raw): a file and a folder of one name" % (zst_path, zst_path), "f")

    # (g) where malformed links, gaps and order are reported.
    def gap(b):
        b.chain_names = ["chain/0001.dsse.json", "chain/0003.dsse.json"]
    case("g-link-gap", bundle(gap), 3, "chain.links", "links numbered 1 and 3", "g")
    case("g-link-not-json", envelope_edit_bytes(bundle, lambda env: b"not json\n"), 3, "chain.links",
         "link 2 is not JSON", "g")
    case("g-link-index-differs", link2(lambda s: compact(dict(s, predicate=dict(s["predicate"], index=3)))),
         3, "chain.links", "link 2 claims index 3", "g")

    def swapped(b):
        es = b.manifest["entries"]
        b.manifest["entries"] = es[2:4] + es[0:2] + es[4:]
        b.attestation = derived_attestation(b.manifest, compress)
    case("g-artifacts-out-of-order", bundle(swapped), 3, "manifest.form", "artifacts in descending path order", "g")

    # Issue 12 item 7: the fields a lenient parser fills in.
    case("strict-manifest-without-previous", field(lambda m: m.pop("previous")), 3, "manifest.form",
         "the manifest has no previous field", "strict")
    case("strict-manifest-without-expires", field(lambda m: m.pop("expires")), 3, "manifest.form",
         "the manifest has no expires field", "strict")
    case("strict-entry-unknown-field", field(lambda m: m["entries"][0].update(mode="0644")), 3, "manifest.form",
         "an entry with an unknown field", "strict")
    case("strict-tool-unknown-field", field(lambda m: m["tool"].update(url="https://example.com")), 3, "manifest.form",
         "tool with an unknown field", "strict")
    case("strict-stored-sha256-missing", field(lambda m: m["entries"][0].pop("stored_sha256")), 3, "manifest.form",
         "a version 2 entry without stored_sha256", "strict")
    case("strict-predicate-unknown-field", link2(lambda s: compact(dict(s, predicate=dict(s["predicate"], trusted=True)))),
         3, "chain.links", "link 2's predicate with an unknown field", "strict")
    case("strict-attestation-without-builder", attestation_edit(lambda a: a["predicate"]["runDetails"].pop("builder")), 3,
         "attestation.subjects", "the attestation without runDetails.builder", "strict")

    # Issue 13 item 1: the bytes as stored, and the zstd frame rules.
    def stored(frame):
        def edit(b):
            b.data[zst["path"]] = frame
        return bundle(edit)
    r1 = raw_frame(content, single=True, fcs_flag=3)
    case("stored-zstd-raw-blocks", stored(r1), 0, None,
         "the zstd entry re-encoded as one frame of raw blocks, manifest and chain made to match", "stored")
    signed_r1 = stored(r1).build()
    r2 = raw_frame(content, single=False, window=0, fcs_flag=2, blocks=2)
    assert len(r2) == len(r1) and r2 != r1
    case("stored-same-size-reencoding", signed_r1.replace(r1, r2), 4, "entries.digests",
         "the frame swapped for another of the same size and content, nothing else changed", "stored")
    case("stored-other-size-reencoding", bundle(lambda b: (b.data.update({zst["path"]: r2 + b"\0"}), setattr(b, "restamp", False))),
         3, "manifest.form", "the frame replaced by a longer one, manifest unchanged", "stored")
    case("stored-zstd-no-checksum", stored(raw_frame(content, with_checksum=False)), 4, "entries.digests",
         "a frame without content checksum (re-signed)", "stored")
    case("stored-zstd-dictionary-id-zero", stored(raw_frame(content, dict_id=0)), 4, "entries.digests",
         "a frame with a dictionary id field holding 0 (re-signed)", "stored")
    case("stored-zstd-no-content-size", stored(raw_frame(content, single=False, window=0, fcs_flag=0)), 4, "entries.digests",
         "a frame without content size (re-signed)", "stored")
    case("stored-zstd-reserved-bit", stored(raw_frame(content, reserved=True)), 4, "entries.digests",
         "a frame header with the reserved bit set (re-signed)", "stored")
    case("stored-zstd-skippable-first", stored(skippable(4) + r1), 4, "entries.digests",
         "a skippable frame before the frame (re-signed)", "stored")
    case("stored-zstd-skippable-after", stored(r1 + skippable(4)), 4, "entries.digests",
         "a skippable frame after the frame (re-signed)", "stored")
    half = len(content) // 2
    case("stored-zstd-two-frames", stored(raw_frame(content[:half]) + raw_frame(content[half:])), 4, "entries.digests",
         "the content in two frames (re-signed)", "stored")
    case("stored-zstd-window-8-mib", stored(raw_frame(content, single=False, window=13 << 3, fcs_flag=2)), 0, None,
         "a window of exactly 8 MiB (re-signed)", "stored")
    case("stored-zstd-window-9-mib", stored(raw_frame(content, single=False, window=(13 << 3) | 1, fcs_flag=2)), 4,
         "entries.digests", "a window of 9 MiB (re-signed)", "stored")

    def v1(b):
        b.manifest["schema"] = "urn:lbom:bundle-manifest:v1"
        for e in b.manifest["entries"]:
            e.pop("stored_sha256")
    case("stored-v1-written-by-python", bundle(v1), 0, None, "a version 1 bundle: still read", "stored")

    def v1_with_stored(b):
        b.manifest["schema"] = "urn:lbom:bundle-manifest:v1"
    case("stored-v1-with-stored-sha256", bundle(v1_with_stored), 3, "manifest.form",
         "a version 1 manifest whose entries carry version 2's stored_sha256", "stored")
    case("stored-v3-schema", field(lambda m: m.update(schema="urn:lbom:bundle-manifest:v3")), 3, "manifest.form",
         "a later format version: unsupported bundle format version", "stored")

    def raw_stored_differs(b):
        b.build()
        for e in b.manifest["entries"]:
            if e["path"] == raw_artifact:
                e["stored_sha256"] = "00" * 32
        b.restamp = False
    case("stored-raw-entry-stored-digest-differs", bundle(raw_stored_differs), 3, "manifest.form",
         "a raw entry whose stored_sha256 is not its sha256", "stored")

    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1, ensure_ascii=False)


def envelope_edit_bytes(bundle, f):
    """The base with link 2's entry bytes made by f(envelope dict)."""
    b = bundle()
    b.envelope_edit[2] = lambda env, payload: f(env)
    return b


if __name__ == "__main__":
    main()
