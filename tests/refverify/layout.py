"""The bundle layout, docs/bundle-format.md §1, split between the checks that
docs/policy.md §9 [P39] gives it:

- `archive.structure`: entry-name collisions ([B16] on entry names);
- `manifest.form`: the entry `manifest.json` exists, and the entries before
  it are exactly the manifest's entries in the layout of [B2] ([B27]), with
  at least one artifact ([B59]) and no two artifact paths colliding ([B60]);
- `chain.links` (exit 3): the entries after the manifest are exactly
  `chain/0001.dsse.json`, ... without gaps ([B3]; at most 256 by the link
  limit of §12, limits.py).
"""

from dataclasses import dataclass

from manifest import artifact_path
from paths import artifact_path_problem, first_collision
from refusal import Refusal

ATTESTATION = "attestation.intoto.json"
MANIFEST = "manifest.json"
MAX_LINKS = 9999


@dataclass
class Layout:
    before: list  # tar entries before the manifest
    manifest: object  # the tar entry manifest.json
    after: list  # tar entries after the manifest


def link_name(n: int) -> str:
    return f"chain/{n:04d}.dsse.json"


def entry_collisions(entries) -> None:
    """[B16] on entry names (exact duplicates included): archive.structure."""
    hit = first_collision([e.name for e in entries])
    if hit:
        raise Refusal("archive.structure", f"entries {hit[0]!r} and {hit[1]!r} collide ([B16])")


def split(entries) -> Layout:
    """Find `manifest.json` (unique once collisions are refused), or refuse
    under manifest.form ("the entry manifest.json exists")."""
    for i, e in enumerate(entries):
        if e.name == MANIFEST:
            return Layout(entries[:i], e, entries[i + 1 :])
    raise Refusal("manifest.form", "the bundle has no entry manifest.json")


def match(manifest, before) -> list:
    """[B2], [B27], [B59], [B60]: the entries before the manifest are exactly
    the manifest's, in the bundle layout. Returns the (tar entry, manifest
    entry) pairs in bundle order."""

    def refuse(detail: str) -> Refusal:
        return Refusal("manifest.form", detail)

    have = manifest.entries
    # [B2] item 1-2: artifact/SBOM pairs, then the attestation.
    if len(have) % 2 != 1:
        raise refuse(f"the manifest lists {len(have)} entries: artifact and SBOM pairs, then the attestation ([B2])")
    if len(have) < 3:
        raise refuse("the bundle holds no artifact ([B59])")
    paths = []
    for n in range(0, len(have) - 1, 2):
        art, sbom = have[n], have[n + 1]
        if art.role != "artifact":
            raise refuse(f"entries[{n}] ({art.path}): role {art.role!r} where [B2] has an artifact")
        if not art.path.startswith("artifacts/") or (art.encoding == "zstd" and not art.path.endswith(".zst")):
            raise refuse(f"entries[{n}]: an artifact ({art.encoding}) is not named artifacts/P{'.zst' if art.encoding == 'zstd' else ''} ([B2])")
        path = artifact_path(art)
        problem = artifact_path_problem(path, art.encoding)
        if problem:
            raise refuse(f"entries[{n}]: artifact path {path!r}: {problem} ([B14])")
        if sbom.role != "sbom":
            raise refuse(f"entries[{n + 1}] ({sbom.path}): role {sbom.role!r} where [B2] has the SBOM of {path!r}")
        if sbom.path != f"sboms/{path}.cdx.json":
            raise refuse(f"entries[{n + 1}]: {sbom.path!r} is not the SBOM of {path!r}, sboms/{path}.cdx.json ([B2])")
        if sbom.encoding != "raw":
            raise refuse(f"entries[{n + 1}] ({sbom.path}): an SBOM must be raw ([B27])")
        paths.append(path)
    last = have[-1]
    if last.role != "attestation" or last.path != ATTESTATION:
        raise refuse(f"the last entry is {last.path!r} ({last.role}), not the attestation ([B27])")
    if last.encoding != "raw":
        raise refuse("the attestation must be raw ([B27])")
    for a, b in zip(paths, paths[1:]):
        if not a.encode("utf-8") < b.encode("utf-8"):
            raise refuse(f"artifacts not in ascending byte order of their paths: {a!r} before {b!r} ([B2])")
    hit = first_collision(paths)
    if hit:
        raise refuse(f"artifact paths {hit[0]!r} and {hit[1]!r} collide ([B60])")
    # [B27]: the archive holds exactly these entries, names and stored sizes.
    if len(before) != len(have):
        raise refuse(f"the manifest lists {len(have)} entries, the archive holds {len(before)} before it ([B27])")
    for n, (tar_entry, m) in enumerate(zip(before, have)):
        if tar_entry.name != m.path:
            raise refuse(f"entries[{n}].path {m.path!r} but the archive has {tar_entry.name!r} there ([B27])")
        if tar_entry.size != m.stored_size:
            raise refuse(f"entries[{n}] ({m.path}): stored_size {m.stored_size}, the archive holds {tar_entry.size} ([B27])")
    return list(zip(before, have))


def links(after) -> list:
    """[B3]: the entries after the manifest, each the next link by name."""
    if len(after) > MAX_LINKS:
        raise Refusal("chain.links", f"{len(after)} entries after the manifest, at most {MAX_LINKS} links ([B3])", code=3)
    for n, entry in enumerate(after, start=1):
        if entry.name != link_name(n):
            raise Refusal(
                "chain.links", f"entry {n} after the manifest is {entry.name!r}, not {link_name(n)!r} ([B3])", code=3
            )
    return after
