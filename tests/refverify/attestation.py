"""The attestation, docs/bundle-format.md §6, checked in the three steps of
[B55], all under `attestation.subjects` (docs/policy.md §9 [P39]):

1. its bytes have the size and SHA-256 of its manifest entry: exit 4;
2. its form (every field present once, none unknown, the types, the
   constants, lowercase hex digests, `compress` one of its values, times
   ([B53]), the one compact byte form + LF ([B52])): exit 3;
3. its content: exactly the document the manifest gives with its own
   `compress` ([B29]), and `compress` agrees with the encodings: exit 4.
"""

import hashlib
import re

import jsonform
import readings
from jsonform import JsonProblem, is_int, is_sha256, is_u64
from manifest import artifact_path
from refusal import Refusal
from timeform import parse_time

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:lbom:build-type:pack:v1"
BUILDER_PREFIX = "urn:lbom:builder:"
# §6: "auto", "none" or "zstd:L" with L from 1 to 19 in decimal without a
# sign or leading zeros.
COMPRESS = re.compile(r"auto|none|zstd:(?:[1-9]|1[0-9])")


def integrity(detail: str) -> Refusal:
    return Refusal("attestation.subjects", f"attestation: {detail}", code=4)


def malformed(detail: str) -> Refusal:
    return Refusal("attestation.subjects", f"attestation: {detail}", code=3)


def check(raw: bytes, manifest) -> int:
    """The number of subjects, or a Refusal."""
    entry = next(e for e in manifest.entries if e.role == "attestation")
    # Step 1.
    if len(raw) != entry.size or hashlib.sha256(raw).hexdigest() != entry.sha256:
        raise integrity("bytes differ from the manifest's attestation entry ([B55] step 1)")
    # Step 2.
    try:
        value = _form(raw)
    except JsonProblem as e:
        raise malformed(f"{e} ([B55] step 2)") from None
    # Step 3.
    want = expected(manifest, value["predicate"]["buildDefinition"]["externalParameters"]["compress"])
    if jsonform.compact(value) != jsonform.compact(want):
        raise integrity("is not the document the manifest gives ([B29], [B55] step 3)")
    compress = want["predicate"]["buildDefinition"]["externalParameters"]["compress"]
    encodings = {e.encoding for e in manifest.entries if e.role == "artifact"}
    if compress == "none" and encodings != {"raw"}:
        raise integrity("compress none, but an artifact is stored zstd ([B55] step 3)")
    if compress.startswith("zstd:") and encodings != {"zstd"}:
        raise integrity(f"compress {compress}, but an artifact is stored raw ([B55] step 3)")
    return len(value["subject"])


def _digests(value, what: str) -> None:
    if not isinstance(value, list):
        raise JsonProblem(f"{what} is not an array")
    for n, item in enumerate(value):
        jsonform.keys_in_order(item, ["name", "digest"], f"{what}[{n}]")
        if not isinstance(item["name"], str):
            raise JsonProblem(f"{what}[{n}].name is not a string")
        # "the digest object holds sha256 only"
        jsonform.keys_in_order(item["digest"], ["sha256"], f"{what}[{n}].digest")
        if not is_sha256(item["digest"]["sha256"]):
            raise JsonProblem(f"{what}[{n}].digest.sha256 is not 64 lowercase hex digits")


def _string(value, what: str) -> None:
    if not isinstance(value, str):
        raise JsonProblem(f"{what} is not a string")


def _integer(value, what: str) -> None:
    """[B55] step 2: "the integer sequence". Its range is not given for the
    attestation (§5's 0 to 2^64 - 1 is the manifest's): the reference
    leaves a larger value to step 3, where it differs from the manifest's
    (ambiguity R4). A negative integer is not in the one byte form
    (jsonform.parse)."""
    if not is_int(value):
        raise JsonProblem(f"{what} is not an integer")
    if not is_u64(value):
        raise JsonProblem(f"{what} {value} is outside 0..2^64-1")


def _form(raw: bytes):
    if not raw.endswith(b"\n"):
        raise JsonProblem("does not end with one LF")
    value = jsonform.parse(raw[:-1])
    jsonform.keys_in_order(value, ["_type", "subject", "predicateType", "predicate"], "statement")
    if value["_type"] != STATEMENT_TYPE:
        raise JsonProblem(f"_type {value['_type']!r}")
    _digests(value["subject"], "subject")
    if value["predicateType"] != PREDICATE_TYPE:
        raise JsonProblem(f"predicateType {value['predicateType']!r}")
    predicate = value["predicate"]
    jsonform.keys_in_order(predicate, ["buildDefinition", "runDetails"], "predicate")
    build = predicate["buildDefinition"]
    jsonform.keys_in_order(build, ["buildType", "externalParameters", "resolvedDependencies"], "buildDefinition")
    if build["buildType"] != BUILD_TYPE:
        raise JsonProblem(f"buildType {build['buildType']!r}")
    params = build["externalParameters"]
    jsonform.keys_in_order(
        params, ["name", "channel", "sequence", "previous", "expires", "compress"], "externalParameters"
    )
    _string(params["name"], "externalParameters.name")
    _string(params["channel"], "externalParameters.channel")
    _integer(params["sequence"], "externalParameters.sequence")
    previous = params["previous"]
    if previous is not None:
        jsonform.keys_in_order(previous, ["sequence", "manifest_sha256"], "externalParameters.previous")
        _integer(previous["sequence"], "externalParameters.previous.sequence")
        if not is_sha256(previous["manifest_sha256"]):
            raise JsonProblem("externalParameters.previous.manifest_sha256 is not 64 lowercase hex digits")
    if params["expires"] is not None:
        _string(params["expires"], "externalParameters.expires")
        # [B55] step 2: a non-null expires is a time of [B53]'s form.
        if parse_time(params["expires"]) is None:
            raise JsonProblem(f"externalParameters.expires {params['expires']!r} is not a time ([B53])")
    compress = params["compress"]
    if not isinstance(compress, str):
        raise JsonProblem("externalParameters.compress is not a string")
    if not COMPRESS.fullmatch(compress):
        # [B55] §6: L in decimal without a sign or leading zeros.
        raise JsonProblem(f"externalParameters.compress {compress!r} is not auto, none or zstd:1..19")
    _digests(build["resolvedDependencies"], "resolvedDependencies")
    run = predicate["runDetails"]
    jsonform.keys_in_order(run, ["builder", "metadata"], "runDetails")
    jsonform.keys_in_order(run["builder"], ["id"], "runDetails.builder")
    _string(run["builder"]["id"], "runDetails.builder.id")
    jsonform.keys_in_order(run["metadata"], ["startedOn", "finishedOn"], "runDetails.metadata")
    for key in ("startedOn", "finishedOn"):
        _string(run["metadata"][key], f"runDetails.metadata.{key}")
        # [B55] step 2: times of [B53]'s form.
        if parse_time(run["metadata"][key]) is None:
            raise JsonProblem(f"metadata.{key} {run['metadata'][key]!r} is not a time ([B53])")
    if raw[:-1] != jsonform.compact(value):
        raise JsonProblem("bytes are not its one compact form + LF ([B52])")
    return value


def expected(manifest, compress: str) -> dict:
    """§6: the attestation the manifest gives, with `compress` its one free
    value."""
    subjects = [
        {"name": artifact_path(e), "digest": {"sha256": e.sha256}} for e in manifest.entries if e.role == "artifact"
    ]
    previous = None
    if manifest.previous is not None:
        previous = {"sequence": manifest.previous[0], "manifest_sha256": manifest.previous[1]}
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "name": manifest.name,
                    "channel": manifest.channel,
                    "sequence": manifest.sequence,
                    "previous": previous,
                    "expires": manifest.expires_text,
                    "compress": compress,
                },
                "resolvedDependencies": subjects,
            },
            "runDetails": {
                "builder": {"id": f"{BUILDER_PREFIX}{manifest.tool_name}@{manifest.tool_version}"},
                "metadata": {"startedOn": manifest.created_text, "finishedOn": manifest.created_text},
            },
        },
    }
