"""The reader limits of docs/bundle-format.md §12 ("Reader limits",
[B61]-[B63]) that decide a verdict, each under the check docs/policy.md
§9 [P39] gives it:

- `archive.structure`: more tar entries than the entry limit, refused at
  the first header past it, and the entry names' fold keys (§3) above
  8 MiB in all ([B61]);
- `manifest.form`: a manifest entry larger than 16 MiB, an attestation
  larger than 8 MiB, an SBOM larger than 4 MiB, a manifest listing more
  than 10,000 artifacts ([B62]);
- `chain.links` (exit 3): more than 256 links, a link larger than 16 KiB,
  a key id hint longer than 256 bytes ([B62]).

Not here: [B64] (what the fresh scans of the artifacts and the folder
models described from them take in memory) needs a model parser; the
reference reports `entries.digests` on it like any digest check, so a
bundle refused only for [B64] is one it cannot decide (README.md).
"""

from paths import fold_key
from refusal import Refusal

MAX_ARTIFACTS = 10_000
MAX_LINKS = 256
# 10,000 artifacts and their SBOMs, the attestation, the manifest, 256 links.
MAX_ENTRIES = 2 * MAX_ARTIFACTS + 2 + MAX_LINKS
MAX_FOLD_KEY_BYTES = 8 << 20
MAX_MANIFEST_BYTES = 16 << 20
MAX_ATTESTATION_BYTES = 8 << 20
MAX_SBOM_BYTES = 4 << 20
MAX_LINK_BYTES = 16 << 10
MAX_HINT_BYTES = 256


class WalkLimits:
    """[B61], applied as the headers are walked."""

    def __init__(self):
        self.entries = 0
        self.fold_bytes = 0

    def header(self, offset: int) -> None:
        """One more header: refused when it is past the entry limit."""
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise Refusal(
                "archive.structure",
                f"header at offset {offset}: more than {MAX_ENTRIES} entries ([B61])",
            )

    def name(self, name: str) -> None:
        """One more entry name: its fold key counts against the total."""
        self.fold_bytes += len(fold_key(name).encode("utf-8"))
        if self.fold_bytes > MAX_FOLD_KEY_BYTES:
            raise Refusal(
                "archive.structure",
                f"entry {name!r}: the entry names' fold keys exceed {MAX_FOLD_KEY_BYTES} bytes ([B61])",
            )


def manifest_size(size: int) -> None:
    if size > MAX_MANIFEST_BYTES:
        raise Refusal("manifest.form", f"manifest.json is {size} bytes, more than {MAX_MANIFEST_BYTES} ([B62])")


def manifest_entries(manifest) -> None:
    """[B62]: the artifact count, and the sizes of the entries every reader
    reads whole (their stored sizes, which the layout check holds to the
    archive's)."""
    artifacts = sum(1 for e in manifest.entries if e.role == "artifact")
    if artifacts > MAX_ARTIFACTS:
        raise Refusal("manifest.form", f"the manifest lists {artifacts} artifacts, more than {MAX_ARTIFACTS} ([B62])")
    for e in manifest.entries:
        most = {"attestation": MAX_ATTESTATION_BYTES, "sbom": MAX_SBOM_BYTES}.get(e.role)
        if most is not None and e.stored_size > most:
            raise Refusal("manifest.form", f"entry {e.path!r} is {e.stored_size} bytes, more than {most} ([B62])")


def links(after) -> None:
    """[B62]: the link count, and each link's size."""
    if len(after) > MAX_LINKS:
        raise Refusal("chain.links", f"{len(after)} entries after the manifest, more than {MAX_LINKS} links ([B62])", code=3)
    for entry in after:
        if entry.size > MAX_LINK_BYTES:
            raise Refusal("chain.links", f"entry {entry.name!r} is {entry.size} bytes, more than {MAX_LINK_BYTES} ([B62])", code=3)
