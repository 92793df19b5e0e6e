"""The hash manifest, docs/bundle-format.md §5: read `schema` first ([B26]),
then the strict parse of that version, then the match with the entries before
the manifest ([B27]). Every refusal is `manifest.form` (exit 3).

Versions: `PARSERS` maps a manifest schema to its parser. Version 1 is the
only one written down today; a version 2 (which also binds each entry's
stored bytes) adds a parser here and its own entry checks in entries.py.
"""

import re
from dataclasses import dataclass

import jsonform
from jsonform import JsonProblem, is_int
from refusal import Refusal
from timeform import parse_time

SCHEMA_PREFIX = "urn:lbom:bundle-manifest:"
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
HEX64 = re.compile(r"[0-9a-f]{64}")
# The spec says "integer" without a width (ambiguity A8 in README.md):
# a signed 64-bit integer is the widest every JSON reader keeps exactly
# enough for here; larger values are refused.
INT_MAX = 2**63 - 1

TOP_V1 = ["schema", "name", "channel", "sequence", "previous", "created", "expires", "tool", "entries"]
ENTRY_V1 = ["path", "role", "size", "sha256", "encoding", "stored_size"]


@dataclass
class ManifestEntry:
    path: str
    role: str
    size: int
    sha256: str
    encoding: str
    stored_size: int


@dataclass
class Manifest:
    version: str
    name: str
    channel: str
    sequence: int
    previous: object  # None or (sequence, manifest_sha256)
    created: object  # datetime
    expires: object  # datetime or None
    created_text: str
    expires_text: object
    entries: list


def refuse(detail: str) -> Refusal:
    return Refusal("manifest.form", detail)


def is_label(value) -> bool:
    return isinstance(value, str) and LABEL.fullmatch(value) is not None


def parse(raw: bytes) -> Manifest:
    """[B26]: the schema decides the parser; an unknown version is named."""
    try:
        value = jsonform.parse(raw)
    except JsonProblem as e:
        raise refuse(f"manifest.json: {e}") from None
    if not isinstance(value, dict) or not isinstance(value.get("schema"), str):
        raise refuse("manifest.json: no schema string")
    schema = value["schema"]
    if schema in PARSERS:
        return PARSERS[schema](raw, value)
    if schema.startswith(SCHEMA_PREFIX):
        raise refuse(f"unsupported bundle format version {schema[len(SCHEMA_PREFIX):]}")
    raise refuse(f"manifest.json: unknown schema {schema!r}")


def parse_v1(raw: bytes, value) -> Manifest:
    try:
        return _parse_v1(raw, value)
    except JsonProblem as e:
        raise refuse(f"manifest.json: {e}") from None


def _int_at_least(value, low: int, what: str) -> int:
    if not is_int(value):
        raise JsonProblem(f"{what} is not an integer")
    if not low <= value <= INT_MAX:
        raise JsonProblem(f"{what} {value} is outside {low}..{INT_MAX}")
    return value


def _parse_v1(raw: bytes, value) -> Manifest:
    jsonform.keys_in_order(value, TOP_V1, "manifest")
    for field in ("name", "channel"):
        if not is_label(value[field]):
            raise JsonProblem(f"{field} {value[field]!r} is not a label (bundle-format.md §5)")
    sequence = _int_at_least(value["sequence"], 1, "sequence")
    previous = value["previous"]
    if previous is not None:
        jsonform.keys_in_order(previous, ["sequence", "manifest_sha256"], "previous")
        # previous.sequence names an earlier bundle, whose sequence is >= 1.
        prev_seq = _int_at_least(previous["sequence"], 1, "previous.sequence")
        digest = previous["manifest_sha256"]
        if not isinstance(digest, str) or not HEX64.fullmatch(digest):
            raise JsonProblem("previous.manifest_sha256 is not 64 lowercase hex digits")
        if sequence <= prev_seq:
            raise JsonProblem(f"sequence {sequence} is not greater than previous.sequence {prev_seq}")
        previous = (prev_seq, digest)
    created = parse_time(value["created"])
    if created is None:
        raise JsonProblem(f"created {value['created']!r} is not YYYY-MM-DDTHH:MM:SSZ")
    expires = None
    if value["expires"] is not None:
        expires = parse_time(value["expires"])
        if expires is None:
            raise JsonProblem(f"expires {value['expires']!r} is not YYYY-MM-DDTHH:MM:SSZ")
        if expires < created:
            raise JsonProblem("expires is before created")
    tool = value["tool"]
    jsonform.keys_in_order(tool, ["name", "version"], "tool")
    # §5 table: `{"name": "lbom", "version": "…"}`; the name is read as
    # the literal "lbom", the version as any string (ambiguity A9).
    if tool["name"] != "lbom":
        raise JsonProblem(f"tool.name {tool['name']!r} is not \"lbom\"")
    if not isinstance(tool["version"], str):
        raise JsonProblem("tool.version is not a string")
    if not isinstance(value["entries"], list):
        raise JsonProblem("entries is not an array")
    entries = []
    for n, item in enumerate(value["entries"]):
        what = f"entries[{n}]"
        jsonform.keys_in_order(item, ENTRY_V1, what)
        if not isinstance(item["path"], str):
            raise JsonProblem(f"{what}.path is not a string")
        if item["role"] not in ("artifact", "sbom", "attestation"):
            raise JsonProblem(f"{what}.role {item['role']!r} is not artifact, sbom or attestation")
        size = _int_at_least(item["size"], 0, f"{what}.size")
        if not isinstance(item["sha256"], str) or not HEX64.fullmatch(item["sha256"]):
            raise JsonProblem(f"{what}.sha256 is not 64 lowercase hex digits")  # [B25]
        if item["encoding"] not in ("raw", "zstd"):
            raise JsonProblem(f"{what}.encoding {item['encoding']!r} is not raw or zstd")
        stored = _int_at_least(item["stored_size"], 0, f"{what}.stored_size")
        entries.append(ManifestEntry(item["path"], item["role"], size, item["sha256"], item["encoding"], stored))
    # [B22] and [B1]: the bytes are the pretty form of the value they hold.
    if raw != jsonform.pretty(value):
        raise JsonProblem("bytes are not the manifest's canonical form ([B22]: pretty-printed, 2 spaces, final LF)")
    return Manifest(
        "v1",
        value["name"],
        value["channel"],
        sequence,
        previous,
        created,
        expires,
        value["created"],
        value["expires"],
        entries,
    )


PARSERS = {"urn:lbom:bundle-manifest:v1": parse_v1}


def match_layout(manifest: Manifest, layout) -> None:
    """[B27]: the entries before the manifest are exactly the manifest's, in
    order, with equal names and stored sizes; roles and encodings agree with
    the layout of §1."""
    expected = []
    for artifact, sbom, path in layout.artifacts:
        expected.append((artifact, "artifact", path))
        expected.append((sbom, "sbom", None))
    expected.append((layout.attestation, "attestation", None))
    have = manifest.entries
    if len(have) != len(expected):
        raise refuse(f"the manifest lists {len(have)} entries, the archive holds {len(expected)} before it")
    if not layout.artifacts:
        # §1 "for each artifact" allows none; a bundle that carries nothing
        # is refused here (ambiguity A10 in README.md).
        raise refuse("the bundle holds no artifact")
    for n, (m, (tar_entry, role, path)) in enumerate(zip(have, expected)):
        if m.path != tar_entry.name:
            raise refuse(f"entries[{n}].path {m.path!r} but the archive has {tar_entry.name!r} there")
        if m.stored_size != tar_entry.size:
            raise refuse(f"entries[{n}] ({m.path}): stored_size {m.stored_size}, the archive holds {tar_entry.size}")
        if m.role != role:
            raise refuse(f"entries[{n}] ({m.path}): role {m.role!r} where the layout has {role!r}")
        if role != "artifact" and m.encoding != "raw":
            raise refuse(f"entries[{n}] ({m.path}): an SBOM or the attestation must be raw")
        if m.encoding == "raw" and m.size != m.stored_size:
            raise refuse(f"entries[{n}] ({m.path}): raw with size {m.size} != stored_size {m.stored_size}")
        if role == "artifact":
            want = f"artifacts/{path}.zst" if m.encoding == "zstd" else f"artifacts/{path}"
            if m.path != want:
                raise refuse(f"entries[{n}]: encoding {m.encoding} needs the name {want!r}, not {m.path!r}")


def artifact_path(entry: ManifestEntry) -> str:
    """§5: the path without `artifacts/` and, for zstd, without `.zst`."""
    path = entry.path[len("artifacts/") :]
    return path[: -len(".zst")] if entry.encoding == "zstd" else path
