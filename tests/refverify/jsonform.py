"""Strict JSON reading and the one byte form of every JSON document of a
bundle, docs/bundle-format.md §5 "JSON forms" [B52]: UTF-8 without a BOM;
objects with exactly the listed fields, each once, in order; strings with
only `\\"`, `\\\\` and U+0000-U+001F escaped (`\\b \\t \\n \\f \\r`, else
`\\u00xx` in lower-case hex), everything else as its own UTF-8; integers in
plain decimal; *compact* (attestation, envelopes, statements) or *pretty*
(the manifest: 2-space indentation, `": "`). The spec names Python's
`json.dumps(v, ensure_ascii=False, separators=(",", ":"))` and
`json.dumps(v, ensure_ascii=False, indent=2)` as producing these bytes; a
reader parses, serialises the value it parsed, and refuses the document
unless the bytes are the same.
"""

import json
import re


class JsonProblem(Exception):
    pass


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            # [B52]: "rejecting missing, unknown, repeated ... fields".
            raise JsonProblem(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _no_constant(name):
    raise JsonProblem(f"{name} is not JSON")


def _no_float(text):
    raise JsonProblem(f"number {text} is not an integer")


def _unsigned(text):
    # "integers: decimal, no sign": no field of the format is negative, and
    # a negative integer has no spelling in the one byte form.
    if text.startswith("-"):
        raise JsonProblem(f"number {text} has a sign")
    return int(text)


def parse(raw: bytes):
    """The JSON value of `raw`: UTF-8, no duplicate keys, no NaN/Infinity,
    no fractions or exponents, no sign (no field of the format is a
    negative or non-integer number), no lone surrogates. The caller then
    compares the bytes with `compact` or `pretty` of the value."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JsonProblem(f"not UTF-8 ({e})") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_float=_no_float,
            parse_int=_unsigned,
        )
    except json.JSONDecodeError as e:
        raise JsonProblem(f"not JSON ({e})") from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonProblem("a string holds a lone surrogate") from None
    return value


def pretty(value) -> bytes:
    """[B22], [B52] *pretty*: 2-space indentation, `": "` after a key,
    `[]`/`{}` when empty, and the manifest's final LF."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def compact(value) -> bytes:
    """[B52] *compact*: no whitespace between tokens, no final LF (the
    attestation and each envelope add one LF after it; a statement has
    none)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def keys_in_order(obj, want, what: str) -> None:
    """`obj` is an object with exactly the keys `want`, in that order."""
    if not isinstance(obj, dict):
        raise JsonProblem(f"{what} is not an object")
    have = list(obj)
    if have != list(want):
        missing = [k for k in want if k not in obj]
        unknown = [k for k in have if k not in want]
        if missing:
            raise JsonProblem(f"{what}: missing field(s) {missing}")
        if unknown:
            raise JsonProblem(f"{what}: unknown field(s) {unknown}")
        raise JsonProblem(f"{what}: fields {have} not in the order {list(want)}")


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_u64(value) -> bool:
    """§5: "Integers are from 0 to 2^64 - 1 unless the table says
    otherwise"."""
    return is_int(value) and 0 <= value <= U64_MAX


U64_MAX = 2**64 - 1
HEX64 = re.compile(r"[0-9a-f]{64}")


def is_sha256(value) -> bool:
    """[B25]: 64 lowercase hex digits."""
    return isinstance(value, str) and HEX64.fullmatch(value) is not None
