"""The form of one chain link, docs/bundle-format.md §7: the DSSE envelope
([B30], [B31]), the hint ([B38]), the link statement ([B32], [B34] for the
presence of `previous`, [B35], [B52], [B53]) and its index ([B3]); and the
bytes signed (PAE, [B36]).

Every refusal here is `chain.links` with exit 3 (docs/policy.md §9 [P39]);
the chaining rules ([B33], [B34] naming link N-1) are in chain.py, exit 5.
"""

import base64
import binascii
from dataclasses import dataclass

import jsonform
import readings
from jsonform import JsonProblem, is_int, is_sha256
from manifest import is_label
from refusal import Refusal
from timeform import parse_time

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:lbom:predicate:chain-link:v1"
SIGNATURE_BYTES = 64  # [B31]
MAX_INDEX = 9999  # §7: `index` from 1 to 9999
MAX_NOTE = 1024  # [B35]

# [B35]: the characters a note must not hold, besides C0, DEL and C1.
NOTE_REFUSED = {0x2028, 0x2029, 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


@dataclass
class Link:
    index: int
    raw: bytes  # the entry as stored, final LF included ([B34])
    payload_type: str
    payload: bytes
    hint: str
    signature: bytes
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
    """[B30]: RFC 4648 §4 standard alphabet with padding, and only the
    canonical spelling of the bytes (unused bits zero)."""
    if not isinstance(text, str):
        raise JsonProblem(f"{what} is not a string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise JsonProblem(f"{what} is not standard padded base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise JsonProblem(f"{what} is not the canonical base64 of its bytes ([B30])")
    return raw


def note_problem(note) -> str | None:
    """[B35]: a string of 1 to 1024 UTF-8 bytes without the refused
    characters; `null` and `""` are refused."""
    if not isinstance(note, str) or note == "":
        return "note present but not a non-empty string (left out when none)"
    if len(note.encode("utf-8")) > MAX_NOTE:
        return f"note longer than {MAX_NOTE} bytes"
    for ch in note:
        o = ord(ch)
        if o <= 0x1F or 0x7F <= o <= 0x9F or o in NOTE_REFUSED:
            return f"note holds U+{o:04X}"
    return None


def parse(index: int, raw: bytes) -> Link:
    try:
        return _parse(index, raw)
    except JsonProblem as e:
        raise Refusal("chain.links", f"link {index}: {e}", code=3) from None


def _parse(index: int, raw: bytes) -> Link:
    # [B30]: compact JSON + one final LF, keys in order, canonical base64.
    if not raw.endswith(b"\n"):
        raise JsonProblem("envelope does not end with one LF ([B30])")
    body = raw[:-1]
    value = jsonform.parse(body)
    jsonform.keys_in_order(value, ["payload", "payloadType", "signatures"], "envelope")
    payload = b64_canonical(value["payload"], "payload")
    if value["payloadType"] != PAYLOAD_TYPE:
        raise JsonProblem(f"payloadType {value['payloadType']!r} ([B32])")
    sigs = value["signatures"]
    # [B31]: exactly one signature, of 64 bytes.
    if not isinstance(sigs, list) or len(sigs) != 1:
        count = len(sigs) if isinstance(sigs, list) else "no list of"
        raise JsonProblem(f"{count} signatures, exactly one is required ([B31])")
    jsonform.keys_in_order(sigs[0], ["keyid", "sig"], "signatures[0]")
    hint = sigs[0]["keyid"]
    if not isinstance(hint, str):
        raise JsonProblem("signatures[0].keyid is not a string")
    signature = b64_canonical(sigs[0]["sig"], "signatures[0].sig")
    if len(signature) != SIGNATURE_BYTES:
        raise JsonProblem(f"a signature of {len(signature)} bytes, not {SIGNATURE_BYTES} ([B31])")
    if body != jsonform.compact(value):
        raise JsonProblem("envelope bytes are not its one compact form ([B30])")

    # The statement: [B32], [B52] (compact, no final LF).
    statement = jsonform.parse(payload)
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
    if not isinstance(digest, str):
        raise JsonProblem("subject digest is not a string")
    if not is_sha256(digest):
        # [B32]: a digest spelt otherwise is a malformed link (exit 3).
        raise JsonProblem("subject digest is not 64 lowercase hex digits ([B32])")
    if statement["predicateType"] != PREDICATE_TYPE:
        raise JsonProblem(f"predicateType {statement['predicateType']!r} ([B32])")
    predicate = statement["predicate"]
    if not isinstance(predicate, dict):
        raise JsonProblem("predicate is not an object")
    # `note` is left out when none; `previous` is left out for link 1 and
    # present in every later link ([B34]).
    want = ["index", "role", "keyid", "time"] + (["note"] if "note" in predicate else [])
    if index > 1 or "previous" in predicate:
        want.append("previous")
    if index == 1 and "previous" in predicate:
        raise JsonProblem("link 1 has a previous field ([B34]: left out, not null)")
    jsonform.keys_in_order(predicate, want, "predicate")
    if not is_int(predicate["index"]) or not 1 <= predicate["index"] <= MAX_INDEX:
        raise JsonProblem(f"predicate index {predicate['index']!r} is not an integer from 1 to {MAX_INDEX}")
    if predicate["index"] != index:
        raise JsonProblem(f"predicate index {predicate['index']} differs from the link's number {index} ([B3])")
    if not is_label(predicate["role"]):
        raise JsonProblem(f"role {predicate['role']!r} is not a label ([B35])")
    keyid = predicate["keyid"]
    if not is_sha256(keyid):
        raise JsonProblem("predicate keyid is not 64 lowercase hex digits (§7)")
    time = parse_time(predicate["time"])
    if time is None:
        raise JsonProblem(f"time {predicate['time']!r} is not a time ([B53])")
    note = predicate.get("note")
    if "note" in predicate:
        problem = note_problem(note)
        if problem:
            raise JsonProblem(f"{problem} ([B35])")
    previous = None
    if "previous" in predicate:
        jsonform.keys_in_order(predicate["previous"], ["path", "sha256"], "predicate.previous")
        path, sha = predicate["previous"]["path"], predicate["previous"]["sha256"]
        if not isinstance(path, str) or not isinstance(sha, str):
            raise JsonProblem("predicate.previous path and sha256 are not strings")
        if not is_sha256(sha):
            raise JsonProblem("predicate.previous.sha256 is not 64 lowercase hex digits ([B32])")
        previous = (path, sha)
    if payload != jsonform.compact(statement):
        raise JsonProblem("the statement is not in its one compact form without a final LF ([B52])")
    # [B38]: the hint is the signed key id, spelt the same.
    if hint != keyid:
        raise JsonProblem("the signature's keyid hint is not the predicate's keyid ([B38])")
    return Link(
        index,
        raw,
        value["payloadType"],
        payload,
        hint,
        signature,
        digest,
        predicate["role"],
        keyid,
        time,
        predicate["time"],
        note,
        previous,
    )
