"""The attestation, docs/bundle-format.md §6 ([B28], [B29]): compact JSON +
LF, an in-toto Statement v1 with a SLSA provenance v1 predicate, whose
subjects are exactly the manifest's artifacts (paths and SHA-256, in bundle
order). Every refusal is `attestation.subjects` (exit 4): docs/policy.md §9
names no other check for the attestation (ambiguity A17 in README.md).
"""

import jsonform
from jsonform import JsonProblem, is_int
from manifest import artifact_path
from refusal import Refusal

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:lbom:build-type:pack:v1"
BUILDER_PREFIX = "urn:lbom:builder:lbom@"


def refuse(detail: str) -> Refusal:
    return Refusal("attestation.subjects", f"attestation: {detail}")


def check(raw: bytes, manifest) -> int:
    """The number of subjects, or a Refusal."""
    try:
        return _check(raw, manifest)
    except JsonProblem as e:
        raise refuse(str(e)) from None


def _subjects(value, what: str) -> list:
    if not isinstance(value, list):
        raise JsonProblem(f"{what} is not an array")
    out = []
    for n, item in enumerate(value):
        jsonform.keys_in_order(item, ["name", "digest"], f"{what}[{n}]")
        # Exactly {"sha256": hex}: another digest algorithm is a claim no
        # reader checks, so it is refused (ambiguity A17).
        jsonform.keys_in_order(item["digest"], ["sha256"], f"{what}[{n}].digest")
        out.append((item["name"], item["digest"]["sha256"]))
    return out


def _check(raw: bytes, manifest) -> int:
    if not raw.endswith(b"\n"):
        raise JsonProblem("does not end with one LF")
    value = jsonform.parse(raw[:-1])
    if raw[:-1] != jsonform.compact(value):
        raise JsonProblem("bytes are not compact JSON + LF ([B28])")
    jsonform.keys_in_order(value, ["_type", "subject", "predicateType", "predicate"], "statement")
    if value["_type"] != STATEMENT_TYPE:
        raise JsonProblem(f"_type {value['_type']!r}")
    if value["predicateType"] != PREDICATE_TYPE:
        raise JsonProblem(f"predicateType {value['predicateType']!r}")
    want = [(artifact_path(e), e.sha256) for e in manifest.entries if e.role == "artifact"]
    subjects = _subjects(value["subject"], "subject")
    if subjects != want:
        # [B29], in bundle order and without duplicates (§6: "artifacts,
        # bundle order").
        raise JsonProblem(f"subjects {subjects} are not the manifest's artifacts {want} ([B29])")
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
    previous = None
    if manifest.previous is not None:
        previous = {"sequence": manifest.previous[0], "manifest_sha256": manifest.previous[1]}
    # §6 names the parameters but not their values; they are read as the
    # manifest's own fields, `compress` as the option given (a string).
    expected = {
        "name": manifest.name,
        "channel": manifest.channel,
        "sequence": manifest.sequence,
        "previous": previous,
        "expires": manifest.expires_text,
    }
    for key, want_value in expected.items():
        have = params[key]
        if have != want_value or (key == "sequence" and not is_int(have)):
            raise JsonProblem(f"externalParameters.{key} {have!r} differs from the manifest's {want_value!r}")
    if not isinstance(params["compress"], str):
        raise JsonProblem("externalParameters.compress is not a string")
    if _subjects(build["resolvedDependencies"], "resolvedDependencies") != subjects:
        raise JsonProblem("resolvedDependencies differ from subject (§6: same as subject)")
    run = predicate["runDetails"]
    jsonform.keys_in_order(run, ["builder", "metadata"], "runDetails")
    jsonform.keys_in_order(run["builder"], ["id"], "runDetails.builder")
    builder = run["builder"]["id"]
    if not isinstance(builder, str) or not builder.startswith(BUILDER_PREFIX) or builder == BUILDER_PREFIX:
        raise JsonProblem(f"builder id {builder!r} is not {BUILDER_PREFIX}VERSION")
    jsonform.keys_in_order(run["metadata"], ["startedOn", "finishedOn"], "runDetails.metadata")
    for key in ("startedOn", "finishedOn"):
        if run["metadata"][key] != manifest.created_text:
            raise JsonProblem(f"metadata.{key} {run['metadata'][key]!r} is not the manifest's created")
    return len(subjects)
