"""One chain link: the DSSE envelope (docs/bundle-format.md §7, [B30]-[B32],
[B35]) and its link statement, and the bytes signed (PAE, [B36]).

Form errors are `chain.links` with exit 3 ("malformed link", docs/policy.md
§9); the chaining rules (manifest digest [B33], previous link [B34]) are in
chain.py with exit 5.
"""

import base64
import binascii
import re
from dataclasses import dataclass

import jsonform
from jsonform import JsonProblem, is_int
from manifest import is_label
from paths import is_control
from refusal import Refusal
from timeform import parse_time

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:lbom:predicate:chain-link:v1"
MAX_ENVELOPE = 1 << 20  # [B31] "larger than 1 MiB"
MAX_SIGNATURES = 16  # [B31]
MAX_NOTE = 1024  # [B35]
HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Link:
    index: int
    raw: bytes  # the entry as stored, final LF included ([B34])
    payload_type: str
    payload: bytes
    signatures: list  # (keyid hint, signature bytes)
    manifest_digest: str
    role: str
    keyid: str
    time: object
    time_text: str
    note: object
    previous: object  # None or (path, sha256)


def pae(payload_type: str, payload: bytes) -> bytes:
    """[B36]: "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def b64_canonical(text, what: str) -> bytes:
    """RFC 4648 §4 standard alphabet with padding, and only the canonical
    spelling of the bytes (unused bits zero): [B30]."""
    if not isinstance(text, str):
        raise JsonProblem(f"{what} is not a string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise JsonProblem(f"{what} is not standard padded base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise JsonProblem(f"{what} is not the canonical base64 of its bytes")
    return raw


def malformed(index: int, detail: str) -> Refusal:
    return Refusal("chain.links", f"link {index}: {detail}", code=3)


def parse(index: int, raw: bytes) -> Link:
    try:
        return _parse(index, raw)
    except JsonProblem as e:
        raise malformed(index, str(e)) from None


def _parse(index: int, raw: bytes) -> Link:
    if len(raw) > MAX_ENVELOPE:
        raise JsonProblem(f"envelope of {len(raw)} bytes, more than 1 MiB")
    if not raw.endswith(b"\n"):
        raise JsonProblem("envelope does not end with one LF")
    body = raw[:-1]
    value = jsonform.parse(body)
    jsonform.keys_in_order(value, ["payload", "payloadType", "signatures"], "envelope")
    if body != jsonform.compact(value):
        raise JsonProblem("envelope bytes are not compact JSON ([B30])")
    payload = b64_canonical(value["payload"], "payload")
    if value["payloadType"] != PAYLOAD_TYPE:
        raise JsonProblem(f"payloadType {value['payloadType']!r} ([B32])")
    sigs = value["signatures"]
    if not isinstance(sigs, list) or not 1 <= len(sigs) <= MAX_SIGNATURES:
        count = len(sigs) if isinstance(sigs, list) else "no list of"
        raise JsonProblem(f"{count} signatures, 1 to {MAX_SIGNATURES} ([B31])")
    signatures = []
    for n, sig in enumerate(sigs):
        jsonform.keys_in_order(sig, ["keyid", "sig"], f"signatures[{n}]")
        if not isinstance(sig["keyid"], str):
            raise JsonProblem(f"signatures[{n}].keyid is not a string")
        signatures.append((sig["keyid"], b64_canonical(sig["sig"], f"signatures[{n}].sig")))
    statement = jsonform.parse(payload)
    if payload != jsonform.compact(statement):
        raise JsonProblem("payload is not compact JSON without a final LF (§7)")
    jsonform.keys_in_order(statement, ["_type", "subject", "predicateType", "predicate"], "statement")
    if statement["_type"] != STATEMENT_TYPE:
        raise JsonProblem(f"_type {statement['_type']!r} ([B32])")
    subject = statement["subject"]
    if not isinstance(subject, list) or len(subject) != 1:
        raise JsonProblem("the statement must have exactly one subject ([B32])")
    jsonform.keys_in_order(subject[0], ["name", "digest"], "subject[0]")
    if subject[0]["name"] != "manifest.json":
        raise JsonProblem(f"subject named {subject[0]['name']!r}, not manifest.json ([B32])")
    jsonform.keys_in_order(subject[0]["digest"], ["sha256"], "subject[0].digest")
    digest = subject[0]["digest"]["sha256"]
    if not isinstance(digest, str) or not HEX64.fullmatch(digest):
        raise JsonProblem("subject digest is not 64 lowercase hex digits")
    if statement["predicateType"] != PREDICATE_TYPE:
        raise JsonProblem(f"predicateType {statement['predicateType']!r} ([B32])")
    predicate = statement["predicate"]
    if not isinstance(predicate, dict):
        raise JsonProblem("predicate is not an object")
    want = ["index", "role", "keyid", "time"] + [k for k in ("note", "previous") if k in predicate]
    jsonform.keys_in_order(predicate, want, "predicate")
    if not is_int(predicate["index"]) or predicate["index"] != index:
        raise JsonProblem(f"predicate index {predicate['index']!r} differs from the link's number {index} ([B3])")
    if not is_label(predicate["role"]):
        raise JsonProblem(f"role {predicate['role']!r} is not a label ([B35])")
    keyid = predicate["keyid"]
    if not isinstance(keyid, str) or not HEX64.fullmatch(keyid):
        raise JsonProblem("predicate keyid is not 64 lowercase hex digits")
    time = parse_time(predicate["time"])
    if time is None:
        raise JsonProblem(f"time {predicate['time']!r} is not YYYY-MM-DDTHH:MM:SSZ")
    note = predicate.get("note")
    if "note" in predicate:
        # "(omitted when none)": null and "" would be second spellings of
        # "no note" and are refused (ambiguity A12 in README.md).
        if not isinstance(note, str) or note == "":
            raise JsonProblem("note present but not a non-empty string (omitted when none, §7)")
        if len(note.encode("utf-8")) > MAX_NOTE:
            raise JsonProblem(f"note longer than {MAX_NOTE} bytes ([B35])")
        if any(is_control(ch) for ch in note):
            raise JsonProblem("note holds a control character ([B35])")
    previous = None
    if "previous" in predicate:
        jsonform.keys_in_order(predicate["previous"], ["path", "sha256"], "predicate.previous")
        path, sha = predicate["previous"]["path"], predicate["previous"]["sha256"]
        if not isinstance(path, str) or not isinstance(sha, str) or not HEX64.fullmatch(sha):
            raise JsonProblem("predicate.previous is not a path and 64 lowercase hex digits")
        previous = (path, sha)
    return Link(
        index,
        raw,
        value["payloadType"],
        payload,
        signatures,
        digest,
        predicate["role"],
        keyid,
        time,
        predicate["time"],
        note,
        previous,
    )
