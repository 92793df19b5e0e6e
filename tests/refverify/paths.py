"""Canonical paths, fold keys and collisions: docs/bundle-format.md §3, and
the ustar name split of §2 ("Names").

Unicode tables: Python 3.11's `unicodedata` is Unicode 14.0, the spec pins
Unicode 16 (its table of specifications). Characters assigned after 14.0 may
be judged differently here (README.md, "Known limits").
"""

import unicodedata

import readings

NAME_FIELD = 100  # §2 table: name, 100 bytes
PREFIX_FIELD = 155  # §2 table: prefix, 155 bytes
MAX_PATH_BYTES = 255  # §3: at most 255 bytes in total
MAX_SEGMENT_BYTES = 100  # §3: 100 bytes per segment


def is_control(ch: str) -> bool:
    """§3: "no control character (C0, DEL, C1)"."""
    o = ord(ch)
    return o <= 0x1F or o == 0x7F or 0x80 <= o <= 0x9F


def ustar_split(name: bytes):
    """§2 "Names" [B6]: (prefix, name) for an entry name, or None when it is
    not representable. At most 100 bytes: whole in `name`. Longer (at most
    255): split at the LAST `/` among the first 156 bytes; the part after it
    must be 1-100 bytes (the longest prefix that fits, as GNU tar and Go
    choose it; Python's `tarfile` takes the shortest, which [B6] refuses)."""
    if len(name) <= NAME_FIELD:
        return b"", name
    if len(name) > MAX_PATH_BYTES:
        return None
    cut = name.rfind(b"/", 0, PREFIX_FIELD + 1)
    if cut == -1:
        return None
    prefix, rest = name[:cut], name[cut + 1 :]
    if not 1 <= len(rest) <= NAME_FIELD:
        return None
    return prefix, rest


def canonical_problem(path: str) -> str | None:
    """§3 [B14]: why `path` is not canonical, or None. `path` is already
    decoded from UTF-8 (the caller refuses invalid UTF-8)."""
    if path == "":
        return "empty path"
    if not unicodedata.is_normalized("NFC", path):
        return "not in Unicode Normalization Form C"
    for ch in path:
        if is_control(ch):
            return f"control character U+{ord(ch):04X}"
        if ch == "\\":
            return "backslash"
    if path.startswith("/") or path.endswith("/"):
        return "leading or trailing '/'"
    raw = path.encode("utf-8")
    if len(raw) > MAX_PATH_BYTES:
        return f"{len(raw)} bytes, more than {MAX_PATH_BYTES}"
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            return f"segment {segment!r}"
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return f"segment of more than {MAX_SEGMENT_BYTES} bytes"
    if ustar_split(raw) is None:
        return "not representable in a ustar header"
    return None


def artifact_path_problem(path: str, encoding: str) -> str | None:
    """§3 [B14] for an artifact path P ("Entry names and artifact paths
    MUST satisfy all of"): P itself and every derived entry name
    (`artifacts/P.zst`, `sboms/P.cdx.json`, and the entry `artifacts/P` of
    a raw artifact) must be canonical and representable, whatever the
    encoding; [B15] has readers refuse the artifact otherwise."""
    problem = canonical_problem(path)
    if problem:
        return problem
    derived = [f"artifacts/{path}.zst", f"sboms/{path}.cdx.json"]
    if encoding == "raw":
        derived.append(f"artifacts/{path}")
    for name in derived:
        problem = canonical_problem(name)
        if problem is None:
            continue
        return f"derived entry name {name!r}: {problem}"
    return None


def lowercase(text: str) -> str:
    """§3: "Unicode default case conversion (`str::to_lowercase`)". Python's
    `str.lower` is documented as the same algorithm (Unicode §3.13 default
    case conversion: full mappings of SpecialCasing, the Final_Sigma
    context), so it is used as is; it is NOT `str.casefold` (which would
    also fold `ß` to `ss`: the spec does not)."""
    return text.lower()


def fold_key(path: str) -> str:
    """§3: NFKC(lowercase(NFKC(path)))."""
    return unicodedata.normalize("NFKC", lowercase(unicodedata.normalize("NFKC", path)))


def first_collision(paths):
    """§3 [B16]: the first pair of colliding paths (equal fold keys, or one
    fold key a folder prefix `key + "/"` of another), or None. Exact
    duplicates collide."""
    keyed = sorted((fold_key(p), i, p) for i, p in enumerate(paths))
    for (ka, _, pa), (kb, _, pb) in zip(keyed, keyed[1:]):
        if ka == kb:
            return pa, pb
    # Folder prefixes: a key K collides with any key starting K + "/". In
    # sorted order such keys need not be adjacent (K, K + "-x", K + "/y"),
    # so look each prefix up in the set of keys.
    keys = {k: p for k, _, p in keyed}
    for k, _, p in keyed:
        parts = k.split("/")
        for n in range(1, len(parts)):
            head = "/".join(parts[:n])
            if head in keys:
                return keys[head], p
    return None
