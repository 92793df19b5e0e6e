"""The entry order of docs/bundle-format.md §1 ([B2], [B3]) and collisions
(§3 [B16]), judged on entry names alone: `archive.structure` (exit 3).
"""

import re
from dataclasses import dataclass

from paths import artifact_path_problem, first_collision
from refusal import Refusal

ATTESTATION = "attestation.intoto.json"
MANIFEST = "manifest.json"
MAX_LINKS = 9999
LINK_NAME = re.compile(r"chain/([0-9]{4})\.dsse\.json")


@dataclass
class Layout:
    artifacts: list  # (artifact entry, sbom entry, artifact path P)
    attestation: object
    manifest: object
    links: list  # entries chain/0001.dsse.json ... in order


def refuse(detail: str) -> Refusal:
    return Refusal("archive.structure", detail)


def link_name(n: int) -> str:
    return f"chain/{n:04d}.dsse.json"


def split(entries) -> Layout:
    """Check the order of §1 and return the entries by job."""
    i = 0
    artifacts = []
    while i < len(entries) and entries[i].name.startswith("artifacts/"):
        artifact = entries[i]
        if i + 1 >= len(entries):
            raise refuse(f"artifact {artifact.name!r} is not followed by its SBOM")
        sbom = entries[i + 1]
        name = sbom.name
        if not (name.startswith("sboms/") and name.endswith(".cdx.json")):
            raise refuse(f"artifact {artifact.name!r} is followed by {name!r}, not its SBOM")
        path = name[len("sboms/") : -len(".cdx.json")]
        # §1: `artifacts/P` (raw) or `artifacts/P.zst` (zstd); the SBOM's
        # name says which P, the manifest later says which encoding.
        if artifact.name not in (f"artifacts/{path}", f"artifacts/{path}.zst"):
            raise refuse(f"artifact {artifact.name!r} is followed by the SBOM of another path ({name!r})")
        problem = artifact_path_problem(path)
        if problem:
            raise refuse(f"artifact path {path!r}: {problem}")
        artifacts.append((artifact, sbom, path))
        i += 2
    for (_, _, a), (_, _, b) in zip(artifacts, artifacts[1:]):
        if not a.encode("utf-8") < b.encode("utf-8"):
            raise refuse(f"artifacts not in ascending byte order of their paths: {a!r} before {b!r}")
    rest = [e.name for e in entries[i:]]
    if rest[:2] != [ATTESTATION, MANIFEST]:
        raise refuse(
            "after the artifacts and SBOMs the layout needs attestation.intoto.json then manifest.json, "
            f"found {rest[:2]!r}"
        )
    attestation, manifest = entries[i], entries[i + 1]
    links = entries[i + 2 :]
    if len(links) > MAX_LINKS:
        raise refuse(f"{len(links)} links, at most {MAX_LINKS}")
    for n, link in enumerate(links, start=1):
        if link.name != link_name(n):
            # [B3]: any other entry after the manifest, or a gap.
            raise refuse(f"entry {n + 1} after the manifest is {link.name!r}, not {link_name(n)!r}")
    # [B16] on entry names (exact duplicates included) and on artifact
    # paths: the spec says "a reader MUST reject colliding entries" and
    # applies the rules to "entry names and artifact paths"; both are
    # judged (ambiguity A3 in README.md).
    names = [e.name for e in entries]
    hit = first_collision(names)
    if hit:
        raise refuse(f"entries {hit[0]!r} and {hit[1]!r} collide")
    hit = first_collision([p for _, _, p in artifacts])
    if hit:
        raise refuse(f"artifact paths {hit[0]!r} and {hit[1]!r} collide")
    return Layout(artifacts, attestation, manifest, links)
