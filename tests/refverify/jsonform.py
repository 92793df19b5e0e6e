"""Strict JSON reading and the two byte forms the spec names: the manifest's
"pretty-printed with 2-space indentation ... and a final LF" ([B22]) and the
"compact JSON" of the attestation, envelopes and link payloads (§6, §7).

The spec does not define the escaping of strings or the spelling of numbers
in either form (ambiguity A5 in README.md). This module takes the forms of
RFC 8259 with the fewest escapes: `"` and `\\` escaped, the control
characters U+0000-U+001F escaped (`\\b \\f \\n \\r \\t`, else `\\u00xx`),
everything else as UTF-8, integers in plain decimal. A document is accepted
only when its bytes equal that form of the value it parses to ([B1]).
"""

import json


class JsonProblem(Exception):
    pass


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            # RFC 8259 leaves duplicate names to the reader; a reader that
            # kept the first or the last would see another document than its
            # neighbour. Refused (ambiguity A6 in README.md).
            raise JsonProblem(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _no_constant(name):
    raise JsonProblem(f"{name} is not JSON")


def _no_float(text):
    raise JsonProblem(f"number {text} is not an integer")


def parse(raw: bytes):
    """The JSON value of `raw`: UTF-8, no duplicate keys, no NaN/Infinity,
    no fractions or exponents (no field of the format is a non-integer
    number), no lone surrogates."""
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
        )
    except json.JSONDecodeError as e:
        raise JsonProblem(f"not JSON ({e})") from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonProblem("a string holds a lone surrogate") from None
    return value


def pretty(value) -> bytes:
    """[B22]: 2-space indentation, `": "` after a key, a final LF."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def compact(value) -> bytes:
    """Compact JSON: no whitespace between tokens, no final LF."""
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
