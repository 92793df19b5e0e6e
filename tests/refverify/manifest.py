"""The hash manifest, docs/bundle-format.md §5: read `schema` first ([B26]),
then the strict parse of that version ([B22]-[B25], [B51]-[B54], [B58]).
Every refusal is `manifest.form` (exit 3, docs/policy.md §9 [P39]). How the
entries match the archive ([B2], [B27], [B59], [B60]) is in layout.py.

Versions (§11): version 2 entries have seven fields, ending with
`stored_sha256`; version 1 entries have six, ending with `stored_size`.
Every other rule is the same for both.
"""

import re
from dataclasses import dataclass

import jsonform
from jsonform import JsonProblem, is_int, is_sha256, is_u64
from refusal import Refusal
from timeform import parse_time

SCHEMA_PREFIX = "urn:lbom:bundle-manifest:"
V1 = SCHEMA_PREFIX + "v1"
V2 = SCHEMA_PREFIX + "v2"
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # §5 *label*
TOOL_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")  # §5 `tool.version`

TOP = ["schema", "name", "channel", "sequence", "previous", "created", "expires", "tool", "entries"]
ENTRY = {
    V1: ["path", "role", "size", "sha256", "encoding", "stored_size"],
    V2: ["path", "role", "size", "sha256", "encoding", "stored_size", "stored_sha256"],
}


@dataclass
class ManifestEntry:
    path: str
    role: str
    size: int
    sha256: str
    encoding: str
    stored_size: int
    stored_sha256: object  # str (version 2) or None (version 1)


@dataclass
class Manifest:
    version: str  # "v1" or "v2"
    name: str
    channel: str
    sequence: int
    previous: object  # None or (sequence, manifest_sha256)
    created: object  # datetime
    expires: object  # datetime or None
    created_text: str
    expires_text: object
    tool_name: str
    tool_version: str
    entries: list


def refuse(detail: str) -> Refusal:
    return Refusal("manifest.form", detail)


def is_label(value) -> bool:
    return isinstance(value, str) and LABEL.fullmatch(value) is not None


def parse(raw: bytes) -> Manifest:
    """[B26]: `schema` is read before the strict parse; a version other than
    v1 and v2 is named as unsupported."""
    try:
        value = jsonform.parse(raw)
    except JsonProblem as e:
        raise refuse(f"manifest.json: {e}") from None
    schema = value.get("schema") if isinstance(value, dict) else None
    if not isinstance(schema, str):
        raise refuse("manifest.json: no schema string")
    if schema not in ENTRY:
        if schema.startswith(SCHEMA_PREFIX):
            raise refuse(f"unsupported bundle format version {schema[len(SCHEMA_PREFIX):]!r}")
        raise refuse(f"manifest.json: unknown schema {schema!r}")
    try:
        return _parse(raw, value, schema)
    except JsonProblem as e:
        raise refuse(f"manifest.json: {e}") from None


def _sha(value, what: str) -> str:
    if not is_sha256(value):
        raise JsonProblem(f"{what} is not 64 lowercase hex digits ([B25])")
    return value


def _u64(value, low: int, what: str) -> int:
    """[B54]: an integer within its range (0 or 1 to 2^64 - 1)."""
    if not is_int(value):
        raise JsonProblem(f"{what} is not an integer")
    if not is_u64(value) or value < low:
        raise JsonProblem(f"{what} {value} is outside {low}..2^64-1 ([B54])")
    return value


def _time(value, what: str):
    t = parse_time(value)
    if t is None:
        raise JsonProblem(f"{what} {value!r} is not a time ([B53])")
    return t


def _parse(raw: bytes, value, schema: str) -> Manifest:
    # [B23], [B51]: every field present, once, in the table's order.
    jsonform.keys_in_order(value, TOP, "manifest")
    for field in ("name", "channel"):
        if not is_label(value[field]):
            raise JsonProblem(f"{field} {value[field]!r} is not a label ([B24])")
    sequence = _u64(value["sequence"], 1, "sequence")
    previous = value["previous"]
    if previous is not None:
        jsonform.keys_in_order(previous, ["sequence", "manifest_sha256"], "previous")
        prev_seq = _u64(previous["sequence"], 1, "previous.sequence")
        if prev_seq >= sequence:
            raise JsonProblem(f"previous.sequence {prev_seq} is not below sequence {sequence} ([B24])")
        previous = (prev_seq, _sha(previous["manifest_sha256"], "previous.manifest_sha256"))
    created = _time(value["created"], "created")
    expires = None
    if value["expires"] is not None:
        expires = _time(value["expires"], "expires")
        if expires < created:
            raise JsonProblem("expires is before created ([B24])")
    tool = value["tool"]
    jsonform.keys_in_order(tool, ["name", "version"], "tool")
    if not is_label(tool["name"]):
        raise JsonProblem(f"tool.name {tool['name']!r} is not a label ([B54])")
    if not isinstance(tool["version"], str) or not TOOL_VERSION.fullmatch(tool["version"]):
        raise JsonProblem(f"tool.version {tool['version']!r} is outside its syntax ([B54])")
    if not isinstance(value["entries"], list):
        raise JsonProblem("entries is not an array")
    fields = ENTRY[schema]
    entries = []
    for n, item in enumerate(value["entries"]):
        what = f"entries[{n}]"
        if schema == V1 and isinstance(item, dict) and "stored_sha256" in item:
            raise JsonProblem(f"{what}: a version 1 entry carries stored_sha256 ([B58])")
        jsonform.keys_in_order(item, fields, what)
        if not isinstance(item["path"], str):
            raise JsonProblem(f"{what}.path is not a string")
        if item["role"] not in ("artifact", "sbom", "attestation"):
            raise JsonProblem(f"{what}.role {item['role']!r} is not artifact, sbom or attestation")
        if item["encoding"] not in ("raw", "zstd"):
            raise JsonProblem(f"{what}.encoding {item['encoding']!r} is not raw or zstd")
        entry = ManifestEntry(
            item["path"],
            item["role"],
            _u64(item["size"], 0, f"{what}.size"),
            _sha(item["sha256"], f"{what}.sha256"),
            item["encoding"],
            _u64(item["stored_size"], 0, f"{what}.stored_size"),
            _sha(item["stored_sha256"], f"{what}.stored_sha256") if schema == V2 else None,
        )
        if entry.encoding == "raw":
            # [B24]: a raw entry's stored bytes are its decoded bytes.
            if entry.stored_size != entry.size:
                raise JsonProblem(f"{what}: raw with stored_size {entry.stored_size} != size {entry.size} ([B24])")
            if schema == V2 and entry.stored_sha256 != entry.sha256:
                raise JsonProblem(f"{what}: raw with stored_sha256 != sha256 ([B24])")
        entries.append(entry)
    # [B22], [B52]: the bytes are the one pretty form of the value read.
    if raw != jsonform.pretty(value):
        raise JsonProblem("bytes are not the manifest's one byte form ([B52]: pretty, 2 spaces, final LF)")
    return Manifest(
        schema[len(SCHEMA_PREFIX) :],
        value["name"],
        value["channel"],
        sequence,
        previous,
        created,
        expires,
        value["created"],
        value["expires"],
        tool["name"],
        tool["version"],
        entries,
    )


def artifact_path(entry: ManifestEntry) -> str:
    """§5: the path without `artifacts/` and, for zstd, without `.zst`."""
    path = entry.path[len("artifacts/") :]
    return path[: -len(".zst")] if entry.encoding == "zstd" else path
